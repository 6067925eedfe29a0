//! One meeting's participants and delivering messages to them: each [`Member`] keeps
//! its room messages numbered until acknowledged, for replay after a resume, and one
//! too slow to read its queue (or holding more bytes than its budget) is dropped and
//! the others told.

use super::held::HeldBytes;
use super::outbox::{encode, encode_numbered, Kick, Outbox, QueueOutcome};
use super::transport::{MeetingTransport, MeshLimit};
use super::waiting::Waiter;
use app::protocol::{
    HandPlace, LeaveReason, MediaState, MeetingSettings, PeerId, PeerInfo, ServerMessage,
};
use app::room_code::RoomCode;
use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// `message` (an encoded JSON object) with `"seq": seq` put first, as
/// `app::protocol::Delivery` reads it.
pub(super) fn numbered(seq: u64, message: &str) -> Utf8Bytes {
    let fields = message.strip_prefix('{').unwrap_or(message);
    let mut frame = String::with_capacity(fields.len() + 28);
    frame.push_str(app::protocol::Delivery::SEQ_PREFIX);
    let _ = write!(frame, "{seq},");
    frame.push_str(fields);
    Utf8Bytes::from(frame)
}

/// How much a room keeps for each member.
#[derive(Clone, Debug)]
pub(super) struct Keeping {
    /// Room messages kept per member for replay.
    pub(super) messages: usize,
    /// Bytes held per member: its outbox's queue and its messages kept for replay.
    pub(super) bytes: usize,
    /// The server's count of held bytes.
    pub(super) held: HeldBytes,
}

/// One participant's place in a room.
pub(super) struct Member {
    pub(super) info: PeerInfo,
    /// The connection serving this member now; `None` while it is away.
    pub(super) outbox: Option<Outbox>,
    /// The connection that last held this member: news from an older one is ignored.
    pub(super) connection: u64,
    /// Their browser's id (its cookie), when it has one: kept if they are removed.
    pub(super) browser: Option<String>,
    /// Room messages not yet acknowledged, numbered, oldest first.
    unacked: VecDeque<(u64, Utf8Bytes)>,
    /// Their bytes.
    unacked_bytes: usize,
    next_seq: u64,
    held: HeldBytes,
}

impl Member {
    pub(super) fn new(info: PeerInfo, connection: u64, outbox: Outbox, held: HeldBytes) -> Self {
        Self {
            info,
            outbox: Some(outbox),
            connection,
            browser: None,
            unacked: VecDeque::new(),
            unacked_bytes: 0,
            next_seq: 1,
            held,
        }
    }

    /// Bytes held for this member: kept for replay, and waiting to be sent (a room
    /// message is in both until it is sent; it is stored once but counted twice).
    pub(super) fn held_bytes(&self) -> usize {
        self.unacked_bytes + self.outbox.as_ref().map_or(0, Outbox::queued_bytes)
    }

    /// Numbers a room message, keeps it for replay and sends it if connected.
    /// `Overflow` means the member must go: its queue is full, it holds more bytes
    /// than its budget, or it is away and has missed more than it may.
    pub(super) fn deliver(&mut self, message: &str, keeping: &Keeping) -> QueueOutcome {
        self.deliver_numbered(|seq| numbered(seq, message), keeping)
    }

    /// [`Member::deliver`], for a message that `number` encodes with its `seq`.
    fn deliver_numbered(
        &mut self,
        number: impl FnOnce(u64) -> Utf8Bytes,
        keeping: &Keeping,
    ) -> QueueOutcome {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = number(seq);
        self.keep(seq, frame.clone());
        if self.unacked.len() > keeping.messages {
            if self.outbox.is_none() {
                return QueueOutcome::Overflow;
            }
            // Connected but not acknowledging: the oldest can no longer be replayed.
            self.forget_oldest();
        }
        let outcome = match &self.outbox {
            Some(outbox) => outbox.send(frame),
            None => QueueOutcome::Queued,
        };
        if outcome == QueueOutcome::Queued && self.held_bytes() > keeping.bytes {
            return QueueOutcome::Overflow;
        }
        outcome
    }

    fn keep(&mut self, seq: u64, frame: Utf8Bytes) {
        self.unacked_bytes += frame.len();
        self.held.hold(frame.len());
        self.unacked.push_back((seq, frame));
    }

    fn forget_oldest(&mut self) {
        if let Some((_, frame)) = self.unacked.pop_front() {
            self.unacked_bytes -= frame.len();
            self.held.release(frame.len());
        }
    }

    /// Forgets the messages acknowledged, up to and including `seen`.
    pub(super) fn acknowledge(&mut self, seen: u64) {
        while self.unacked.front().is_some_and(|(seq, _)| *seq <= seen) {
            self.forget_oldest();
        }
    }

    /// The kept messages after `last_seen`, in order.
    pub(super) fn kept_after(&self, last_seen: u64) -> Vec<Utf8Bytes> {
        self.unacked
            .iter()
            .filter(|(seq, _)| *seq > last_seen)
            .map(|(_, frame)| frame.clone())
            .collect()
    }

    /// Whether every message after `last_seen` can still be replayed.
    pub(super) fn can_replay_after(&self, last_seen: u64) -> bool {
        match self.unacked.front() {
            Some((first, _)) => *first <= last_seen + 1,
            None => self.next_seq <= last_seen + 1,
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.held.release(self.unacked_bytes);
    }
}

pub(super) type Members = HashMap<PeerId, Member>;

/// One meeting's participants.
pub struct Room {
    pub(super) code: RoomCode,
    members: Mutex<Members>,
    pub(super) keeping: Keeping,
    /// The place the next raised hand takes.
    next_hand: AtomicU64,
    /// The meeting's settings (as kept in the database; updated on every join).
    settings: Mutex<MeetingSettings>,
    /// People asking to join, in the order they asked (ids grow).
    waiting: Mutex<BTreeMap<PeerId, Waiter>>,
    /// How the meeting's media travels, and the move under way.
    transport: Mutex<MeetingTransport>,
}

impl Room {
    pub(super) fn new(code: RoomCode, keeping: Keeping, mesh_limit: MeshLimit) -> Self {
        Self {
            transport: Mutex::new(MeetingTransport::new(mesh_limit, std::time::Instant::now())),
            code,
            members: Mutex::new(HashMap::new()),
            keeping,
            next_hand: AtomicU64::new(1),
            settings: Mutex::new(MeetingSettings::default()),
            waiting: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn code(&self) -> &RoomCode {
        &self.code
    }

    pub(super) fn members(&self) -> MutexGuard<'_, Members> {
        // A panic while holding the lock cannot leave the map half-updated (every
        // update is a single insert or remove), so a poisoned lock is still usable.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Those asking to join. Taken after [`Room::members`] when both are needed.
    pub(super) fn waiting(&self) -> MutexGuard<'_, BTreeMap<PeerId, Waiter>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The meeting's settings as this room knows them.
    pub fn settings(&self) -> MeetingSettings {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the settings read from the database on a join.
    pub fn adopt_settings(&self, settings: MeetingSettings) {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings;
    }

    /// The meeting's transport. Taken after [`Room::members`] when both are needed.
    pub(super) fn transport(&self) -> MutexGuard<'_, MeetingTransport> {
        self.transport.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether nobody is in the room or asking to join it.
    pub(super) fn is_empty(&self) -> bool {
        self.members().is_empty() && self.waiting().is_empty()
    }

    /// Remembers `id`'s browser id (see `crate::hosts`).
    pub fn note_browser(&self, id: PeerId, browser: Option<&str>) {
        if let Some(member) = self.members().get_mut(&id) {
            member.browser = browser.map(str::to_owned);
        }
    }

    /// What the room knows of `id`, if they are here.
    pub fn member_info(&self, id: PeerId) -> Option<PeerInfo> {
        self.members().get(&id).map(|m| m.info.clone())
    }

    /// Sends a room message to one member. `None` when `to` is not here.
    pub fn send_to(&self, to: PeerId, message: &ServerMessage) -> Option<()> {
        let mut members = self.members();
        let member = members.get_mut(&to)?;
        // Encoded with its number in one go: one message, one receiver.
        let outcome = member.deliver_numbered(|seq| encode_numbered(seq, message), &self.keeping);
        if outcome == QueueOutcome::Overflow {
            drop_slow(&self.code, &mut members, &self.keeping, vec![to]);
        }
        Some(())
    }

    /// Sends a room message to every member except `except`.
    pub fn broadcast(&self, except: PeerId, message: &ServerMessage) {
        let mut members = self.members();
        broadcast_locked(
            &self.code,
            &mut members,
            &self.keeping,
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
            member.acknowledge(seen);
        }
    }

    /// The member here holding the most bytes, and how many.
    pub(super) fn largest_holder(&self) -> Option<(PeerId, usize)> {
        self.members()
            .iter()
            .map(|(id, member)| (*id, member.held_bytes()))
            .max_by_key(|(_, bytes)| *bytes)
    }

    /// Disconnects `id` as one too slow to read, and tells the others.
    pub(super) fn drop_member(&self, id: PeerId) {
        let mut members = self.members();
        drop_slow(&self.code, &mut members, &self.keeping, vec![id]);
    }

    /// Whether `id` is here and away (its connection dropped, not yet resumed).
    pub fn is_away(&self, id: PeerId) -> bool {
        self.members().get(&id).is_some_and(|m| m.outbox.is_none())
    }
}

/// Queues `message` for every member; disconnects whoever overflows.
pub(super) fn broadcast_all(
    code: &RoomCode,
    members: &mut Members,
    keeping: &Keeping,
    message: &str,
) {
    let slow: Vec<PeerId> = members
        .iter_mut()
        .filter_map(|(id, m)| {
            (m.deliver(message, keeping) == QueueOutcome::Overflow).then_some(*id)
        })
        .collect();
    drop_slow(code, members, keeping, slow);
}

/// Queues `message` for everyone but `except`; disconnects whoever overflows.
pub(super) fn broadcast_locked(
    code: &RoomCode,
    members: &mut Members,
    keeping: &Keeping,
    except: PeerId,
    message: &str,
) {
    let slow: Vec<PeerId> = members
        .iter_mut()
        .filter(|(id, _)| **id != except)
        .filter_map(|(id, m)| {
            (m.deliver(message, keeping) == QueueOutcome::Overflow).then_some(*id)
        })
        .collect();
    drop_slow(code, members, keeping, slow);
}

/// Removes members whose queues overflowed and tells the others, repeating while
/// that news overflows someone else's queue.
pub(super) fn drop_slow(
    code: &RoomCode,
    members: &mut Members,
    keeping: &Keeping,
    mut slow: Vec<PeerId>,
) {
    while let Some(id) = slow.pop() {
        let Some(member) = members.remove(&id) else {
            continue;
        };
        tracing::warn!(room = %code, peer = %id, "disconnecting a participant too slow to read");
        if let Some(outbox) = &member.outbox {
            outbox.kick(Kick::TooSlow);
        }
        let left = encode(&ServerMessage::PeerLeft {
            id,
            reason: LeaveReason::Dropped,
        });
        for (other, m) in members.iter_mut() {
            if m.deliver(&left, keeping) == QueueOutcome::Overflow && !slow.contains(other) {
                slow.push(*other);
            }
        }
    }
}

/// Everyone in the room but `me`, by id.
pub(super) fn others(members: &Members, me: PeerId) -> Vec<PeerInfo> {
    let mut peers: Vec<PeerInfo> = members
        .values()
        .filter(|m| m.info.id != me)
        .map(|m| m.info.clone())
        .collect();
    peers.sort_by_key(|p| p.id);
    peers
}
