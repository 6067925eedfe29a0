//! Meetings moving between the mesh and the media port (the rules are in
//! `transport`): telling everyone in a room when its transport changes and when a
//! move is complete.

use super::room::{broadcast_all, Room};
use super::transport::Ready;
use super::{encode, Hub};
use app::protocol::{PeerId, ServerMessage, Transport};
use std::sync::Arc;
use std::time::Instant;

/// A move that completed: the old way may close for `members`.
pub struct Settled {
    pub room: Arc<Room>,
    pub transport: Transport,
    pub members: Vec<PeerId>,
}

impl Hub {
    /// `id` plays everyone in its meeting through `transport`. Returns the move it
    /// completed, if it was the last one everybody waited for.
    pub fn transport_ready(
        &self,
        room: &Arc<Room>,
        id: PeerId,
        transport: Transport,
    ) -> Option<Settled> {
        let mut members = room.members();
        if !members.contains_key(&id) {
            return None;
        }
        let ids: Vec<PeerId> = members.keys().copied().collect();
        let ready = room.transport().ready(id, transport, ids.iter().copied());
        let settled = match ready {
            Ready::Waiting => return None,
            Ready::AlreadySettled(transport) => {
                drop(members);
                room.send_to(id, &ServerMessage::TransportSettled { transport });
                return None;
            }
            Ready::SettledNow(transport) => transport,
        };
        let message = encode(&ServerMessage::TransportSettled { transport: settled });
        broadcast_all(&room.code, &mut members, &self.keeping, &message);
        tracing::info!(room = %room.code, ?transport, "meeting moved");
        Some(Settled {
            room: room.clone(),
            transport: settled,
            members: ids,
        })
    }

    /// Looks at every meeting's transport: settles moves that are complete or have
    /// waited long enough, and returns meetings that stayed small to the mesh.
    /// Returns the moves that completed.
    pub fn review_transports(&self, now: Instant) -> Vec<Settled> {
        let rooms: Vec<Arc<Room>> = self.rooms().values().cloned().collect();
        let mut completed = Vec::new();
        for room in rooms {
            let mut members = room.members();
            let ids: Vec<PeerId> = members.keys().copied().collect();
            let review = room.transport().review(self.mesh_limit, &ids, now);
            if let Some(transport) = review.settled {
                let message = encode(&ServerMessage::TransportSettled { transport });
                broadcast_all(&room.code, &mut members, &self.keeping, &message);
                tracing::info!(room = %room.code, ?transport, "meeting moved");
                completed.push(Settled {
                    room: room.clone(),
                    transport,
                    members: ids,
                });
            }
            if let Some(transport) = review.changed {
                let message = encode(&ServerMessage::TransportChanged { transport });
                broadcast_all(&room.code, &mut members, &self.keeping, &message);
                tracing::info!(room = %room.code, people = members.len(), ?transport, "meeting moving");
            }
        }
        completed
    }
}
