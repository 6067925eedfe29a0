//! Two negotiations against each other, each with a small model of the browser's
//! RTCPeerConnection, over a network the test controls: every race the rules must
//! survive, with no browser at all.

use super::*;
use std::collections::VecDeque;

/// What a browser's RTCPeerConnection would do with the actions, in miniature.
#[derive(Debug, Default)]
struct FakePc {
    /// "stable", "have-local-offer" or "have-remote-offer".
    state: &'static str,
    local: Option<String>,
    remote: Option<String>,
    candidates: Vec<String>,
    ice_restarts: u32,
    rebuilds: u32,
    made: u32,
}

impl FakePc {
    fn new() -> Self {
        Self {
            state: "stable",
            ..Self::default()
        }
    }
}

/// One side: the rules, its fake connection, its name.
struct Side {
    name: &'static str,
    rules: Negotiation,
    pc: FakePc,
}

impl Side {
    fn new(name: &'static str, polite: bool, first: FirstOffer) -> Self {
        Self {
            name,
            rules: Negotiation::new(polite, first, 0),
            pc: FakePc::new(),
        }
    }

    /// Carries out actions (and the events they cause), returning what it sends.
    fn run(&mut self, now: Millis, actions: Vec<Action>) -> Vec<(Epoch, Signal)> {
        let mut out = Vec::new();
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            let event = match action {
                Action::Send { epoch, signal } => {
                    out.push((epoch, signal));
                    None
                }
                Action::MakeOffer => Some(self.set_local_description()),
                Action::AcceptOffer { sdp } => {
                    self.pc.remote = Some(sdp);
                    self.pc.state = "have-remote-offer";
                    Some(self.set_local_description())
                }
                Action::AcceptAnswer { sdp } => {
                    assert_eq!(
                        self.pc.state, "have-local-offer",
                        "{}: answer in {}",
                        self.name, self.pc.state
                    );
                    self.pc.remote = Some(sdp);
                    self.pc.state = "stable";
                    None
                }
                Action::AddCandidate(Signal::Candidate { candidate, .. }) => {
                    assert!(
                        self.pc.remote.is_some(),
                        "{}: candidate before a description",
                        self.name
                    );
                    self.pc.candidates.push(candidate);
                    None
                }
                Action::AddCandidate(_) => panic!("only candidates are added"),
                Action::RestartIce => {
                    self.pc.ice_restarts += 1;
                    None
                }
                Action::Rebuild { .. } => {
                    let rebuilds = self.pc.rebuilds + 1;
                    self.pc = FakePc::new();
                    self.pc.rebuilds = rebuilds;
                    None
                }
            };
            if let Some(event) = event {
                queue.extend(self.rules.handle(now, event));
            }
        }
        out
    }

    fn set_local_description(&mut self) -> Event {
        self.pc.made += 1;
        let sdp = format!("{}-{}", self.name, self.pc.made);
        self.pc.local = Some(sdp.clone());
        if self.pc.state == "have-remote-offer" {
            self.pc.state = "stable";
            Event::LocalDescription(Signal::Answer { sdp })
        } else {
            self.pc.state = "have-local-offer";
            Event::LocalDescription(Signal::Offer { sdp })
        }
    }
}

/// Decides, for each message in flight (sender, message), whether it is lost.
type Loss = Box<dyn FnMut(&str, &Signal) -> bool>;

/// Ada was in the room first (lower id: polite); Bob joined later and offers first.
struct Call {
    now: Millis,
    ada: Side,
    bob: Side,
    to_ada: VecDeque<(Epoch, Signal)>,
    to_bob: VecDeque<(Epoch, Signal)>,
    lose: Loss,
    lost: Vec<(String, Signal)>,
}

fn offer(sdp: &str) -> Signal {
    Signal::Offer { sdp: sdp.into() }
}

fn candidate(text: &str) -> Signal {
    Signal::Candidate {
        candidate: text.into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}

impl Call {
    fn new() -> Self {
        Self {
            now: 0,
            ada: Side::new("ada", true, FirstOffer::Theirs),
            bob: Side::new("bob", false, FirstOffer::Ours),
            to_ada: VecDeque::new(),
            to_bob: VecDeque::new(),
            lose: Box::new(|_, _| false),
            lost: Vec::new(),
        }
    }

    fn event(&mut self, who: &str, event: Event) {
        let side = if who == "ada" {
            &mut self.ada
        } else {
            &mut self.bob
        };
        let actions = side.rules.handle(self.now, event);
        let out = side.run(self.now, actions);
        self.post(who, out);
    }

    fn post(&mut self, from: &str, out: Vec<(Epoch, Signal)>) {
        for (epoch, signal) in out {
            if (self.lose)(from, &signal) {
                self.lost.push((from.into(), signal));
                continue;
            }
            if from == "ada" {
                self.to_bob.push_back((epoch, signal));
            } else {
                self.to_ada.push_back((epoch, signal));
            }
        }
    }

    /// Delivers everything in flight, both ways, until the network is quiet.
    fn deliver(&mut self) {
        loop {
            if let Some((epoch, signal)) = self.to_ada.pop_front() {
                self.event("ada", Event::Remote { epoch, signal });
            } else if let Some((epoch, signal)) = self.to_bob.pop_front() {
                self.event("bob", Event::Remote { epoch, signal });
            } else {
                break;
            }
        }
    }

    /// Lets `ms` pass in one-second ticks, delivering as it goes.
    fn wait(&mut self, ms: Millis) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 1_000;
            self.event("ada", Event::Tick);
            self.event("bob", Event::Tick);
            self.deliver();
        }
    }

    /// Whether both sides agree on one offer/answer pair, as a connection needs.
    fn negotiated(&self) -> bool {
        let (a, b) = (&self.ada.pc, &self.bob.pc);
        a.state == "stable"
            && b.state == "stable"
            && a.local.is_some()
            && a.local == b.remote
            && b.local == a.remote
            && self.ada.rules.epoch() == self.bob.rules.epoch()
    }

    /// The browser's negotiationneeded on both sides, as adding tracks causes.
    fn start(&mut self) {
        self.event("ada", Event::NegotiationNeeded);
        self.event("bob", Event::NegotiationNeeded);
    }

    fn connect_if_negotiated(&mut self) {
        if self.negotiated() {
            self.event("ada", Event::Link(Link::Connected));
            self.event("bob", Event::Link(Link::Connected));
        }
    }
}

#[test]
fn the_newcomer_offers_first_and_nobody_collides() {
    let mut call = Call::new();
    call.start();
    call.deliver();
    assert!(call.negotiated());
    assert_eq!(call.ada.pc.made, 1, "Ada only answered");
    assert_eq!(call.bob.pc.made, 1, "Bob made one offer");
}

#[test]
fn a_lost_first_offer_is_made_again() {
    let mut call = Call::new();
    let mut first = true;
    call.lose = Box::new(move |from, signal| {
        let lose = first && from == "bob" && matches!(signal, Signal::Offer { .. });
        if lose {
            first = false;
        }
        lose
    });
    call.start();
    call.deliver();
    assert!(!call.negotiated());
    call.wait(ANSWER_TIMEOUT);
    assert!(call.negotiated(), "sent again after the answer timeout");
    assert_eq!(call.lost.len(), 1);
    assert_eq!(call.bob.pc.made, 1, "the same offer, not a new one");
}

#[test]
fn a_lost_first_offer_and_a_fallback_offer_that_collides_still_connect() {
    // Bob's offer is lost twice; meanwhile Ada's fallback offer reaches Bob while his
    // own is out. Bob (impolite) ignores it, but his next try gets through.
    let mut call = Call::new();
    let mut bob_offers = 0;
    call.lose = Box::new(move |from, signal| {
        if from == "bob" && matches!(signal, Signal::Offer { .. }) {
            bob_offers += 1;
            return bob_offers <= 2;
        }
        false
    });
    call.start();
    call.wait(FIRST_OFFER_WAIT + MAX_ANSWER_TIMEOUT);
    assert!(call.negotiated());
}

#[test]
fn a_late_answer_to_an_offer_sent_again_still_matches() {
    // Ada's answer is slow: Bob's timeout sends his offer again before it arrives.
    // Whatever order the answers come in, both sides agree on one exchange.
    let mut call = Call::new();
    call.start();
    let offer = call.to_ada.pop_front().unwrap();
    call.event(
        "ada",
        Event::Remote {
            epoch: offer.0,
            signal: offer.1,
        },
    );
    let late_answer = call.to_bob.pop_front().unwrap();
    call.wait(ANSWER_TIMEOUT); // Bob sends the offer again; Ada answers it again
    assert!(call.to_ada.is_empty() && call.to_bob.is_empty());
    call.event(
        "bob",
        Event::Remote {
            epoch: late_answer.0,
            signal: late_answer.1,
        },
    );
    call.deliver();
    assert!(
        call.negotiated() || {
            // Ada's second answer was ignored by Bob (he was already stable): their
            // descriptions differ only in which of Ada's two equal answers Bob holds.
            call.bob.pc.remote.as_deref() == Some("ada-1")
                && call.ada.pc.remote.as_deref() == Some("bob-1")
        }
    );
    assert_eq!(call.bob.pc.made, 1);
}

#[test]
fn a_lost_answer_is_recovered() {
    let mut call = Call::new();
    let mut first = true;
    call.lose = Box::new(move |from, signal| {
        let lose = first && from == "ada" && matches!(signal, Signal::Answer { .. });
        if lose {
            first = false;
        }
        lose
    });
    call.start();
    call.deliver();
    assert!(!call.negotiated());
    call.wait(ANSWER_TIMEOUT);
    assert!(call.negotiated());
}

#[test]
fn glare_from_both_sides_is_settled_by_the_polite_one() {
    for polite_first in [true, false] {
        let mut call = Call::new();
        // Both already negotiated once; now both renegotiate at the same moment.
        call.start();
        call.deliver();
        let order = if polite_first {
            ["ada", "bob"]
        } else {
            ["bob", "ada"]
        };
        for who in order {
            call.event(who, Event::NegotiationNeeded);
        }
        assert_eq!(call.to_ada.len(), 1);
        assert_eq!(call.to_bob.len(), 1);
        call.deliver();
        assert!(call.negotiated(), "polite first: {polite_first}");
        assert!(call.bob.pc.local.as_deref().unwrap().starts_with("bob"));
    }
}

#[test]
fn candidates_before_the_description_wait_for_it_and_after_go_straight_in() {
    let mut call = Call::new();
    // Bob's candidate overtakes nothing, but reaches Ada before his offer.
    call.to_ada.push_back((Epoch(0), candidate("early")));
    call.deliver();
    assert!(call.ada.pc.candidates.is_empty(), "kept until the offer");
    call.start();
    call.deliver();
    assert_eq!(call.ada.pc.candidates, ["early"]);
    call.event("bob", Event::LocalCandidate(candidate("late")));
    call.deliver();
    assert_eq!(call.ada.pc.candidates, ["early", "late"]);
}

#[test]
fn candidates_lost_at_random_are_made_good_by_an_ice_restart() {
    let mut call = Call::new();
    call.start();
    call.deliver();
    assert!(call.negotiated());
    // All candidates were lost, so ICE never gets anywhere: Bob restarts it.
    call.event("bob", Event::Link(Link::Connecting));
    call.wait(CONNECT_TIMEOUT);
    assert_eq!(call.bob.pc.ice_restarts, 1);
    assert_eq!(
        call.ada.pc.ice_restarts, 0,
        "only the impolite side restarts"
    );
    assert!(call.negotiated(), "the restart's offer was answered");
    call.connect_if_negotiated();
    call.wait(REBUILD_AFTER + 5_000);
    assert_eq!(call.bob.pc.rebuilds, 0, "a cured connection is not rebuilt");
}

#[test]
fn only_the_impolite_side_restarts_ice_at_once_on_failure_and_after_a_grace_on_disconnect() {
    let mut call = Call::new();
    call.start();
    call.deliver();
    call.connect_if_negotiated();
    call.event("ada", Event::Link(Link::Failed));
    call.event("bob", Event::Link(Link::Failed));
    assert_eq!(call.bob.pc.ice_restarts, 1, "at once");
    assert_eq!(call.ada.pc.ice_restarts, 0);
    call.deliver();
    call.connect_if_negotiated();

    call.event("bob", Event::Link(Link::Disconnected));
    call.wait(1_000);
    assert_eq!(
        call.bob.pc.ice_restarts, 1,
        "disconnected may recover by itself"
    );
    call.wait(DISCONNECTED_GRACE);
    assert_eq!(call.bob.pc.ice_restarts, 2);
}

#[test]
fn an_ice_restart_colliding_with_an_offer_settles() {
    let mut call = Call::new();
    call.start();
    call.deliver();
    call.connect_if_negotiated();
    // Ada renegotiates while Bob's connection fails and he restarts ICE.
    call.event("ada", Event::NegotiationNeeded);
    call.event("bob", Event::Link(Link::Failed));
    call.deliver();
    assert!(call.negotiated());
    assert_eq!(call.bob.pc.ice_restarts, 1);
}

#[test]
fn a_connection_a_restart_does_not_cure_is_rebuilt_on_both_sides() {
    let mut call = Call::new();
    call.start();
    call.deliver();
    call.event("bob", Event::Link(Link::Failed));
    call.deliver();
    call.wait(REBUILD_AFTER);
    assert_eq!(call.bob.pc.rebuilds, 1);
    assert_eq!(call.ada.pc.rebuilds, 1, "told by the rebuild signal");
    assert_eq!(call.ada.rules.epoch(), Epoch(1));
    // The new connection negotiates from scratch (its tracks ask for it).
    call.start();
    call.deliver();
    assert!(call.negotiated());
    assert_eq!(call.bob.rules.epoch(), Epoch(1));
}

#[test]
fn what_was_meant_for_an_old_connection_is_dropped_and_a_lost_rebuild_is_inferred() {
    let mut call = Call::new();
    call.start();
    call.deliver();
    // Bob's rebuild signal is lost, but his new offer (epoch 1) arrives, followed by a
    // candidate for the old connection that was still on its way.
    call.event(
        "ada",
        Event::Remote {
            epoch: Epoch(1),
            signal: offer("bob-new"),
        },
    );
    call.event(
        "ada",
        Event::Remote {
            epoch: Epoch(0),
            signal: candidate("stale"),
        },
    );
    assert_eq!(call.ada.pc.rebuilds, 1);
    assert_eq!(call.ada.rules.epoch(), Epoch(1));
    assert_eq!(call.ada.pc.remote.as_deref(), Some("bob-new"));
    assert!(
        call.ada.pc.candidates.is_empty(),
        "the stale candidate is dropped"
    );
    assert!(matches!(
        call.to_bob.back(),
        Some((Epoch(1), Signal::Answer { .. }))
    ));
}

#[test]
fn a_peer_leaving_mid_offer_leaves_nothing_behind() {
    // Bob offers and is gone: nothing from Ada reaches him, and nothing more comes
    // from him. Ada has applied his offer and answered; nothing is waiting on him that
    // ticks could trip over.
    let mut call = Call::new();
    let mut bob_sent = 0;
    call.lose = Box::new(move |from, _| {
        if from == "bob" {
            bob_sent += 1;
        }
        from == "ada" || bob_sent > 1
    });
    call.start();
    call.deliver();
    let ada_made = call.ada.pc.made;
    call.wait(30_000);
    assert_eq!(
        call.ada.pc.made, ada_made,
        "Ada does not keep offering to a ghost"
    );
}

#[test]
fn when_the_server_may_have_lost_messages_an_open_offer_is_made_again_at_once() {
    let mut call = Call::new();
    call.lose = Box::new(|from, signal| from == "bob" && matches!(signal, Signal::Offer { .. }));
    call.start();
    call.deliver();
    call.lose = Box::new(|_, _| false);
    call.event("bob", Event::SignalsMayBeLost);
    call.deliver();
    assert!(call.negotiated());
}

#[test]
fn without_negotiationneeded_the_fallbacks_still_connect() {
    let mut call = Call::new();
    call.wait(OWN_OFFER_WAIT);
    assert!(call.negotiated(), "Bob offers by himself");
}

#[test]
fn the_polite_side_rebuilds_a_connection_the_impolite_side_leaves_failed() {
    let mut polite = Negotiation::new(true, FirstOffer::Theirs, 0);
    polite.handle(
        100,
        Event::Remote {
            epoch: Epoch(0),
            signal: offer("o1"),
        },
    );
    polite.handle(
        200,
        Event::LocalDescription(Signal::Answer { sdp: "a1".into() }),
    );
    polite.handle(1_000, Event::Link(Link::Failed));
    // The impolite side is given its time to restart ICE and rebuild.
    assert!(polite.handle(20_000, Event::Tick).is_empty());
    let actions = polite.handle(1_000 + POLITE_REBUILD_AFTER, Event::Tick);
    assert!(
        actions.contains(&Action::Rebuild { epoch: Epoch(1) }),
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Send {
            epoch: Epoch(1),
            signal: Signal::Rebuild
        }
    )));
}
