//! Negotiation of one RTCPeerConnection, as a state machine with no browser inside:
//! events in (what the other side sent, what the browser did, the passage of time),
//! actions out (what to send, what to ask the browser to do). The browser layer
//! (`browser::peer`) only turns its events into [`Event`]s and [`Action`]s into
//! web-sys calls, carried out one at a time, in order.
//!
//! The rules:
//! - **First offer.** The participant who joined later makes it; the other waits
//!   ([`FIRST_OFFER_WAIT`]) and then offers itself, in case it was lost.
//! - **Perfect negotiation.** Either side may offer; when offers collide the polite
//!   side (the lower peer id) gives way and the impolite side ignores the other's.
//! - **Lost offers.** An offer with no answer after [`ANSWER_TIMEOUT`] (growing with
//!   each try) is sent again, the very same one: a new offer could meet the late
//!   answer to the old one, and ICE would then run on credentials that do not match.
//! - **Candidates** that come before the remote description wait for it.
//! - **ICE.** Only the impolite side restarts ICE: at once on `failed`, after
//!   [`DISCONNECTED_GRACE`] on `disconnected`, and when checks never succeed. A
//!   connection that a restart does not cure within [`REBUILD_AFTER`] is rebuilt on
//!   both sides: a new RTCPeerConnection under the next [`Epoch`], announced with a
//!   `rebuild` signal; anything meant for an older epoch is dropped.

use crate::protocol::{Epoch, Signal};

/// Milliseconds on a clock that only goes forward (`performance.now()`).
pub type Millis = u64;

/// How long the side that waits for the first offer waits before making its own.
pub const FIRST_OFFER_WAIT: Millis = 6_000;
/// How long the side that makes the first offer waits for the browser to ask for one
/// (negotiationneeded) before making it anyway.
pub const OWN_OFFER_WAIT: Millis = 3_000;
/// How long an offer waits for its answer before it is made again (the first time;
/// each further try waits longer, up to [`MAX_ANSWER_TIMEOUT`]).
pub const ANSWER_TIMEOUT: Millis = 3_000;
pub const MAX_ANSWER_TIMEOUT: Millis = 10_000;
/// How long a `disconnected` connection may recover by itself before ICE restarts.
pub const DISCONNECTED_GRACE: Millis = 2_000;
/// How long ICE may take to connect after negotiating before it is restarted.
pub const CONNECT_TIMEOUT: Millis = 8_000;
/// How long after an ICE restart the connection must be up, or it is rebuilt.
pub const REBUILD_AFTER: Millis = 10_000;
/// How long the polite side waits for the impolite side to cure a connection that is
/// not connected before rebuilding it itself (the impolite side may see it as
/// connected, or be stuck itself).
pub const POLITE_REBUILD_AFTER: Millis = 25_000;
/// Candidates kept while waiting for the remote description.
const MAX_PENDING_CANDIDATES: usize = 100;

/// RTCPeerConnection.connectionState, as far as negotiation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
}

/// Who makes the first offer on a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstOffer {
    /// We do (they were in the room before us).
    Ours,
    /// They do (they joined after us, or they are rebuilding).
    Theirs,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The browser asks for a negotiation (negotiationneeded).
    NegotiationNeeded,
    /// The browser made and applied a local description: an offer or an answer.
    LocalDescription(Signal),
    /// The browser could not make or apply one.
    LocalDescriptionFailed,
    /// The other side sent something.
    Remote { epoch: Epoch, signal: Signal },
    /// The browser found a local ICE candidate (a `Signal::Candidate`).
    LocalCandidate(Signal),
    /// The connection's state changed.
    Link(Link),
    /// Time passed (sent every second or so).
    Tick,
    /// Messages to the other side may have been lost (the server restarted).
    SignalsMayBeLost,
}

/// What to do, in this order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a signal to the other side, for this epoch's connection.
    Send { epoch: Epoch, signal: Signal },
    /// `setLocalDescription()`: makes an offer (or the answer, if an offer came in);
    /// reported back as [`Event::LocalDescription`].
    MakeOffer,
    /// Apply their offer and answer it; the answer is reported back as
    /// [`Event::LocalDescription`].
    AcceptOffer { sdp: String },
    /// Apply their answer.
    AcceptAnswer { sdp: String },
    /// `addIceCandidate` (a `Signal::Candidate`); a failure is harmless.
    AddCandidate(Signal),
    /// `restartIce()`: the next offer carries new ICE credentials.
    RestartIce,
    /// Close the connection and open a new one under `epoch`.
    Rebuild { epoch: Epoch },
}

/// Where the offer/answer exchange stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exchange {
    /// Nothing under way.
    Stable,
    /// The browser is making our offer.
    MakingOffer { tries: u32 },
    /// Our offer is out, waiting for the answer since `since`.
    OfferOut { since: Millis, tries: u32 },
    /// Their offer is being applied and answered.
    Answering,
}

/// One connection's negotiation.
#[derive(Debug)]
pub struct Negotiation {
    polite: bool,
    epoch: Epoch,
    first_offer: FirstOffer,
    /// When this epoch's connection was made.
    born: Millis,
    exchange: Exchange,
    /// Whether a remote description was applied (or is being) in this epoch.
    described: bool,
    /// When the last remote description was applied (ICE starts from there).
    described_at: Millis,
    /// Their candidates waiting for the remote description.
    pending: Vec<Signal>,
    link: Link,
    /// When `link` last changed.
    link_since: Millis,
    /// When ICE was last restarted, while that has not yet connected.
    restarted_at: Option<Millis>,
    /// When the last offer was asked for (so the fallbacks do not pile up).
    last_offer_at: Option<Millis>,
    /// The offer that is out, to send again if it gets no answer.
    offer_out: Option<String>,
}

impl Negotiation {
    /// A new connection's negotiation. `polite`: our peer id is the lower.
    pub fn new(polite: bool, first_offer: FirstOffer, now: Millis) -> Self {
        Self {
            polite,
            epoch: Epoch::default(),
            first_offer,
            born: now,
            exchange: Exchange::Stable,
            described: false,
            described_at: now,
            pending: Vec::new(),
            link: Link::New,
            link_since: now,
            restarted_at: None,
            last_offer_at: None,
            offer_out: None,
        }
    }

    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Who makes this epoch's first offer.
    pub fn first_offer(&self) -> FirstOffer {
        self.first_offer
    }

    pub fn link(&self) -> Link {
        self.link
    }

    /// Feeds one event in; returns what to do about it.
    pub fn handle(&mut self, now: Millis, event: Event) -> Vec<Action> {
        match event {
            Event::NegotiationNeeded => self.negotiation_needed(now),
            Event::LocalDescription(signal) => self.local_description(now, signal),
            Event::LocalDescriptionFailed => {
                if matches!(
                    self.exchange,
                    Exchange::MakingOffer { .. } | Exchange::Answering
                ) {
                    self.exchange = Exchange::Stable;
                }
                Vec::new()
            }
            Event::Remote { epoch, signal } => self.remote(now, epoch, signal),
            Event::LocalCandidate(candidate) => vec![self.send(candidate)],
            Event::Link(link) => self.link_changed(now, link),
            Event::Tick => self.tick(now),
            Event::SignalsMayBeLost => match self.exchange {
                Exchange::OfferOut { tries, .. } => self.offer_again(now, tries),
                _ => Vec::new(),
            },
        }
    }

    fn send(&self, signal: Signal) -> Action {
        Action::Send {
            epoch: self.epoch,
            signal,
        }
    }

    fn negotiation_needed(&mut self, now: Millis) -> Vec<Action> {
        if self.first_offer == FirstOffer::Theirs && !self.described {
            // Their first offer is on its way; answering it negotiates our tracks too.
            return Vec::new();
        }
        if self.exchange != Exchange::Stable {
            // The browser asks again once the exchange under way is over.
            return Vec::new();
        }
        self.make_offer(now, 0)
    }

    fn make_offer(&mut self, now: Millis, tries: u32) -> Vec<Action> {
        self.exchange = Exchange::MakingOffer { tries };
        self.last_offer_at = Some(now);
        vec![Action::MakeOffer]
    }

    /// Sends the unanswered offer again.
    fn offer_again(&mut self, now: Millis, tries: u32) -> Vec<Action> {
        let Some(sdp) = self.offer_out.clone() else {
            return Vec::new();
        };
        self.exchange = Exchange::OfferOut {
            since: now,
            tries: tries + 1,
        };
        vec![self.send(Signal::Offer { sdp })]
    }

    fn local_description(&mut self, now: Millis, signal: Signal) -> Vec<Action> {
        match (&signal, self.exchange) {
            (Signal::Offer { sdp }, Exchange::MakingOffer { tries }) => {
                self.exchange = Exchange::OfferOut { since: now, tries };
                self.offer_out = Some(sdp.clone());
                vec![self.send(signal)]
            }
            // An offer made just before theirs came in: it is being rolled back.
            (Signal::Offer { .. }, _) => Vec::new(),
            (Signal::Answer { .. }, _) => {
                self.exchange = Exchange::Stable;
                vec![self.send(signal)]
            }
            _ => Vec::new(),
        }
    }

    fn remote(&mut self, now: Millis, epoch: Epoch, signal: Signal) -> Vec<Action> {
        let mut actions = Vec::new();
        if epoch < self.epoch {
            return actions; // meant for a connection that is gone
        }
        if epoch > self.epoch {
            // They rebuilt the connection (the `rebuild` itself may have been lost).
            actions.extend(self.rebuild(now, epoch, FirstOffer::Theirs));
        }
        match signal {
            Signal::Offer { sdp } => {
                let collision = self.exchange != Exchange::Stable;
                if collision && !self.polite {
                    return actions; // ours wins; theirs is ignored
                }
                // (For the polite side, applying theirs rolls ours back.)
                self.exchange = Exchange::Answering;
                self.described = true;
                self.described_at = now;
                actions.push(Action::AcceptOffer { sdp });
                actions.extend(self.flush_pending());
            }
            Signal::Answer { sdp } => {
                if let Exchange::OfferOut { .. } = self.exchange {
                    self.exchange = Exchange::Stable;
                    self.described = true;
                    self.described_at = now;
                    actions.push(Action::AcceptAnswer { sdp });
                    actions.extend(self.flush_pending());
                }
                // Otherwise it answers an offer we took back: nothing to apply it to.
            }
            candidate @ Signal::Candidate { .. } => {
                if self.described {
                    actions.push(Action::AddCandidate(candidate));
                } else if self.pending.len() < MAX_PENDING_CANDIDATES {
                    self.pending.push(candidate);
                }
            }
            Signal::Rebuild => {} // done above, when the epoch went up
        }
        actions
    }

    fn flush_pending(&mut self) -> Vec<Action> {
        self.pending.drain(..).map(Action::AddCandidate).collect()
    }

    /// Starts this connection over under `epoch`.
    fn rebuild(&mut self, now: Millis, epoch: Epoch, first_offer: FirstOffer) -> Vec<Action> {
        *self = Self {
            epoch,
            ..Self::new(self.polite, first_offer, now)
        };
        vec![Action::Rebuild { epoch }]
    }

    fn link_changed(&mut self, now: Millis, link: Link) -> Vec<Action> {
        if link == self.link {
            return Vec::new();
        }
        self.link = link;
        self.link_since = now;
        match link {
            Link::Connected => {
                self.restarted_at = None;
                Vec::new()
            }
            Link::Failed if !self.polite && self.restarted_at.is_none() => self.restart_ice(now),
            _ => Vec::new(),
        }
    }

    fn restart_ice(&mut self, now: Millis) -> Vec<Action> {
        self.restarted_at = Some(now);
        let mut actions = vec![Action::RestartIce];
        // Offer at once rather than wait for negotiationneeded (which comes too, and is
        // then ignored as an exchange is under way).
        if self.exchange == Exchange::Stable {
            actions.extend(self.make_offer(now, 0));
        }
        actions
    }

    fn tick(&mut self, now: Millis) -> Vec<Action> {
        // An offer that got no answer is made again.
        if let Exchange::OfferOut { since, tries } = self.exchange {
            let timeout = (ANSWER_TIMEOUT * u64::from(tries + 1)).min(MAX_ANSWER_TIMEOUT);
            if now.saturating_sub(since) >= timeout {
                return self.offer_again(now, tries);
            }
            return Vec::new();
        }
        if self.exchange != Exchange::Stable {
            return Vec::new();
        }
        // A connection that never negotiated: offer (theirs may have been lost).
        if !self.described {
            let wait = match self.first_offer {
                FirstOffer::Ours => OWN_OFFER_WAIT,
                FirstOffer::Theirs => FIRST_OFFER_WAIT,
            };
            let since = self.last_offer_at.unwrap_or(self.born);
            if now.saturating_sub(since) >= wait {
                return self.make_offer(now, 0);
            }
            return Vec::new();
        }
        if self.link == Link::Connected {
            return Vec::new();
        }
        let stuck_for = now.saturating_sub(self.link_since.max(self.described_at));
        if self.polite {
            // A backstop only: the impolite side looks after ICE.
            if self.link != Link::New && stuck_for >= POLITE_REBUILD_AFTER {
                let next = Epoch(self.epoch.0 + 1);
                let mut actions = self.rebuild(now, next, FirstOffer::Ours);
                actions.push(self.send(Signal::Rebuild));
                return actions;
            }
            return Vec::new();
        }
        // The impolite side looks after ICE.
        if let Some(restarted) = self.restarted_at {
            if now.saturating_sub(restarted) >= REBUILD_AFTER {
                let next = Epoch(self.epoch.0 + 1);
                let mut actions = self.rebuild(now, next, FirstOffer::Ours);
                actions.push(self.send(Signal::Rebuild));
                return actions;
            }
            return Vec::new();
        }
        let restart = match self.link {
            Link::Failed => true,
            Link::Disconnected => stuck_for >= DISCONNECTED_GRACE,
            Link::New | Link::Connecting => stuck_for >= CONNECT_TIMEOUT,
            Link::Connected => false,
        };
        if restart {
            self.restart_ice(now)
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests;
