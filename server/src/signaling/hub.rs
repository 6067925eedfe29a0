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

use app::protocol::{HandPlace, LeaveReason, MediaState, PeerId, PeerInfo, ServerMessage};
use app::room_code::RoomCode;
use axum::extract::ws::Utf8Bytes;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

mod outbox;
pub use outbox::{encode, encode_numbered, Delivery, Kick, Outbox, OutboxReceiver};

/// `message` (an encoded JSON object) with `"seq": seq` put first, as
/// `app::protocol::Delivery` reads it.
fn numbered(seq: u64, message: &str) -> Utf8Bytes {
    let fields = message.strip_prefix('{').unwrap_or(message);
    let mut frame = String::with_capacity(fields.len() + 28);
    frame.push_str("{\"seq\":");
    let _ = write!(frame, "{seq},");
    frame.push_str(fields);
    Utf8Bytes::from(frame)
}

/// One participant's place in a room.
struct Member {
    info: PeerInfo,
    /// The connection serving this member now; `None` while it is away.
    outbox: Option<Outbox>,
    /// The connection that last held this member: news from an older one is ignored.
    connection: u64,
    /// Room messages not yet acknowledged, numbered, oldest first.
    unacked: VecDeque<(u64, Utf8Bytes)>,
    next_seq: u64,
}

impl Member {
    fn new(info: PeerInfo, connection: u64, outbox: Outbox) -> Self {
        Self {
            info,
            outbox: Some(outbox),
            connection,
            unacked: VecDeque::new(),
            next_seq: 1,
        }
    }

    /// Numbers a room message, keeps it for replay and sends it if connected.
    /// `Overflow` means the member must go: its queue is full, or it is away and has
    /// missed more than `keep` messages.
    fn deliver(&mut self, message: &str, keep: usize) -> Delivery {
        self.deliver_numbered(|seq| numbered(seq, message), keep)
    }

    /// [`Member::deliver`], for a message that `number` encodes with its `seq`.
    fn deliver_numbered(&mut self, number: impl FnOnce(u64) -> Utf8Bytes, keep: usize) -> Delivery {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = number(seq);
        self.unacked.push_back((seq, frame.clone()));
        if self.unacked.len() > keep {
            if self.outbox.is_none() {
                return Delivery::Overflow;
            }
            // Connected but not acknowledging: the oldest can no longer be replayed.
            self.unacked.pop_front();
        }
        match &self.outbox {
            Some(outbox) => outbox.send(frame),
            None => Delivery::Queued,
        }
    }

    /// Whether every message after `last_seen` can still be replayed.
    fn can_replay_after(&self, last_seen: u64) -> bool {
        match self.unacked.front() {
            Some((first, _)) => *first <= last_seen + 1,
            None => self.next_seq <= last_seen + 1,
        }
    }
}

type Members = HashMap<PeerId, Member>;

/// One meeting's participants.
pub struct Room {
    code: RoomCode,
    members: Mutex<Members>,
    /// Room messages kept per member for replay.
    keep: usize,
    /// The place the next raised hand takes.
    next_hand: AtomicU64,
}

impl Room {
    pub fn code(&self) -> &RoomCode {
        &self.code
    }

    fn members(&self) -> MutexGuard<'_, Members> {
        // A panic while holding the lock cannot leave the map half-updated (every
        // update is a single insert or remove), so a poisoned lock is still usable.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a room message to one member. `None` when `to` is not here.
    pub fn send_to(&self, to: PeerId, message: &ServerMessage) -> Option<()> {
        let mut members = self.members();
        let member = members.get_mut(&to)?;
        // Encoded with its number in one go: one message, one receiver.
        let delivery = member.deliver_numbered(|seq| encode_numbered(seq, message), self.keep);
        if delivery == Delivery::Overflow {
            drop_slow(&self.code, &mut members, self.keep, vec![to]);
        }
        Some(())
    }

    /// Sends a room message to every member except `except`.
    pub fn broadcast(&self, except: PeerId, message: &ServerMessage) {
        let mut members = self.members();
        broadcast_locked(
            &self.code,
            &mut members,
            self.keep,
            except,
            &encode(message),
        );
    }

    /// Updates what the room knows of a member (for peers who join later).
    pub fn update_media(&self, id: PeerId, media: MediaState) {
        if let Some(member) = self.members().get_mut(&id) {
            member.info.media = media;
        }
    }

    /// Raises or lowers `id`'s hand. Returns its new state, or `None` when nothing
    /// changed (or `id` is not here).
    pub fn set_hand(&self, id: PeerId, raised: bool) -> Option<Option<HandPlace>> {
        let mut members = self.members();
        let member = members.get_mut(&id)?;
        let hand = match (member.info.hand, raised) {
            (None, true) => Some(HandPlace(self.next_hand.fetch_add(1, Ordering::Relaxed))),
            (Some(_), false) => None,
            _ => return None,
        };
        member.info.hand = hand;
        Some(hand)
    }

    /// Forgets the messages `id` has acknowledged, up to and including `seen`.
    pub fn acknowledge(&self, id: PeerId, seen: u64) {
        if let Some(member) = self.members().get_mut(&id) {
            while member.unacked.front().is_some_and(|(seq, _)| *seq <= seen) {
                member.unacked.pop_front();
            }
        }
    }

    /// Whether `id` is here and away (its connection dropped, not yet resumed).
    pub fn is_away(&self, id: PeerId) -> bool {
        self.members().get(&id).is_some_and(|m| m.outbox.is_none())
    }
}

/// Queues `message` for everyone but `except`; disconnects whoever overflows.
fn broadcast_locked(
    code: &RoomCode,
    members: &mut Members,
    keep: usize,
    except: PeerId,
    message: &str,
) {
    let slow: Vec<PeerId> = members
        .iter_mut()
        .filter(|(id, _)| **id != except)
        .filter_map(|(id, m)| (m.deliver(message, keep) == Delivery::Overflow).then_some(*id))
        .collect();
    drop_slow(code, members, keep, slow);
}

/// Removes members whose queues overflowed and tells the others, repeating while
/// that news overflows someone else's queue.
fn drop_slow(code: &RoomCode, members: &mut Members, keep: usize, mut slow: Vec<PeerId>) {
    while let Some(id) = slow.pop() {
        let Some(member) = members.remove(&id) else {
            continue;
        };
        tracing::warn!(room = %code, peer = %id, "disconnecting a participant too slow to read");
        if let Some(outbox) = member.outbox {
            outbox.kick(Kick::TooSlow);
        }
        let left = encode(&ServerMessage::PeerLeft {
            id,
            reason: LeaveReason::Dropped,
        });
        for (other, m) in members.iter_mut() {
            if m.deliver(&left, keep) == Delivery::Overflow && !slow.contains(other) {
                slow.push(*other);
            }
        }
    }
}

/// Why a join or resume was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("this meeting is full ({0} participants)")]
    Full(usize),
    #[error("this session has ended: join again")]
    Ended,
}

/// How a participant comes back.
pub struct Comeback {
    /// The `seq` of the last message the participant handled.
    pub last_seen: u64,
    /// Whether the session may be taken up afresh when this server does not know it
    /// (it was begun before the server restarted). Otherwise it must be in memory.
    pub may_restore: bool,
}

/// Every room with someone in it.
pub struct Hub {
    rooms: Mutex<HashMap<RoomCode, Arc<Room>>>,
    max_participants: usize,
    /// Room messages kept per member for replay after a resume.
    keep: usize,
}

impl Hub {
    pub fn new(max_participants: usize, keep: usize) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            max_participants,
            keep: keep.max(1),
        }
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomCode, Arc<Room>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn room(&self, rooms: &mut HashMap<RoomCode, Arc<Room>>, code: &RoomCode) -> Arc<Room> {
        rooms
            .entry(code.clone())
            .or_insert_with(|| {
                Arc::new(Room {
                    code: code.clone(),
                    members: Mutex::new(HashMap::new()),
                    keep: self.keep,
                    next_hand: AtomicU64::new(1),
                })
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
        welcome: impl FnOnce(Vec<PeerInfo>) -> ServerMessage,
    ) -> Result<Arc<Room>, JoinError> {
        let mut rooms = self.rooms();
        let room = self.room(&mut rooms, code);
        let mut members = room.members();
        if members.len() >= self.max_participants {
            drop(members);
            forget_if_empty(&mut rooms, &room);
            return Err(JoinError::Full(self.max_participants));
        }
        send_reply(&outbox, &welcome(others(&members, me.id)));
        let id = me.id;
        let joined = encode(&ServerMessage::PeerJoined { peer: me.clone() });
        members.insert(id, Member::new(me, connection, outbox));
        broadcast_locked(code, &mut members, self.keep, id, &joined);
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
        reply: impl FnOnce(Vec<PeerInfo>, bool) -> ServerMessage,
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
            drop(members);
            drop(rooms);
            return self.join(code, me, connection, outbox, |peers| reply(peers, false));
        };
        if let Some(old) = member.outbox.replace(outbox.clone()) {
            old.kick(Kick::Replaced);
        }
        member.connection = connection;
        // A raised hand stays raised across a dropped connection.
        member.info.media = me.media;
        let complete = member.can_replay_after(comeback.last_seen);
        let missed: Vec<Utf8Bytes> = member
            .unacked
            .iter()
            .filter(|(seq, _)| *seq > comeback.last_seen)
            .map(|(_, frame)| frame.clone())
            .collect();
        let info = member.info.clone();
        send_reply(&outbox, &reply(others(&members, id), complete));
        for frame in missed {
            if outbox.send(frame) == Delivery::Overflow {
                outbox.kick(Kick::TooSlow);
                break;
            }
        }
        let back = encode(&ServerMessage::PeerJoined { peer: info });
        broadcast_locked(code, &mut members, self.keep, id, &back);
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
        broadcast_locked(&room.code, &mut members, self.keep, id, &away);
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
            broadcast_locked(&room.code, &mut members, self.keep, id, &left);
        }
        drop(members);
        forget_if_empty(&mut rooms, room);
    }

    /// Rooms with someone in them, and participants in all of them.
    pub fn census(&self) -> (usize, usize) {
        let rooms = self.rooms();
        let people = rooms.values().map(|r| r.members().len()).sum();
        (rooms.len(), people)
    }
}

/// Everyone in the room but `me`, by id.
fn others(members: &Members, me: PeerId) -> Vec<PeerInfo> {
    let mut peers: Vec<PeerInfo> = members
        .values()
        .filter(|m| m.info.id != me)
        .map(|m| m.info.clone())
        .collect();
    peers.sort_by_key(|p| p.id);
    peers
}

/// Queues a reply (not numbered: it is not replayed). A brand-new queue cannot be
/// full unless its capacity is tiny; then the writer closes it as too slow.
fn send_reply(outbox: &Outbox, message: &ServerMessage) {
    if outbox.send(encode(message)) == Delivery::Overflow {
        outbox.kick(Kick::TooSlow);
    }
}

/// Forgets `room` when nobody is in it, if the map still points at this very room.
fn forget_if_empty(rooms: &mut HashMap<RoomCode, Arc<Room>>, room: &Room) {
    if room.members().is_empty()
        && rooms
            .get(&room.code)
            .is_some_and(|r| std::ptr::eq(Arc::as_ptr(r), room))
    {
        rooms.remove(&room.code);
    }
}

#[cfg(test)]
mod tests;
