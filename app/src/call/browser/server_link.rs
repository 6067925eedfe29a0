//! The call's one connection to the server's forwarding unit, for a meeting whose
//! transport is `sfu`: the microphone and camera go up once, and everyone else's
//! cameras and microphones come down on receive slots, lines the server adds a few
//! at a time as the meeting grows (its offers arrive over signaling as `sfu_offer`),
//! each carrying one person at a time (`server_slots`). A presentation comes on a
//! line of its own, in a stream named by the presenter's peer id.
//!
//! The camera goes up in simulcast layers (quarter, half and full size): the server
//! sends each of the others the layer that fits the tile they show it in, which they
//! say as `tiles_shown` (see `tiles`).
//!
//! Negotiation is simple here: we offer once, then only the server offers. Each step
//! waits for the one before (an answer being applied while the server's next offer
//! arrives would find the connection in the wrong state), so they run in order.

use super::connection::{add_simulcast_camera, limit_sender, new_connection, replace_track};
use super::local::LocalMedia;
use super::server_slots::ServerSlots;
use super::shims::{self, describe, log};
use super::stats;
use super::tiles::ShownTiles;
use super::Call;
use crate::call::details::{ConnectionDetails, Route, Sample};
use crate::call::video_budget::SendLimit;
use crate::call::Device;
use crate::protocol::{ClientMessage, PeerId, Signal};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStreamTrack, RtcPeerConnection, RtcPeerConnectionState, RtcRtpSender, RtcSdpType,
    RtcTrackEvent,
};

type Handler = Closure<dyn FnMut(JsValue)>;

/// One step of negotiation with the server.
enum Step {
    /// Our offer, the first thing on a new connection.
    Offer,
    /// The server's answer to it.
    Answer(String),
    /// An offer from the server (its tracks changed): answered.
    ServerOffer(String),
}

pub(super) struct ServerLink {
    pc: RtcPeerConnection,
    call: Weak<Call>,
    audio: Option<RtcRtpSender>,
    video: Option<RtcRtpSender>,
    /// Our presentation's line (always there, sending only while we present): the
    /// server forwards a sender's second video as their presentation.
    screen: Option<RtcRtpSender>,
    steps: RefCell<VecDeque<Step>>,
    running: Cell<bool>,
    /// The camera's limit last set.
    limited: Cell<Option<SendLimit>>,
    screen_limited: Cell<Option<SendLimit>>,
    last_sample: RefCell<Option<Sample>>,
    sampling: Cell<bool>,
    /// The cameras we show and how tall, as last told the server.
    pub(super) tiles: ShownTiles,
    /// Who our receive slots carry.
    pub(super) slots: ServerSlots,
    _handlers: Vec<Handler>,
}

impl ServerLink {
    /// Opens the connection with our tracks and sends our offer.
    pub(super) fn open(call: &Rc<Call>) -> Result<Rc<Self>, JsValue> {
        let pc = new_connection(&call.ice.borrow())?;
        let (mut audio, mut video) = (None, None);
        if let Some(local) = &call.local {
            if let Some(track) = local.microphone() {
                audio = Some(pc.add_track_0(&track, &local.stream));
            }
            match local.camera() {
                Some(track) => video = Some(add_simulcast_camera(&pc, &track, &local.stream, true)),
                // A camera that is off now: a line for it all the same, so turning
                // it on needs only replaceTrack.
                None if local.has_camera() => {
                    if let Some(stand_in) = shims::blank_video_track() {
                        let sender = add_simulcast_camera(&pc, &stand_in, &local.stream, false);
                        replace_track(&sender, None);
                        stand_in.stop();
                        video = Some(sender);
                    }
                }
                None => {}
            }
        }
        let screen = match call.presenting() {
            Some((track, stream)) => Some(pc.add_track_0(&track, stream)),
            None => shims::blank_video_track().map(|stand_in| {
                let sender = pc.add_track_0(&stand_in, &call.screen_stream);
                replace_track(&sender, None);
                stand_in.stop();
                sender
            }),
        };
        let weak = Rc::downgrade(call);
        let on_track: Handler = Closure::new(move |event: JsValue| {
            let event: RtcTrackEvent = event.unchecked_into();
            if let Some(call) = weak.upgrade() {
                call.server_track(&event);
            }
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        // Everyone's media comes this way: when it drops, everyone's tile says so.
        let weak = Rc::downgrade(call);
        let watched = pc.clone();
        let on_state: Handler = Closure::new(move |_: JsValue| {
            let reachable = match watched.connection_state() {
                RtcPeerConnectionState::Connected => true,
                RtcPeerConnectionState::Disconnected | RtcPeerConnectionState::Failed => false,
                _ => return,
            };
            if let Some(call) = weak.upgrade() {
                call.server_media_reachable(reachable);
            }
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        let link = Rc::new(Self {
            pc,
            call: Rc::downgrade(call),
            audio,
            video,
            screen,
            steps: RefCell::new(VecDeque::new()),
            running: Cell::new(false),
            limited: Cell::new(None),
            screen_limited: Cell::new(None),
            last_sample: RefCell::new(None),
            sampling: Cell::new(false),
            tiles: ShownTiles::new(Rc::downgrade(call)),
            slots: ServerSlots::default(),
            _handlers: vec![on_track, on_state],
        });
        if let Some(local) = &call.local {
            link.use_local_tracks(local);
        }
        link.push(Step::Offer);
        Ok(link)
    }

    /// The server answered our offer.
    pub(super) fn answered(self: &Rc<Self>, sdp: String) {
        self.push(Step::Answer(sdp));
    }

    /// The server offers (tracks of others came or went).
    pub(super) fn offered(self: &Rc<Self>, sdp: String) {
        self.push(Step::ServerOffer(sdp));
    }

    fn push(self: &Rc<Self>, step: Step) {
        self.steps.borrow_mut().push_back(step);
        if self.running.replace(true) {
            return;
        }
        let link = self.clone();
        leptos::task::spawn_local(async move {
            loop {
                let next = link.steps.borrow_mut().pop_front();
                let Some(step) = next else { break };
                if let Err(error) = link.take(step).await {
                    log(&format!(
                        "the connection to the server's media failed a step: {}",
                        describe(error)
                    ));
                }
            }
            link.running.set(false);
        });
    }

    async fn take(&self, step: Step) -> Result<(), JsValue> {
        match step {
            Step::Offer => {
                if let Signal::Offer { sdp } = shims::set_local_description(&self.pc).await? {
                    self.send(ClientMessage::SfuOffer { sdp });
                }
            }
            Step::Answer(sdp) => {
                let answer = shims::description(RtcSdpType::Answer, &sdp);
                JsFuture::from(self.pc.set_remote_description(&answer)).await?;
            }
            Step::ServerOffer(sdp) => {
                let offer = shims::description(RtcSdpType::Offer, &sdp);
                JsFuture::from(self.pc.set_remote_description(&offer)).await?;
                if let Signal::Answer { sdp } = shims::set_local_description(&self.pc).await? {
                    self.send(ClientMessage::SfuAnswer { sdp });
                }
            }
        }
        Ok(())
    }

    fn send(&self, message: ClientMessage) {
        if let Some(call) = self.call.upgrade() {
            call.send(&message);
        }
    }

    /// Sends the local tracks there are now (a microphone switched off sends nothing).
    pub(super) fn use_local_tracks(&self, local: &LocalMedia) {
        let microphone = local
            .microphone()
            .filter(|_| local.wants(Device::Microphone));
        for (sender, track) in [(&self.audio, microphone), (&self.video, local.camera())] {
            let Some(sender) = sender else { continue };
            if sender.track() != track {
                replace_track(sender, track.as_ref());
            }
        }
    }

    /// Sends our presentation (or, with `None`, stops sending one).
    pub(super) fn present(&self, track: Option<&MediaStreamTrack>) {
        if let Some(sender) = &self.screen {
            replace_track(sender, track);
        }
    }

    /// Keeps the presentation within `limit`.
    pub(super) fn limit_screen(&self, limit: SendLimit) {
        apply_limit(
            self.screen.as_ref(),
            &self.screen_limited,
            limit,
            "presentation",
        );
    }

    /// Keeps the camera within `limit` (its whole budget: it is sent once).
    pub(super) fn limit_video(&self, limit: SendLimit) {
        apply_limit(self.video.as_ref(), &self.limited, limit, "video");
    }

    /// Reads the connection's figures; everyone's details say them (all media goes
    /// over this one connection).
    pub(super) fn read_details(self: &Rc<Self>) {
        if self.sampling.replace(true) {
            return;
        }
        let link = self.clone();
        leptos::task::spawn_local(async move {
            if let Some(mut sample) = stats::sample(&link.pc, shims::now()).await {
                // All of it goes through the server; reaching it by TURN is said too.
                sample.route = sample.route.map(|route| match route {
                    Route::Relayed => Route::ThroughServerRelayed,
                    _ => Route::ThroughServer,
                });
                let previous = link.last_sample.replace(Some(sample.clone()));
                let details = ConnectionDetails::from_samples(previous.as_ref(), &sample);
                if let Some(call) = link.call.upgrade() {
                    let remotes = call.state.remotes.try_get_untracked().unwrap_or_default();
                    for remote in remotes {
                        remote.details.try_set(Some(details.clone()));
                    }
                }
            }
            link.sampling.set(false);
        });
    }

    /// The connection itself.
    pub(super) fn connection(&self) -> RtcPeerConnection {
        self.pc.clone()
    }

    pub(super) fn close(&self) {
        self.tiles.close();
        self.pc.set_ontrack(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
    }
}

/// Sets `limit` on `sender` (the `what` of log lines) unless `applied` says it is set.
fn apply_limit(
    sender: Option<&RtcRtpSender>,
    applied: &Cell<Option<SendLimit>>,
    limit: SendLimit,
    what: &'static str,
) {
    if applied.get() == Some(limit) {
        return;
    }
    let Some(setting) = sender.and_then(|sender| limit_sender(sender, limit)) else {
        return;
    };
    applied.set(Some(limit));
    leptos::task::spawn_local(async move {
        if let Err(error) = JsFuture::from(setting).await {
            log(&format!(
                "could not limit the {what} sent: {}",
                describe(error)
            ));
        }
    });
}

/// Whose presentation a stream from the server is: the server names it by the
/// presenter's peer id and `-screen`.
pub(super) fn presenter(stream_id: &str) -> Option<PeerId> {
    let id = stream_id.strip_suffix(PRESENTATION_SUFFIX)?;
    id.parse().ok().map(PeerId)
}

/// Ends the stream id of a presentation forwarded by the server.
const PRESENTATION_SUFFIX: &str = "-screen";
