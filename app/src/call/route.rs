//! Which way each person's media reaches us, and the move between the two ways (the
//! mesh and the server's media port) when the meeting's transport changes: plain
//! rules, tested without a browser. The browser layer (`browser::moving`) asks them
//! what to do with each stream that arrives and when to say `transport_ready`.
//!
//! A move is made before it is broken: a tile keeps the stream it plays until the
//! same person's stream from the new way is decoding, and the old way closes only
//! once the server says the move has settled.

use crate::call::negotiation::Millis;
use crate::protocol::{PeerId, Transport};
use std::collections::HashMap;

/// How long we wait for everyone's media to come the new way before saying we are
/// ready anyway (someone whose media never comes must not hold the meeting).
pub const READY_AFTER: Millis = 5_000;
/// How long, after a move settled, the old way stays open for someone whose stream
/// from the new way is not playing yet.
pub const CLOSE_AFTER: Millis = 3_000;

/// What to do with a stream that arrived from someone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Show it on their tile now.
    Show,
    /// Keep it until it plays, then show it (their tile plays the old way meanwhile).
    HoldUntilPlaying,
    /// A late one from the way being left: their tile already plays the new way.
    Ignore,
}

#[derive(Debug)]
pub struct Route {
    /// The meeting's transport (the one being moved to, during a move).
    target: Transport,
    settled: bool,
    ready_said: bool,
    moved_at: Millis,
    settled_at: Millis,
    /// Whether the transport changed since the welcome (not merely began).
    changed: bool,
    /// Which way the stream each tile plays came.
    shown: HashMap<PeerId, Transport>,
}

impl Route {
    /// Welcomed into a meeting whose media travels by `transport`: we still say
    /// ready once everyone plays, for a move that may be under way.
    pub fn new(transport: Transport, now: Millis) -> Self {
        Self {
            target: transport,
            settled: false,
            ready_said: false,
            moved_at: now,
            settled_at: now,
            changed: false,
            shown: HashMap::new(),
        }
    }

    /// The server restarted and says the meeting's media travels by `transport`: a
    /// move starts afresh (the server forgot any under way), tiles keep what they play.
    pub fn restart(&mut self, transport: Transport, now: Millis) {
        self.changed |= self.target != transport;
        self.target = transport;
        self.settled = false;
        self.ready_said = false;
        self.moved_at = now;
    }

    pub fn target(&self) -> Transport {
        self.target
    }

    /// Whether a move is under way (the old way may still be open).
    pub fn moving(&self) -> bool {
        !self.settled
    }

    /// Whether the meeting's media has moved since the welcome (what to tell whoever
    /// reads the browser's console).
    pub fn has_moved(&self) -> bool {
        self.changed
    }

    /// How long since the move began.
    pub fn moving_for(&self, now: Millis) -> Millis {
        now.saturating_sub(self.moved_at)
    }

    /// The meeting moves to `to`. Returns whether that is news.
    pub fn change(&mut self, to: Transport, now: Millis) -> bool {
        if to == self.target {
            return false;
        }
        self.target = to;
        self.settled = false;
        self.ready_said = false;
        self.moved_at = now;
        self.changed = true;
        true
    }

    /// A stream from `them` arrived `via` one way.
    pub fn arrived(&self, them: PeerId, via: Transport) -> Arrival {
        match self.shown.get(&them) {
            None => Arrival::Show,
            Some(shown) if *shown == via => Arrival::Show,
            Some(_) if via == self.target && self.settled => Arrival::Show,
            Some(_) if via == self.target => Arrival::HoldUntilPlaying,
            Some(_) => Arrival::Ignore,
        }
    }

    /// Their tile now plays what came `via`.
    pub fn showing(&mut self, them: PeerId, via: Transport) {
        self.shown.insert(them, via);
    }

    /// Which way their tile's stream came, if it has one.
    pub fn shown_via(&self, them: PeerId) -> Option<Transport> {
        self.shown.get(&them).copied()
    }

    pub fn forget(&mut self, them: PeerId) {
        self.shown.remove(&them);
    }

    /// The server says the move to `transport` is complete. Returns whether we close
    /// the other way now.
    pub fn settle(&mut self, transport: Transport, now: Millis) -> bool {
        if transport != self.target || self.settled {
            return false;
        }
        self.settled = true;
        self.settled_at = now;
        true
    }

    /// Whether the old way must close now for everyone, playing the new way or not:
    /// the move settled [`CLOSE_AFTER`] ago.
    pub fn closing_time(&self, now: Millis) -> bool {
        self.settled && now.saturating_sub(self.settled_at) >= CLOSE_AFTER
    }

    /// Whether to say `transport_ready` now, given everyone in the meeting: once per
    /// move, when every tile plays the new way or the wait is over.
    pub fn ready_to_say(&mut self, everyone: &[PeerId], now: Millis) -> bool {
        if self.ready_said || self.settled {
            return false;
        }
        let all_moved = everyone
            .iter()
            .all(|id| self.shown.get(id) == Some(&self.target));
        if all_moved || now.saturating_sub(self.moved_at) >= READY_AFTER {
            self.ready_said = true;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: PeerId = PeerId(1);
    const BOB: PeerId = PeerId(2);

    #[test]
    fn a_move_holds_the_new_stream_until_it_plays_and_ignores_late_old_ones() {
        let mut route = Route::new(Transport::Mesh, 0);
        assert_eq!(route.arrived(ANN, Transport::Mesh), Arrival::Show);
        route.showing(ANN, Transport::Mesh);
        route.showing(BOB, Transport::Mesh);
        assert!(route.ready_to_say(&[ANN, BOB], 10));
        assert!(route.settle(Transport::Mesh, 10));

        assert!(route.change(Transport::Sfu, 1_000));
        assert!(!route.change(Transport::Sfu, 1_000));
        assert_eq!(
            route.arrived(ANN, Transport::Sfu),
            Arrival::HoldUntilPlaying
        );
        // A renegotiated mesh stream still shows while the mesh is what plays.
        assert_eq!(route.arrived(ANN, Transport::Mesh), Arrival::Show);
        route.showing(ANN, Transport::Sfu);
        assert_eq!(route.arrived(ANN, Transport::Mesh), Arrival::Ignore);
        assert!(
            !route.ready_to_say(&[ANN, BOB], 1_100),
            "Bob still plays by the mesh"
        );
        route.showing(BOB, Transport::Sfu);
        assert!(route.ready_to_say(&[ANN, BOB], 1_200));
        assert!(!route.ready_to_say(&[ANN, BOB], 1_300), "said once");
        assert!(!route.settle(Transport::Mesh, 1_400));
        assert!(route.settle(Transport::Sfu, 1_400));
        assert!(!route.moving());
        assert!(!route.closing_time(1_400 + CLOSE_AFTER - 1));
        assert!(route.closing_time(1_400 + CLOSE_AFTER));
    }

    #[test]
    fn after_the_move_settles_a_new_way_stream_shows_at_once() {
        let mut route = Route::new(Transport::Mesh, 0);
        route.showing(ANN, Transport::Mesh);
        route.change(Transport::Sfu, 0);
        route.settle(Transport::Sfu, 0);
        // The mesh closed before Ann's stream came through the server.
        assert_eq!(route.arrived(ANN, Transport::Sfu), Arrival::Show);
    }

    #[test]
    fn someone_whose_media_never_comes_holds_us_only_so_long() {
        let mut route = Route::new(Transport::Mesh, 0);
        route.showing(ANN, Transport::Mesh);
        route.change(Transport::Sfu, 1_000);
        assert!(!route.ready_to_say(&[ANN, BOB], 1_000 + READY_AFTER - 1));
        assert!(route.ready_to_say(&[ANN, BOB], 1_000 + READY_AFTER));
    }

    #[test]
    fn a_newcomer_says_ready_once_it_plays_everyone() {
        let mut route = Route::new(Transport::Sfu, 0);
        assert!(!route.ready_to_say(&[ANN], 10));
        route.showing(ANN, Transport::Sfu);
        assert!(route.ready_to_say(&[ANN], 20));
        // Alone in the meeting: ready at once.
        let mut alone = Route::new(Transport::Mesh, 0);
        assert!(alone.ready_to_say(&[], 0));
    }
}
