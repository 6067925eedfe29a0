//! Who is in which room, and delivering messages to them.
//!
//! Each participant has an [`Outbox`]: a bounded queue drained by its connection's
//! writer. Delivery never waits: when a queue is full the participant is too slow to
//! read, so it is disconnected and its room told, instead of letting memory grow.

use app::protocol::{LeaveReason, PeerId, PeerInfo, ServerMessage};
use app::room_code::RoomCode;
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, watch};

/// Why the server ends a connection on its own initiative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// The outgoing queue overflowed.
    TooSlow,
}

/// The sending side of one participant's connection.
#[derive(Clone, Debug)]
pub struct Outbox {
    queue: mpsc::Sender<Utf8Bytes>,
    kick: watch::Sender<Option<Kick>>,
}

/// What the connection's writer reads from.
pub struct OutboxReceiver {
    pub queue: mpsc::Receiver<Utf8Bytes>,
    pub kick: watch::Receiver<Option<Kick>>,
}

/// Whether a message could be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// The queue is full: the receiver must be disconnected.
    Overflow,
    /// The connection is already closing.
    Closed,
}

impl Outbox {
    pub fn new(capacity: usize) -> (Self, OutboxReceiver) {
        let (queue, queue_rx) = mpsc::channel(capacity.max(1));
        let (kick, kick_rx) = watch::channel(None);
        (
            Self { queue, kick },
            OutboxReceiver {
                queue: queue_rx,
                kick: kick_rx,
            },
        )
    }

    pub fn send(&self, frame: Utf8Bytes) -> Delivery {
        match self.queue.try_send(frame) {
            Ok(()) => Delivery::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Delivery::Overflow,
            Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Closed,
        }
    }

    /// Lets the connection's reader notice a kick too.
    pub fn kick_watch(&self) -> watch::Receiver<Option<Kick>> {
        self.kick.subscribe()
    }

    /// Tells the connection to close now, without waiting for its queue.
    pub fn kick(&self, why: Kick) {
        self.kick.send_replace(Some(why));
    }
}

/// Serializes a message once, for however many receivers.
pub fn encode(message: &ServerMessage) -> Utf8Bytes {
    // Serializing these plain data types cannot fail.
    Utf8Bytes::from(serde_json::to_string(message).expect("server messages serialize"))
}

struct Member {
    info: PeerInfo,
    outbox: Outbox,
}

/// One meeting's participants.
pub struct Room {
    code: RoomCode,
    members: Mutex<HashMap<PeerId, Member>>,
}

impl Room {
    pub fn code(&self) -> &RoomCode {
        &self.code
    }

    fn members(&self) -> MutexGuard<'_, HashMap<PeerId, Member>> {
        // A panic while holding the lock cannot leave the map half-updated (every
        // update is a single insert or remove), so a poisoned lock is still usable.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a message to one member of the room. `None` when `to` is not here.
    pub fn send_to(&self, to: PeerId, message: &ServerMessage) -> Option<()> {
        let mut members = self.members();
        let outbox = &members.get(&to)?.outbox;
        if outbox.send(encode(message)) == Delivery::Overflow {
            drop_slow(&self.code, &mut members, vec![to]);
        }
        Some(())
    }

    /// Sends a message to every member except `except`.
    pub fn broadcast(&self, except: PeerId, message: &ServerMessage) {
        let mut members = self.members();
        broadcast_locked(&self.code, &mut members, except, encode(message));
    }

    /// Updates what the room knows of a member (for peers who join later).
    pub fn update_media(&self, id: PeerId, media: app::protocol::MediaState) {
        if let Some(member) = self.members().get_mut(&id) {
            member.info.media = media;
        }
    }
}

/// Queues `frame` for everyone but `except`; disconnects whoever overflows.
fn broadcast_locked(
    code: &RoomCode,
    members: &mut HashMap<PeerId, Member>,
    except: PeerId,
    frame: Utf8Bytes,
) {
    let slow: Vec<PeerId> = members
        .iter()
        .filter(|(id, _)| **id != except)
        .filter(|(_, m)| m.outbox.send(frame.clone()) == Delivery::Overflow)
        .map(|(id, _)| *id)
        .collect();
    drop_slow(code, members, slow);
}

/// Removes members whose queues overflowed and tells the others, repeating while
/// that news overflows someone else's queue.
fn drop_slow(code: &RoomCode, members: &mut HashMap<PeerId, Member>, mut slow: Vec<PeerId>) {
    while let Some(id) = slow.pop() {
        let Some(member) = members.remove(&id) else {
            continue;
        };
        tracing::warn!(room = %code, peer = %id, "disconnecting a participant too slow to read");
        member.outbox.kick(Kick::TooSlow);
        let frame = encode(&ServerMessage::PeerLeft {
            id,
            reason: LeaveReason::Dropped,
        });
        for (other, m) in members.iter() {
            if m.outbox.send(frame.clone()) == Delivery::Overflow && !slow.contains(other) {
                slow.push(*other);
            }
        }
    }
}

/// Why a join was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("this meeting is full ({0} participants)")]
    Full(usize),
}

/// Every room with someone in it.
pub struct Hub {
    rooms: Mutex<HashMap<RoomCode, Arc<Room>>>,
    next_id: AtomicU64,
    max_participants: usize,
}

impl Hub {
    pub fn new(max_participants: usize) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            max_participants,
        }
    }

    /// A fresh participant id, never handed out before.
    pub fn next_peer_id(&self) -> PeerId {
        PeerId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomCode, Arc<Room>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `me` in the room. `welcome` builds the newcomer's first message from the
    /// peers already there; it is queued before anyone else learns of the newcomer, so
    /// nothing addressed to the newcomer can overtake it.
    pub fn join(
        &self,
        code: &RoomCode,
        me: PeerInfo,
        outbox: Outbox,
        welcome: impl FnOnce(Vec<PeerInfo>) -> ServerMessage,
    ) -> Result<Arc<Room>, JoinError> {
        let mut rooms = self.rooms();
        let room = rooms
            .entry(code.clone())
            .or_insert_with(|| {
                Arc::new(Room {
                    code: code.clone(),
                    members: Mutex::new(HashMap::new()),
                })
            })
            .clone();
        let mut members = room.members();
        if members.len() >= self.max_participants {
            let empty = members.is_empty();
            drop(members);
            if empty {
                rooms.remove(code);
            }
            return Err(JoinError::Full(self.max_participants));
        }
        let mut peers: Vec<PeerInfo> = members.values().map(|m| m.info.clone()).collect();
        peers.sort_by_key(|p| p.id);
        let id = me.id;
        // A brand-new queue cannot be full unless its capacity is tiny; then the
        // newcomer's writer closes it as too slow, like any other overflow.
        if outbox.send(encode(&welcome(peers))) == Delivery::Overflow {
            outbox.kick(Kick::TooSlow);
        }
        let joined = encode(&ServerMessage::PeerJoined { peer: me.clone() });
        members.insert(id, Member { info: me, outbox });
        broadcast_locked(code, &mut members, id, joined);
        drop(members);
        Ok(room)
    }

    /// Takes `id` out of its room and tells the others why. Does nothing when the
    /// participant was already removed (for example, dropped as too slow).
    pub fn leave(&self, room: &Room, id: PeerId, reason: LeaveReason) {
        let mut rooms = self.rooms();
        let mut members = room.members();
        if members.remove(&id).is_some() {
            let left = encode(&ServerMessage::PeerLeft { id, reason });
            broadcast_locked(&room.code, &mut members, id, left);
        }
        if members.is_empty() {
            // Only forget the room if the map still points at this very room.
            if rooms
                .get(&room.code)
                .is_some_and(|r| std::ptr::eq(Arc::as_ptr(r), room))
            {
                rooms.remove(&room.code);
            }
        }
    }

    /// Rooms with someone in them, and participants in all of them.
    pub fn census(&self) -> (usize, usize) {
        let rooms = self.rooms();
        let people = rooms.values().map(|r| r.members().len()).sum();
        (rooms.len(), people)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::protocol::MediaState;

    fn peer(hub: &Hub, name: &str) -> PeerInfo {
        PeerInfo {
            id: hub.next_peer_id(),
            name: name.into(),
            media: MediaState::default(),
        }
    }

    fn welcome(peers: Vec<PeerInfo>) -> ServerMessage {
        ServerMessage::PeerJoined {
            peer: peers.into_iter().next().unwrap_or(PeerInfo {
                id: PeerId(0),
                name: "nobody".into(),
                media: MediaState::default(),
            }),
        }
    }

    fn drain(rx: &mut OutboxReceiver) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        while let Ok(frame) = rx.queue.try_recv() {
            out.push(serde_json::from_str(frame.as_str()).unwrap());
        }
        out
    }

    #[test]
    fn a_slow_reader_is_dropped_and_the_room_told() {
        let hub = Hub::new(8);
        let code = RoomCode::parse("abc-defg-hij").unwrap();
        let (fast_box, mut fast_rx) = Outbox::new(64);
        let (slow_box, slow_rx) = Outbox::new(2);
        let fast = peer(&hub, "fast");
        let slow = peer(&hub, "slow");
        let room = hub.join(&code, fast.clone(), fast_box, welcome).unwrap();
        hub.join(&code, slow.clone(), slow_box, welcome).unwrap();
        // The slow one's queue holds its welcome; two more messages overflow it.
        for _ in 0..2 {
            room.send_to(
                slow.id,
                &ServerMessage::PeerLeft {
                    id: PeerId(99),
                    reason: LeaveReason::Left,
                },
            );
        }
        assert_eq!(*slow_rx.kick.borrow(), Some(Kick::TooSlow));
        let seen = drain(&mut fast_rx);
        assert!(seen.contains(&ServerMessage::PeerLeft {
            id: slow.id,
            reason: LeaveReason::Dropped
        }));
        assert!(room.send_to(slow.id, &welcome(vec![])).is_none());
        assert_eq!(hub.census(), (1, 1));
    }

    #[test]
    fn rooms_are_forgotten_when_empty_and_capped_when_full() {
        let hub = Hub::new(2);
        let code = RoomCode::parse("abc-defg-hij").unwrap();
        let a = peer(&hub, "a");
        let b = peer(&hub, "b");
        let c = peer(&hub, "c");
        let room = hub
            .join(&code, a.clone(), Outbox::new(8).0, welcome)
            .unwrap();
        hub.join(&code, b.clone(), Outbox::new(8).0, welcome)
            .unwrap();
        assert_eq!(
            hub.join(&code, c, Outbox::new(8).0, welcome).err(),
            Some(JoinError::Full(2))
        );
        hub.leave(&room, a.id, LeaveReason::Left);
        hub.leave(&room, b.id, LeaveReason::Left);
        hub.leave(&room, b.id, LeaveReason::Left);
        assert_eq!(hub.census(), (0, 0));
    }
}
