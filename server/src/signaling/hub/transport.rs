//! How one meeting's media travels, and the move between the two ways: straight
//! between browsers (the mesh) while the meeting is small, through the media port
//! once it grows past the mesh limit. Plain rules, no socket, no clock of their own.
//!
//! A move is made before it is broken: the server says `transport_changed`; each
//! participant opens the new way while the old one still plays and says
//! `transport_ready` once everyone it sees comes the new way; when all have (or after
//! [`SETTLE_AFTER`], for anyone stuck), the server says `transport_settled` and the
//! old way closes. Growing moves at once (the newcomer is welcomed onto the media
//! port); shrinking back waits until the meeting has stayed small for
//! [`RETURN_AFTER`] and the last move has settled, so that one person coming and going
//! does not make the meeting flap.

use app::protocol::{PeerId, Transport};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long a meeting must have been at or under the mesh limit before it returns to
/// the mesh.
pub const RETURN_AFTER: Duration = Duration::from_secs(3);
/// How long a move waits for everyone to say they are ready before it settles anyway.
pub const SETTLE_AFTER: Duration = Duration::from_secs(10);

/// When meetings go through the media port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshLimit {
    /// There is no media port: always the mesh.
    NoMediaPort,
    /// The mesh for at most this many people, the media port past it (0: always the
    /// media port).
    AtMost(usize),
}

impl MeshLimit {
    fn wants(self, people: usize) -> Transport {
        match self {
            MeshLimit::AtMost(limit) if people > limit => Transport::Sfu,
            _ => Transport::Mesh,
        }
    }

    /// How a meeting starts.
    pub fn first(self) -> Transport {
        self.wants(1)
    }
}

/// What a review of the meeting found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Review {
    /// The meeting moves to this transport.
    pub changed: Option<Transport>,
    /// The move to this transport is complete: the old way may close.
    pub settled: Option<Transport>,
}

/// What someone saying they are ready means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    /// Others are still moving (or they named another transport).
    Waiting,
    /// They were the last: the move is complete, for everyone.
    SettledNow(Transport),
    /// There was no move under way (they were welcomed into a settled meeting, or
    /// the server restarted): complete for them.
    AlreadySettled(Transport),
}

/// One meeting's transport and the move under way, if any.
#[derive(Debug)]
pub struct MeetingTransport {
    current: Transport,
    /// Whether everyone has moved to `current` (or given up waiting on them).
    settled: bool,
    changed_at: Instant,
    /// Who said they play everyone through `current`.
    ready: BTreeSet<PeerId>,
    /// Since when the meeting has been small enough for the mesh, while on the port.
    small_since: Option<Instant>,
}

impl MeetingTransport {
    pub fn new(limit: MeshLimit, now: Instant) -> Self {
        Self {
            current: limit.first(),
            settled: true,
            changed_at: now,
            ready: BTreeSet::new(),
            small_since: None,
        }
    }

    pub fn current(&self) -> Transport {
        self.current
    }

    fn change(&mut self, to: Transport, now: Instant) -> Transport {
        self.current = to;
        self.settled = false;
        self.changed_at = now;
        self.ready.clear();
        self.small_since = None;
        to
    }

    /// Someone joined, making `people`: a meeting past the limit moves at once.
    /// A meeting taken up again after a restart goes the way it went (settled: its
    /// people had moved), when there is a media port for it.
    pub fn restore(&mut self, transport: Transport, limit: MeshLimit, now: Instant) {
        if transport == Transport::Sfu && limit != MeshLimit::NoMediaPort {
            self.current = Transport::Sfu;
            self.settled = true;
            self.changed_at = now;
            self.ready.clear();
            self.small_since = None;
        }
    }

    pub fn joined(&mut self, limit: MeshLimit, people: usize, now: Instant) -> Option<Transport> {
        if self.current == Transport::Mesh && limit.wants(people) == Transport::Sfu {
            return Some(self.change(Transport::Sfu, now));
        }
        if limit.wants(people) == Transport::Sfu {
            self.small_since = None;
        }
        None
    }

    /// `id` plays everyone through `transport`.
    pub fn ready(
        &mut self,
        id: PeerId,
        transport: Transport,
        members: impl IntoIterator<Item = PeerId>,
    ) -> Ready {
        if transport != self.current {
            return Ready::Waiting;
        }
        if self.settled {
            return Ready::AlreadySettled(self.current);
        }
        self.ready.insert(id);
        match self.settle_if_everyone(members) {
            Some(transport) => Ready::SettledNow(transport),
            None => Ready::Waiting,
        }
    }

    fn settle_if_everyone(
        &mut self,
        members: impl IntoIterator<Item = PeerId>,
    ) -> Option<Transport> {
        let mut members = members.into_iter().peekable();
        // Nobody in the meeting: nothing to settle.
        members.peek()?;
        if members.all(|m| self.ready.contains(&m)) {
            self.settled = true;
            return Some(self.current);
        }
        None
    }

    /// Looks at the meeting again (about once a second, and after someone leaves):
    /// settles a move everyone has made or that has waited long enough, and returns
    /// a meeting that has stayed small to the mesh.
    pub fn review(&mut self, limit: MeshLimit, members: &[PeerId], now: Instant) -> Review {
        let mut review = Review::default();
        if !self.settled {
            review.settled = self.settle_if_everyone(members.iter().copied());
            if review.settled.is_none() && now.duration_since(self.changed_at) >= SETTLE_AFTER {
                self.settled = true;
                review.settled = Some(self.current);
            }
        }
        let wanted = limit.wants(members.len());
        if self.current == Transport::Sfu && wanted == Transport::Mesh && !members.is_empty() {
            let since = *self.small_since.get_or_insert(now);
            if self.settled && now.duration_since(since) >= RETURN_AFTER {
                review.changed = Some(self.change(Transport::Mesh, now));
            }
        } else {
            self.small_since = None;
        }
        review
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: MeshLimit = MeshLimit::AtMost(3);

    fn ids(n: u64) -> Vec<PeerId> {
        (1..=n).map(PeerId).collect()
    }

    #[test]
    fn a_meeting_past_the_limit_moves_at_once_and_settles_when_everyone_is_ready() {
        let t0 = Instant::now();
        let mut meeting = MeetingTransport::new(LIMIT, t0);
        assert_eq!(meeting.current(), Transport::Mesh);
        for people in 1..=3 {
            assert_eq!(meeting.joined(LIMIT, people, t0), None);
        }
        assert_eq!(meeting.joined(LIMIT, 4, t0), Some(Transport::Sfu));
        assert_eq!(meeting.joined(LIMIT, 5, t0), None, "already moving");
        let everyone = ids(5);
        for id in 1..5 {
            assert_eq!(
                meeting.ready(PeerId(id), Transport::Sfu, everyone.clone()),
                Ready::Waiting
            );
        }
        // Readiness for the other transport does not count.
        assert_eq!(
            meeting.ready(PeerId(5), Transport::Mesh, everyone.clone()),
            Ready::Waiting
        );
        assert_eq!(
            meeting.ready(PeerId(5), Transport::Sfu, everyone.clone()),
            Ready::SettledNow(Transport::Sfu)
        );
        // Once for everyone; to someone saying it again, for them.
        assert_eq!(
            meeting.ready(PeerId(5), Transport::Sfu, everyone),
            Ready::AlreadySettled(Transport::Sfu)
        );
    }

    #[test]
    fn someone_who_never_says_ready_holds_the_move_only_so_long() {
        let t0 = Instant::now();
        let mut meeting = MeetingTransport::new(LIMIT, t0);
        meeting.joined(LIMIT, 4, t0);
        let everyone = ids(4);
        for id in 1..4 {
            meeting.ready(PeerId(id), Transport::Sfu, everyone.clone());
        }
        assert_eq!(
            meeting.review(LIMIT, &everyone, t0 + Duration::from_secs(9)),
            Review::default()
        );
        let review = meeting.review(LIMIT, &everyone, t0 + SETTLE_AFTER);
        assert_eq!(review.settled, Some(Transport::Sfu));
    }

    #[test]
    fn the_one_not_ready_leaving_settles_the_move() {
        let t0 = Instant::now();
        let mut meeting = MeetingTransport::new(LIMIT, t0);
        meeting.joined(LIMIT, 5, t0);
        let everyone = ids(5);
        for id in 1..5 {
            meeting.ready(PeerId(id), Transport::Sfu, everyone.clone());
        }
        let review = meeting.review(LIMIT, &ids(4), t0);
        assert_eq!(review.settled, Some(Transport::Sfu));
        assert_eq!(review.changed, None, "four is still past the limit");
    }

    #[test]
    fn shrinking_returns_to_the_mesh_only_after_staying_small() {
        let t0 = Instant::now();
        let mut meeting = MeetingTransport::new(LIMIT, t0);
        meeting.joined(LIMIT, 4, t0);
        for id in 1..=4 {
            meeting.ready(PeerId(id), Transport::Sfu, ids(4));
        }
        let three = ids(3);
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(meeting.review(LIMIT, &three, at(1)).changed, None);
        assert_eq!(meeting.review(LIMIT, &three, at(3)).changed, None);
        // Someone joins and leaves again: the count starts over.
        assert_eq!(meeting.joined(LIMIT, 4, at(3)), None);
        assert_eq!(meeting.review(LIMIT, &ids(4), at(4)).changed, None);
        assert_eq!(meeting.review(LIMIT, &three, at(5)).changed, None);
        assert_eq!(meeting.review(LIMIT, &three, at(7)).changed, None);
        let review = meeting.review(LIMIT, &three, at(8));
        assert_eq!(review.changed, Some(Transport::Mesh));
        assert_eq!(meeting.current(), Transport::Mesh);
        // And back the same way.
        for id in 1..=3 {
            meeting.ready(PeerId(id), Transport::Mesh, three.clone());
        }
        assert_eq!(meeting.joined(LIMIT, 4, at(9)), Some(Transport::Sfu));
    }

    #[test]
    fn an_unsettled_move_is_not_reversed() {
        let t0 = Instant::now();
        let mut meeting = MeetingTransport::new(LIMIT, t0);
        meeting.joined(LIMIT, 4, t0);
        // The fourth leaves before anyone is ready: the move settles first (here by
        // everyone left being ready), then the meeting may return.
        let three = ids(3);
        let review = meeting.review(LIMIT, &three, t0 + RETURN_AFTER);
        assert_eq!(review, Review::default());
        for id in 1..=3 {
            meeting.ready(PeerId(id), Transport::Sfu, three.clone());
        }
        assert_eq!(
            meeting.review(LIMIT, &three, t0 + RETURN_AFTER).changed,
            None
        );
        let review = meeting.review(LIMIT, &three, t0 + RETURN_AFTER * 2);
        assert_eq!(review.changed, Some(Transport::Mesh));
    }

    #[test]
    fn limits_zero_and_none() {
        let t0 = Instant::now();
        let always = MeshLimit::AtMost(0);
        let mut meeting = MeetingTransport::new(always, t0);
        assert_eq!(meeting.current(), Transport::Sfu);
        assert_eq!(
            meeting.review(always, &ids(1), t0 + RETURN_AFTER * 9),
            Review::default()
        );
        let never = MeshLimit::NoMediaPort;
        let mut meeting = MeetingTransport::new(never, t0);
        assert_eq!(meeting.joined(never, 100, t0), None);
        assert_eq!(meeting.current(), Transport::Mesh);
    }
}
