//! One other participant's RTCPeerConnection. The decisions are [`Negotiation`]'s;
//! this file turns the connection's events into its [`Event`]s and carries out its
//! [`Action`]s with web-sys, one at a time and in order (each waits on the browser),
//! on a queue of its own.

mod senders;
use super::connection::{new_connection, receive_every_kind, replace_track};
use super::local::LocalMedia;
use super::shims::{self, describe, log};
use super::stats;
use super::Call;
use crate::call::details::{ConnectionDetails, Sample};
use crate::call::negotiation::{Action, Event, FirstOffer, Link, Negotiation};
use crate::call::speaking::Speaking;
use crate::call::{LinkStatus, Remote};
use crate::protocol::{Epoch, PeerId, Signal, Transport};
use futures_channel::mpsc;
use futures_util::StreamExt;
use leptos::prelude::*;
use senders::Senders;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcIceCandidateInit, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState,
    RtcSdpType, RtcTrackEvent,
};

type Handler = Closure<dyn FnMut(JsValue)>;

/// The connection to one other participant.
pub struct Peer {
    them: PeerId,
    call: Weak<Call>,
    pub remote: Remote,
    pc: RefCell<RtcPeerConnection>,
    handlers: RefCell<Vec<Handler>>,
    /// What sends our microphone and our camera on the current connection.
    senders: RefCell<Senders>,
    rules: RefCell<Negotiation>,
    actions: mpsc::UnboundedSender<Action>,
    /// Whether this connection was ever up (then a drop says "Reconnecting…").
    ever_connected: Cell<bool>,
    /// Set while Parley says they are reconnecting; until when to wait for them.
    away_until: Cell<Option<u64>>,
    speaking: Cell<Speaking>,
    /// The last reading of the connection's statistics, and whether one is under way.
    last_sample: RefCell<Option<Sample>>,
    sampling: Cell<bool>,
}

impl Peer {
    /// Opens a connection to `them` and starts carrying out its negotiation.
    pub fn open(
        call: &Rc<Call>,
        me: PeerId,
        remote: Remote,
        first_offer: FirstOffer,
    ) -> Result<Rc<Self>, JsValue> {
        let them = remote.id;
        let (actions, mut queue) = mpsc::unbounded::<Action>();
        let pc = new_connection(&call.ice.borrow())?;
        let peer = Rc::new(Self {
            them,
            call: Rc::downgrade(call),
            remote,
            pc: RefCell::new(pc),
            handlers: RefCell::new(Vec::new()),
            senders: RefCell::new(Senders::default()),
            rules: RefCell::new(Negotiation::new(me < them, first_offer, shims::now())),
            actions,
            ever_connected: Cell::new(false),
            away_until: Cell::new(None),
            speaking: Cell::new(Speaking::default()),
            last_sample: RefCell::new(None),
            sampling: Cell::new(false),
        });
        peer.attach(Epoch::default(), call.local.as_deref());
        let weak = Rc::downgrade(&peer);
        leptos::task::spawn_local(async move {
            while let Some(action) = queue.next().await {
                let Some(peer) = weak.upgrade() else { break };
                peer.carry_out(action).await;
            }
        });
        Ok(peer)
    }

    /// Feeds an event to the negotiation and queues what it decides.
    pub fn feed(&self, event: Event) {
        let actions = self.rules.borrow_mut().handle(shims::now(), event);
        for action in actions {
            let _ = self.actions.unbounded_send(action);
        }
    }

    /// Takes how loud they are now (0.0 to 1.0) and shows whether they are speaking.
    pub fn listen(&self, level: f32) {
        let muted = !self
            .remote
            .media
            .try_get_untracked()
            .is_some_and(|m| m.audio);
        let mut speaking = self.speaking.get();
        let now = speaking.feed(level, muted);
        self.speaking.set(speaking);
        if self.remote.speaking.try_get_untracked() != Some(now) {
            self.remote.speaking.try_set(now);
        }
    }

    /// Reads the connection's statistics (in the background) into their details.
    pub fn read_details(self: &Rc<Self>) {
        if self.sampling.replace(true) {
            return;
        }
        let peer = Rc::clone(self);
        leptos::task::spawn_local(async move {
            let pc = peer.pc.borrow().clone();
            if let Some(sample) = stats::sample(&pc, shims::now()).await {
                let previous = peer.last_sample.replace(Some(sample.clone()));
                let details = ConnectionDetails::from_samples(previous.as_ref(), &sample);
                peer.remote.details.try_set(Some(details));
            }
            peer.sampling.set(false);
        });
    }

    /// Marks them as away (Parley lost their connection) until `until`, or back.
    pub fn set_away(&self, until: Option<u64>) {
        self.away_until.set(until);
        self.show_status();
    }

    /// Whether they have been away longer than Parley keeps anyone.
    pub fn gone_by(&self, now: u64) -> bool {
        self.away_until.get().is_some_and(|until| now >= until)
    }

    /// Closes the connection; no event of it arrives afterwards.
    pub fn close(&self) {
        self.detach();
        self.actions.close_channel();
    }

    /// Shows the connection's state on their tile again (it plays what came this way).
    pub fn refresh_status(&self) {
        self.show_status();
    }

    /// The connection now.
    pub fn connection(&self) -> RtcPeerConnection {
        self.pc.borrow().clone()
    }

    fn show_status(&self) {
        // While their tile plays what comes through the server (during a move), this
        // connection's state is not theirs.
        let through_server = self
            .call
            .upgrade()
            .is_some_and(|call| call.shown_via(self.them) == Some(Transport::Sfu));
        if through_server {
            return;
        }
        let link = self.rules.borrow().link();
        let status = if link == Link::Connected && self.away_until.get().is_none() {
            LinkStatus::Connected
        } else if self.ever_connected.get() || self.away_until.get().is_some() {
            LinkStatus::Reconnecting
        } else {
            LinkStatus::Connecting
        };
        if self.remote.status.try_get_untracked() != Some(status) {
            self.remote.status.try_set(status);
        }
    }

    /// Adds our tracks and the event handlers to the current connection, whose events
    /// count only while `epoch` is the negotiation's.
    fn attach(self: &Rc<Self>, epoch: Epoch, local: Option<&LocalMedia>) {
        let pc = self.pc.borrow().clone();
        // Each kind we can send gets a sender added with `addTrack`, so that the other
        // side's offer reuses it rather than adding a line of its own; a camera that
        // is off now gets a stand-in track, at once replaced by none, so turning it on
        // later needs only `replaceTrack`. (A kind we only receive is added by the
        // side that offers: see `receive_every_kind`.)
        let mut senders = Senders::default();
        if let Some(local) = local {
            if let Some(track) = local.microphone() {
                let sender = pc.add_track_0(&track, &local.stream);
                // Switched off: nothing is sent until it is on again.
                if !local.wants(crate::call::Device::Microphone) {
                    replace_track(&sender, None);
                }
                senders.audio = Some(sender);
            }
            match local.camera() {
                Some(track) => senders.video = Some(pc.add_track_0(&track, &local.stream)),
                None if local.has_camera() => {
                    if let Some(stand_in) = shims::blank_video_track() {
                        let sender = pc.add_track_0(&stand_in, &local.stream);
                        replace_track(&sender, None);
                        stand_in.stop();
                        senders.video = Some(sender);
                    }
                }
                None => {}
            }
        }
        if let Some((track, stream)) = self.call.upgrade().as_ref().and_then(|c| c.presenting()) {
            senders.screen = Some(pc.add_track_0(&track, stream));
        }
        *self.senders.borrow_mut() = senders;
        if self.rules.borrow().first_offer() == FirstOffer::Ours {
            // Our offer comes first: its lines are added now, which also asks for it
            // (negotiationneeded) when we have nothing to send.
            receive_every_kind(&pc);
        }

        let mut handlers = Vec::new();
        let gathered = Rc::new(Cell::new(0_u32));
        let them = self.them;
        handlers.push(self.on(epoch, move |peer, event| {
            let event: RtcPeerConnectionIceEvent = event.unchecked_into();
            let Some(candidate) = event.candidate() else {
                // Gathering is over. With no candidate at all, this connection cannot
                // work whatever the other side does; say so for whoever debugs it.
                if gathered.get() == 0 {
                    log(&format!(
                        "found no ICE candidates for the connection to {them}"
                    ));
                }
                return;
            };
            gathered.set(gathered.get() + 1);
            peer.feed(Event::LocalCandidate(Signal::Candidate {
                candidate: candidate.candidate(),
                sdp_mid: candidate.sdp_mid(),
                sdp_m_line_index: candidate.sdp_m_line_index(),
            }));
        }));
        pc.set_onicecandidate(Some(handlers[0].as_ref().unchecked_ref()));

        let on_track = self.on(epoch, |peer, event| {
            let event: RtcTrackEvent = event.unchecked_into();
            if let Some(call) = peer.call.upgrade() {
                call.show_track(peer.them, &peer.remote, &event, Transport::Mesh);
            }
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        handlers.push(on_track);

        let on_state = self.on(epoch, |peer, _| {
            let link = match peer.pc.borrow().connection_state() {
                RtcPeerConnectionState::Connecting => Link::Connecting,
                RtcPeerConnectionState::Connected => Link::Connected,
                RtcPeerConnectionState::Disconnected => Link::Disconnected,
                RtcPeerConnectionState::Failed => Link::Failed,
                _ => Link::New,
            };
            if link == Link::Connected {
                peer.ever_connected.set(true);
            }
            peer.feed(Event::Link(link));
            peer.show_status();
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        handlers.push(on_state);

        let on_negotiation = self.on(epoch, |peer, _| peer.feed(Event::NegotiationNeeded));
        pc.set_onnegotiationneeded(Some(on_negotiation.as_ref().unchecked_ref()));
        handlers.push(on_negotiation);
        *self.handlers.borrow_mut() = handlers;
    }

    /// A handler for the connection of `epoch`, reaching this peer while it lives.
    fn on(self: &Rc<Self>, epoch: Epoch, act: impl Fn(&Rc<Self>, JsValue) + 'static) -> Handler {
        let weak = Rc::downgrade(self);
        Handler::new(move |event: JsValue| {
            let Some(peer) = weak.upgrade() else { return };
            if peer.rules.borrow().epoch() == epoch {
                act(&peer, event);
            }
        })
    }

    fn detach(&self) {
        let pc = self.pc.borrow();
        pc.set_onicecandidate(None);
        pc.set_ontrack(None);
        pc.set_onnegotiationneeded(None);
        pc.set_onconnectionstatechange(None);
        pc.close();
        self.handlers.borrow_mut().clear();
    }

    async fn carry_out(self: &Rc<Self>, action: Action) {
        let pc = self.pc.borrow().clone();
        let them = self.them;
        match action {
            Action::Send { epoch, signal } => {
                if let Some(call) = self.call.upgrade() {
                    call.send_signal(them, epoch, signal);
                }
            }
            Action::MakeOffer => {
                receive_every_kind(&pc);
                match shims::set_local_description(&pc).await {
                    Ok(signal) => self.feed(Event::LocalDescription(signal)),
                    Err(error) => {
                        log(&format!(
                            "could not make an offer to {them}: {}",
                            describe(error)
                        ));
                        self.feed(Event::LocalDescriptionFailed);
                    }
                }
            }
            Action::AcceptOffer { sdp } => {
                let offer = shims::description(RtcSdpType::Offer, &sdp);
                let answered = async {
                    JsFuture::from(pc.set_remote_description(&offer)).await?;
                    shims::set_local_description(&pc).await
                };
                match answered.await {
                    Ok(signal) => self.feed(Event::LocalDescription(signal)),
                    Err(error) => {
                        log(&format!("could not answer {them}: {}", describe(error)));
                        self.feed(Event::LocalDescriptionFailed);
                    }
                }
            }
            Action::AcceptAnswer { sdp } => {
                let answer = shims::description(RtcSdpType::Answer, &sdp);
                if let Err(error) = JsFuture::from(pc.set_remote_description(&answer)).await {
                    log(&format!(
                        "could not apply the answer from {them}: {}",
                        describe(error)
                    ));
                }
            }
            Action::AddCandidate(Signal::Candidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            }) => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                // A candidate for an offer that was ignored or rolled back fails; harmless.
                let _ = JsFuture::from(
                    pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)),
                )
                .await;
            }
            Action::AddCandidate(_) => {}
            Action::RestartIce => {
                log(&format!("restarting ICE with {them}"));
                if let Err(error) = shims::restart_ice(&pc) {
                    log(&format!("could not restart ICE: {}", describe(error)));
                }
            }
            Action::Rebuild { epoch } => self.rebuild(epoch),
        }
    }

    /// Replaces the connection with a new one, for `epoch`.
    fn rebuild(self: &Rc<Self>, epoch: Epoch) {
        log(&format!(
            "rebuilding the connection to {} (epoch {})",
            self.them, epoch.0
        ));
        self.detach();
        let Some(call) = self.call.upgrade() else {
            return;
        };
        match new_connection(&call.ice.borrow()) {
            Ok(pc) => {
                *self.pc.borrow_mut() = pc;
                self.attach(epoch, call.local.as_deref());
            }
            Err(error) => log(&format!("could not rebuild: {}", describe(error))),
        }
        self.show_status();
    }
}
