//! Who is in which room, and delivering messages to them.
//!
//! Each participant is a [`Member`] of a room. While connected it has an [`Outbox`]:
//! a bounded queue drained by its connection's writer. Delivery never waits: when a
//! queue is full the participant is too slow to read, so it is disconnected and its
//! room told, instead of letting memory grow.
//!
//! Room messages to a member are numbered (`seq`) and kept until the member
//! acknowledges them, so that when its connection drops and it resumes (within the
//! grace period, on a new connection) they are replayed in order and exactly once.
//! While it is away its messages only pile up there, up to a bound; past it, or past
//! the grace period, it leaves the room like anyone else.
//!
//! What is held for a member (queued and kept) is bounded in bytes too, per member and
//! for the whole server ([`HeldBytes`]): a member past its budget is dropped like one
//! too slow to read; past the server's budget, joins are refused and [`Hub::shed`]
//! drops the members holding the most.

use app::protocol::{Knock, LeaveReason, PeerId, PeerInfo, Role, ServerMessage, Transport};
use app::room_code::RoomCode;
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

mod held;
mod moderation;
mod moves;
mod outbox;
mod room;
pub mod transport;
mod waiting;
pub use held::HeldBytes;
pub use moderation::ModerationError;
pub use moves::Settled;
pub use outbox::{encode, encode_numbered, Kick, Outbox, OutboxReceiver, QueueOutcome};
pub use room::Room;
use room::{broadcast_locked, others, Keeping, Member};
use transport::MeshLimit;
pub use waiting::{DecideError, Decision, KnockError, Whom};

/// Why a join or resume was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("this meeting is full ({0} participants)")]
    Full(usize),
    #[error("this session has ended: join again")]
    Ended,
    #[error("the server is busy: try again in a moment")]
    Busy,
}

/// What a newcomer (or someone back) learns of the room on arriving.
pub struct Present {
    /// Everyone else in the room.
    pub peers: Vec<PeerInfo>,
    /// Everyone asking to join.
    pub waiting: Vec<Knock>,
    /// Their own role there.
    pub role: Role,
    /// How the meeting's media travels now.
    pub transport: Transport,
}

/// How a participant comes back.
pub struct Comeback {
    /// The `seq` of the last message the participant handled.
    pub last_seen: u64,
    /// Whether the session may be taken up afresh when this server does not know it
    /// (it was begun before the server restarted). Otherwise it must be in memory.
    pub may_restore: bool,
    /// How the meeting's media travelled before: the first to come back to a restarted
    /// server sets it again.
    pub transport: Transport,
}

/// Every room with someone in it.
pub struct Hub {
    rooms: Mutex<HashMap<RoomCode, Arc<Room>>>,
    max_participants: usize,
    /// What each room keeps for its members.
    keeping: Keeping,
    /// When meetings go through the media port.
    mesh_limit: MeshLimit,
}

impl Hub {
    /// A hub keeping up to `keep` room messages per member for replay after a resume,
    /// with no bound in bytes.
    pub fn new(max_participants: usize, keep: usize) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            max_participants,
            keeping: Keeping {
                messages: keep.max(1),
                bytes: usize::MAX,
                held: HeldBytes::default(),
            },
            mesh_limit: MeshLimit::NoMediaPort,
        }
    }

    /// Sends meetings past `limit` through the media port.
    pub fn with_mesh_limit(mut self, limit: MeshLimit) -> Self {
        self.mesh_limit = limit;
        self
    }

    /// Bounds what is held for each member to `per_member` bytes, counted in `held`
    /// (whose budget is the whole server's).
    pub fn with_byte_budgets(mut self, per_member: usize, held: HeldBytes) -> Self {
        self.keeping.bytes = per_member;
        self.keeping.held = held;
        self
    }

    /// The server's count of held bytes.
    pub fn held(&self) -> &HeldBytes {
        &self.keeping.held
    }

    /// A new outbox for a connection, bounded like the members' holdings.
    pub fn outbox(&self, capacity: usize) -> (Outbox, OutboxReceiver) {
        Outbox::bounded(capacity, self.keeping.bytes, self.keeping.held.clone())
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomCode, Arc<Room>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn room(&self, rooms: &mut HashMap<RoomCode, Arc<Room>>, code: &RoomCode) -> Arc<Room> {
        rooms
            .entry(code.clone())
            .or_insert_with(|| {
                Arc::new(Room::new(
                    code.clone(),
                    self.keeping.clone(),
                    self.mesh_limit,
                ))
            })
            .clone()
    }

    /// Puts `me` in the room. `welcome` builds the newcomer's first message from the
    /// peers already there; it is queued before anyone else learns of the newcomer, so
    /// nothing addressed to the newcomer can overtake it.
    pub fn join(
        &self,
        code: &RoomCode,
        me: PeerInfo,
        connection: u64,
        outbox: Outbox,
        welcome: impl FnOnce(Present) -> ServerMessage,
    ) -> Result<Arc<Room>, JoinError> {
        if self.keeping.held.refuses_joins() {
            return Err(JoinError::Busy);
        }
        let mut rooms = self.rooms();
        let room = self.room(&mut rooms, code);
        let mut members = room.members();
        if members.len() >= self.max_participants {
            drop(members);
            forget_if_empty(&mut rooms, &room);
            return Err(JoinError::Full(self.max_participants));
        }
        let (moved, transport) = {
            let mut transport = room.transport();
            let moved = transport.joined(
                self.mesh_limit,
                members.len() + 1,
                std::time::Instant::now(),
            );
            (moved, transport.current())
        };
        let present = Present {
            peers: others(&members, me.id),
            waiting: room.knocks(),
            role: me.role,
            transport,
        };
        send_reply(&outbox, &welcome(present));
        let id = me.id;
        let joined = encode(&ServerMessage::PeerJoined { peer: me.clone() });
        let member = Member::new(me, connection, outbox, self.keeping.held.clone());
        members.insert(id, member);
        if let Some(transport) = moved {
            // Before the newcomer's arrival, so that the others meet them the new
            // way. (The newcomer's welcome says so already.)
            let changed = encode(&ServerMessage::TransportChanged { transport });
            broadcast_locked(code, &mut members, &self.keeping, id, &changed);
            tracing::info!(room = %code, people = members.len(), ?transport, "meeting moving");
        }
        broadcast_locked(code, &mut members, &self.keeping, id, &joined);
        drop(members);
        Ok(room)
    }

    /// Gives `me` its place back on a new connection: the reply (built from the peers
    /// there and whether every missed message follows) goes first, then the missed
    /// messages in order, and the others hear that `me` is back. A session this
    /// server does not know is taken up afresh only when `comeback.may_restore`.
    pub fn resume(
        &self,
        code: &RoomCode,
        me: PeerInfo,
        connection: u64,
        outbox: Outbox,
        comeback: Comeback,
        reply: impl FnOnce(Present, bool) -> ServerMessage,
    ) -> Result<Arc<Room>, JoinError> {
        let mut rooms = self.rooms();
        let room = self.room(&mut rooms, code);
        let mut members = room.members();
        let id = me.id;
        let Some(member) = members.get_mut(&id) else {
            if !comeback.may_restore {
                drop(members);
                forget_if_empty(&mut rooms, &room);
                return Err(JoinError::Ended);
            }
            // The first back after a restart brings the meeting's transport back (the
            // others follow it; a meeting that is small now moves back by itself).
            if members.is_empty() {
                room.transport().restore(
                    comeback.transport,
                    self.mesh_limit,
                    std::time::Instant::now(),
                );
            }
            drop(members);
            drop(rooms);
            return self.join(code, me, connection, outbox, |present| {
                reply(present, false)
            });
        };
        if let Some(old) = member.outbox.replace(outbox.clone()) {
            old.kick(Kick::Replaced);
        }
        member.connection = connection;
        // A raised hand stays raised across a dropped connection, and a co-host
        // stays one; the host's cookie may have come back with them.
        member.info.media = me.media;
        member.info.role = member.info.role.max(me.role);
        let complete = member.can_replay_after(comeback.last_seen);
        let missed: Vec<Utf8Bytes> = member.kept_after(comeback.last_seen);
        let info = member.info.clone();
        let present = Present {
            peers: others(&members, id),
            waiting: room.knocks(),
            role: info.role,
            transport: room.transport().current(),
        };
        send_reply(&outbox, &reply(present, complete));
        for frame in missed {
            if outbox.send(frame) == QueueOutcome::Overflow {
                outbox.kick(Kick::TooSlow);
                break;
            }
        }
        let back = encode(&ServerMessage::PeerJoined { peer: info });
        broadcast_locked(code, &mut members, &self.keeping, id, &back);
        drop(members);
        Ok(room)
    }

    /// The connection `connection` of `id` dropped: unless it was already replaced,
    /// the member is kept, away, and the others told it is reconnecting. Returns
    /// whether it is now away (then [`Hub::expire`] must follow after the grace period).
    pub fn went_away(&self, room: &Room, id: PeerId, connection: u64) -> bool {
        let mut members = room.members();
        let Some(member) = members.get_mut(&id) else {
            return false;
        };
        if member.connection != connection || member.outbox.is_none() {
            return false;
        }
        member.outbox = None;
        let away = encode(&ServerMessage::PeerReconnecting { id });
        broadcast_locked(&room.code, &mut members, &self.keeping, id, &away);
        true
    }

    /// The server is stopping: lets go of `id`'s connection without telling anyone
    /// (everyone comes back once the server is up again).
    pub fn detach(&self, room: &Room, id: PeerId, connection: u64) {
        if let Some(member) = room.members().get_mut(&id) {
            if member.connection == connection {
                member.outbox = None;
            }
        }
    }

    /// Ends the session of `id` if it is still away on `connection` (it did not come
    /// back in time). Returns whether it did.
    pub fn expire(&self, room: &Room, id: PeerId, connection: u64) -> bool {
        let still_away = room
            .members()
            .get(&id)
            .is_some_and(|m| m.connection == connection && m.outbox.is_none());
        if still_away {
            self.leave(room, id, connection, LeaveReason::TimedOut);
        }
        still_away
    }

    /// Takes `id` out of its room and tells the others why. Does nothing when the
    /// participant was already removed (for example, dropped as too slow) or has
    /// resumed on another connection since.
    pub fn leave(&self, room: &Room, id: PeerId, connection: u64, reason: LeaveReason) {
        let mut rooms = self.rooms();
        let mut members = room.members();
        if members.get(&id).is_some_and(|m| m.connection == connection) {
            members.remove(&id);
            let left = encode(&ServerMessage::PeerLeft { id, reason });
            broadcast_locked(&room.code, &mut members, &self.keeping, id, &left);
        }
        drop(members);
        forget_if_empty(&mut rooms, room);
    }

    /// While the server holds more than its budget, disconnects the member holding
    /// the most (as one too slow to read). Returns how many were disconnected.
    pub fn shed(&self) -> usize {
        let held = &self.keeping.held;
        let mut dropped = 0;
        // What a dropped member had queued is let go of once its connection's writer
        // stops, a moment later: count it as gone already.
        let mut freed = 0;
        while held.get().saturating_sub(freed) > held.budget() {
            let rooms: Vec<Arc<Room>> = self.rooms().values().cloned().collect();
            let largest = rooms
                .iter()
                .filter_map(|room| room.largest_holder().map(|(id, bytes)| (room, id, bytes)))
                .max_by_key(|(_, _, bytes)| *bytes);
            let Some((room, id, bytes)) = largest.filter(|(_, _, bytes)| *bytes > 0) else {
                break;
            };
            tracing::warn!(
                room = %room.code(),
                peer = %id,
                bytes,
                held = held.get(),
                budget = held.budget(),
                "the server holds more than its budget: disconnecting the participant holding the most"
            );
            let before = held.get();
            room.drop_member(id);
            // What it kept for replay is let go of at once; the rest (its queue) soon.
            freed += bytes.saturating_sub(before.saturating_sub(held.get()));
            dropped += 1;
        }
        dropped
    }

    /// Rooms with someone in them, and participants in all of them.
    pub fn census(&self) -> (usize, usize) {
        let rooms = self.rooms();
        let people = rooms.values().map(|r| r.members().len()).sum();
        (rooms.len(), people)
    }

    /// Gives meeting `code` up, as another node hosts it now: it is forgotten here
    /// without anyone hearing that anyone left, and everyone in it is asked to come
    /// back, to find it where it is. Returns who was in it.
    pub fn hand_over(&self, code: &RoomCode) -> Vec<PeerId> {
        let Some(room) = self.rooms().remove(code) else {
            return Vec::new();
        };
        let members = room.members();
        for member in members.values() {
            if let Some(outbox) = &member.outbox {
                outbox.kick(Kick::Moved);
            }
        }
        members.keys().copied().collect()
    }

    /// The codes of the meetings with someone in them here.
    pub fn room_codes(&self) -> Vec<RoomCode> {
        self.rooms().keys().cloned().collect()
    }
}

/// Queues a reply (not numbered: it is not replayed). A brand-new queue cannot be
/// full unless its capacity is tiny; then the writer closes it as too slow.
fn send_reply(outbox: &Outbox, message: &ServerMessage) {
    if outbox.send(encode(message)) == QueueOutcome::Overflow {
        outbox.kick(Kick::TooSlow);
    }
}

/// Forgets `room` when nobody is in it, if the map still points at this very room.
fn forget_if_empty(rooms: &mut HashMap<RoomCode, Arc<Room>>, room: &Room) {
    if room.is_empty()
        && rooms
            .get(&room.code)
            .is_some_and(|r| std::ptr::eq(Arc::as_ptr(r), room))
    {
        rooms.remove(&room.code);
    }
}

#[cfg(test)]
mod tests;
