//! The call in the browser: the camera and microphone, the signaling WebSocket, and one
//! RTCPeerConnection per other participant (a full mesh).
//!
//! The newcomer makes the first offer to everyone already in the room; they wait for
//! it rather than offer at the same time. (Colliding first offers are settled by the
//! rules below, but Chromium sometimes never gathers ICE candidates for a connection
//! whose first offer was rolled back, and then that pair never connects.) After that,
//! negotiation follows the "perfect negotiation" pattern: either side may offer at any
//! time; when offers collide, the polite side (the lower peer id) gives way and the
//! impolite side ignores the other's offer. ICE candidates trickle both ways and those
//! that arrive before the remote description are queued until it is set. Every few
//! seconds each connection is checked, and one that is stuck (never negotiated, or
//! ICE never started or failed) is started again.
//!
//! When the signaling connection drops, the call reconnects by itself (with growing
//! pauses) and joins again under a new peer id; the connections to the others are then
//! built afresh, as the others see the old id leave and the new one join.

use super::{CallState, Phase, Remote};
use crate::protocol::{
    ClientMessage, IceServer, IceTransportPolicy, MediaState, PeerId, PeerInfo, ServerMessage,
    Signal, PROTOCOL_VERSION,
};
use crate::room_code::RoomCode;
use futures_channel::mpsc;
use futures_util::StreamExt;
use js_sys::{Array, Reflect};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamConstraints, MediaStreamTrack, MessageEvent, RtcConfiguration,
    RtcIceCandidateInit, RtcIceServer, RtcIceTransportPolicy as JsPolicy, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcRtpTransceiverDirection,
    RtcRtpTransceiverInit, RtcSdpType, RtcSessionDescriptionInit, RtcSignalingState, RtcTrackEvent,
    WebSocket,
};

thread_local! {
    /// The call on this page, if any. Buttons reach it through the functions below.
    static CURRENT: RefCell<Option<Rc<Call>>> = const { RefCell::new(None) };
}

/// Where the display name is remembered between visits.
const NAME_KEY: &str = "parley.display_name";

/// Pauses before reconnecting to Parley after the signaling connection drops: the
/// first attempt comes quickly, then they space out up to the last value.
const RECONNECT_DELAYS_MS: [u64; 6] = [500, 1_000, 2_000, 4_000, 8_000, 10_000];

/// How often each connection is checked for being stuck (see `Call::watch`).
const WATCH_INTERVAL: Duration = Duration::from_secs(3);

pub fn remembered_name() -> Option<String> {
    let storage = web_sys::window()?.local_storage().ok()??;
    storage.get_item(NAME_KEY).ok()?
}

fn remember_name(name: &str) {
    if let Some(Ok(Some(storage))) = web_sys::window().map(|w| w.local_storage()) {
        let _ = storage.set_item(NAME_KEY, name);
    }
}

/// Joins `room` as `name`: asks for the camera and microphone, connects and joins.
pub fn join(state: CallState, room: RoomCode, name: String) {
    remember_name(&name);
    leave_quietly();
    state.phase.set(Phase::Joining);
    state.problem.set(None);
    state.notice.set(None);
    leptos::task::spawn_local(async move {
        let local = open_camera(state).await;
        let call = Call::new(state, room, name, local);
        match call.open_socket() {
            Ok(()) => CURRENT.with(|c| *c.borrow_mut() = Some(call)),
            Err(error) => {
                call.close();
                state
                    .problem
                    .set(Some(format!("Could not connect to Parley: {error}")));
                state.phase.set(Phase::Lobby);
            }
        }
    });
}

/// Leaves the meeting: tells the others, closes every connection, stops the camera.
pub fn leave(state: CallState) {
    if let Some(call) = CURRENT.with(|c| c.borrow_mut().take()) {
        call.send(&ClientMessage::Leave);
        call.close();
    }
    state.remotes.set(Vec::new());
    state.has_local_stream.set(false);
    state.phase.set(Phase::Left);
}

fn leave_quietly() {
    if let Some(call) = CURRENT.with(|c| c.borrow_mut().take()) {
        call.close();
    }
}

/// Switches the microphone (`audio`) or camera on or off and tells the room.
pub fn toggle(state: CallState, audio: bool) {
    let Some(call) = CURRENT.with(|c| c.borrow().clone()) else {
        return;
    };
    let mut media = state.my_media.get_untracked();
    let on = if audio {
        media.audio = !media.audio;
        media.audio
    } else {
        media.video = !media.video;
        media.video
    };
    if let Some(local) = &call.local {
        let tracks = if audio {
            local.get_audio_tracks()
        } else {
            local.get_video_tracks()
        };
        for track in tracks.iter() {
            track.unchecked_into::<MediaStreamTrack>().set_enabled(on);
        }
    }
    state.my_media.set(media);
    call.send(&ClientMessage::Media { media });
}

/// The stream to show in a participant's tile (`None` for the self view).
pub fn stream_of(peer: Option<PeerId>) -> Option<MediaStream> {
    CURRENT.with(|c| {
        let call = c.borrow().clone()?;
        match peer {
            None => call.local.clone(),
            Some(id) => call.streams.borrow().get(&id).cloned(),
        }
    })
}

/// Asks for camera and microphone, falling back to less, and says what is missing.
async fn open_camera(state: CallState) -> Option<MediaStream> {
    for (audio, video) in [(true, true), (true, false), (false, true)] {
        if let Ok(stream) = get_user_media(audio, video).await {
            let devices = MediaState { audio, video };
            state.my_devices.set(devices);
            state.my_media.set(devices);
            state.has_local_stream.set(true);
            match (audio, video) {
                (true, true) => {}
                (true, false) => state.notice.set(Some(
                    "Your camera is unavailable or blocked: you joined with audio only.".into(),
                )),
                _ => state.notice.set(Some(
                    "Your microphone is unavailable or blocked: others can see but not hear you."
                        .into(),
                )),
            }
            return Some(stream);
        }
    }
    let nothing = MediaState {
        audio: false,
        video: false,
    };
    state.my_devices.set(nothing);
    state.my_media.set(nothing);
    state.notice.set(Some(
        "Your camera and microphone are unavailable or blocked: you can see and hear others, but they can't see or hear you."
            .into(),
    ));
    None
}

async fn get_user_media(audio: bool, video: bool) -> Result<MediaStream, JsValue> {
    let devices = web_sys::window()
        .ok_or_else(|| JsValue::from_str("no window"))?
        .navigator()
        .media_devices()?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio_bool(audio);
    constraints.set_video_bool(video);
    let stream = JsFuture::from(devices.get_user_media_with_constraints(&constraints)?).await?;
    stream.dyn_into()
}

/// A JavaScript event handler written in Rust, kept alive as long as its target.
type Handler = Closure<dyn FnMut(JsValue)>;

/// Which side of a new connection makes the first offer: the one who joined later.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FirstOffer {
    /// They were in the room before us (they came in our welcome).
    Ours,
    /// They joined after us.
    Theirs,
}

/// One other participant's connection.
struct Peer {
    pc: RtcPeerConnection,
    polite: bool,
    /// Whether the other side makes the first offer (they joined after us).
    awaits_first_offer: bool,
    making_offer: Cell<bool>,
    ignore_offer: Cell<bool>,
    /// Candidates that came before the remote description.
    pending: RefCell<Vec<RtcIceCandidateInit>>,
    /// The event handlers, kept alive as long as the connection.
    handlers: RefCell<Vec<Handler>>,
}

impl Peer {
    /// Closes the connection and detaches its handlers, so no event reaches a
    /// handler that is about to be dropped.
    fn shut_down(&self) {
        self.pc.set_onicecandidate(None);
        self.pc.set_ontrack(None);
        self.pc.set_onnegotiationneeded(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
    }
}

/// The signaling socket and the handlers attached to it.
struct Socket {
    ws: WebSocket,
    _handlers: Vec<Handler>,
}

impl Socket {
    /// Detaches the handlers (so no event reaches a dropped one) and closes the socket.
    fn shut_down(&self) {
        self.ws.set_onmessage(None);
        self.ws.set_onopen(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The live call.
struct Call {
    state: CallState,
    room: RoomCode,
    name: String,
    /// The current signaling connection; replaced when it drops and Parley is reached again.
    socket: RefCell<Option<Socket>>,
    /// Where every socket's messages go, to be handled one at a time, in order, even
    /// though handling one (setting descriptions) waits on the browser.
    inbox: mpsc::UnboundedSender<ServerMessage>,
    local: Option<MediaStream>,
    me: Cell<Option<PeerId>>,
    /// Whether the current socket has been welcomed into the room.
    welcomed: Cell<bool>,
    /// Reconnection attempts since the last welcome.
    reconnects: Cell<usize>,
    ice: RefCell<(Vec<IceServer>, IceTransportPolicy)>,
    peers: RefCell<HashMap<PeerId, Rc<Peer>>>,
    streams: RefCell<HashMap<PeerId, MediaStream>>,
    closing: Cell<bool>,
}

impl Call {
    fn new(state: CallState, room: RoomCode, name: String, local: Option<MediaStream>) -> Rc<Self> {
        let (inbox, mut messages) = mpsc::unbounded::<ServerMessage>();
        let call = Rc::new(Self {
            state,
            room,
            name,
            socket: RefCell::new(None),
            inbox,
            local,
            me: Cell::new(None),
            welcomed: Cell::new(false),
            reconnects: Cell::new(0),
            ice: RefCell::new((Vec::new(), IceTransportPolicy::All)),
            peers: RefCell::new(HashMap::new()),
            streams: RefCell::new(HashMap::new()),
            closing: Cell::new(false),
        });
        let weak = Rc::downgrade(&call);
        leptos::task::spawn_local(async move {
            while let Some(message) = messages.next().await {
                let Some(call) = weak.upgrade() else { break };
                call.handle(message).await;
            }
        });
        call
    }

    /// Opens a signaling connection that joins the room once open.
    fn open_socket(self: &Rc<Self>) -> Result<(), String> {
        let location = web_sys::window().ok_or("no window")?.location();
        let scheme = match location.protocol().map_err(describe)?.as_str() {
            "https:" => "wss",
            _ => "ws",
        };
        let url = format!("{scheme}://{}/ws", location.host().map_err(describe)?);
        let ws = WebSocket::new(&url).map_err(describe)?;

        let inbox = self.inbox.clone();
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(text) = event.unchecked_into::<MessageEvent>().data().as_string() else {
                return;
            };
            match serde_json::from_str::<ServerMessage>(&text) {
                Ok(message) => {
                    let _ = inbox.unbounded_send(message);
                }
                Err(error) => log(&format!("unreadable signaling message: {error}")),
            }
        });
        let weak = Rc::downgrade(self);
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(call) = weak.upgrade() {
                call.send(&ClientMessage::Join {
                    version: PROTOCOL_VERSION,
                    room: call.room.clone(),
                    name: call.name.clone(),
                    media: call.state.my_media.get_untracked(),
                });
            }
        });
        let weak = Rc::downgrade(self);
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(call) = weak.upgrade() {
                if !call.closing.get() {
                    call.reconnect_later();
                }
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        self.welcomed.set(false);
        let socket = Socket {
            ws,
            _handlers: vec![on_message, on_open, on_close],
        };
        if let Some(old) = self.socket.replace(Some(socket)) {
            old.shut_down();
        }
        Ok(())
    }

    /// Says the connection dropped and tries again after a pause. Connected calls go
    /// on meanwhile; they are rebuilt once Parley welcomes us back.
    fn reconnect_later(self: &Rc<Self>) {
        let attempt = self.reconnects.get();
        self.reconnects.set(attempt + 1);
        let delay = RECONNECT_DELAYS_MS[attempt.min(RECONNECT_DELAYS_MS.len() - 1)];
        self.state.problem.set(Some(
            "The connection to Parley was lost. Reconnecting…".into(),
        ));
        let weak = Rc::downgrade(self);
        set_timeout(
            move || {
                let Some(call) = weak.upgrade() else { return };
                if call.closing.get() {
                    return;
                }
                if let Err(error) = call.open_socket() {
                    log(&format!("could not reconnect: {error}"));
                    call.reconnect_later();
                }
            },
            Duration::from_millis(delay),
        );
    }

    fn send(&self, message: &ClientMessage) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        if let Some(socket) = self.socket.borrow().as_ref() {
            let _ = socket.ws.send_with_str(&text);
        }
    }

    /// Closes every connection to the others.
    fn drop_peers(&self) {
        for (_, peer) in self.peers.borrow_mut().drain() {
            peer.shut_down();
        }
        self.streams.borrow_mut().clear();
        self.state.remotes.set(Vec::new());
    }

    fn close(&self) {
        self.closing.set(true);
        self.drop_peers();
        if let Some(local) = &self.local {
            for track in local.get_tracks().iter() {
                track.unchecked_into::<MediaStreamTrack>().stop();
            }
        }
        if let Some(socket) = self.socket.take() {
            socket.shut_down();
        }
    }

    async fn handle(self: &Rc<Self>, message: ServerMessage) {
        match message {
            ServerMessage::Welcome {
                you,
                peers,
                ice_servers,
                ice_transport_policy,
                ..
            } => {
                if self.me.get().is_some() {
                    // Back after a dropped connection: the others knew us by another
                    // id and are setting up new connections, as we do here.
                    self.drop_peers();
                }
                self.state.problem.set(None);
                self.me.set(Some(you));
                self.welcomed.set(true);
                self.reconnects.set(0);
                *self.ice.borrow_mut() = (ice_servers, ice_transport_policy);
                self.state.phase.set(Phase::InCall);
                for peer in peers {
                    self.add_peer(peer, FirstOffer::Ours);
                }
            }
            ServerMessage::PeerJoined { peer } => self.add_peer(peer, FirstOffer::Theirs),
            ServerMessage::PeerLeft { id, .. } => self.remove_peer(id),
            ServerMessage::Media { from, media } => {
                self.state.update_remote(from, |r| r.media = media);
            }
            ServerMessage::Signal { from, signal } => {
                let peer = self.peers.borrow().get(&from).cloned();
                if let Some(peer) = peer {
                    if let Err(error) = self.on_signal(from, &peer, signal).await {
                        log(&format!(
                            "negotiation with {from} failed: {}",
                            describe(error)
                        ));
                    }
                }
            }
            ServerMessage::Error { code, message } => {
                log(&format!("Parley refused a message ({code:?}): {message}"));
                if !self.welcomed.get() {
                    // The join itself failed: nothing else will happen on this connection.
                    self.close();
                    self.state.has_local_stream.set(false);
                    self.state.problem.set(Some(message));
                    self.state.phase.set(Phase::Lobby);
                }
            }
        }
    }

    fn add_peer(self: &Rc<Self>, info: PeerInfo, first_offer: FirstOffer) {
        let Some(me) = self.me.get() else { return };
        match self.new_peer(me, info.id, first_offer) {
            Ok(peer) => {
                self.peers.borrow_mut().insert(info.id, peer);
                self.state.remotes.update(|remotes| {
                    remotes.retain(|r| r.id != info.id);
                    remotes.push(Remote {
                        id: info.id,
                        name: info.name,
                        media: info.media,
                        has_stream: false,
                        connecting: true,
                    });
                });
            }
            Err(error) => log(&format!(
                "could not set up a connection: {}",
                describe(error)
            )),
        }
    }

    fn remove_peer(&self, id: PeerId) {
        if let Some(peer) = self.peers.borrow_mut().remove(&id) {
            peer.shut_down();
        }
        self.streams.borrow_mut().remove(&id);
        self.state
            .remotes
            .update(|remotes| remotes.retain(|r| r.id != id));
    }

    fn new_peer(
        self: &Rc<Self>,
        me: PeerId,
        them: PeerId,
        first_offer: FirstOffer,
    ) -> Result<Rc<Peer>, JsValue> {
        let (servers, policy) = self.ice.borrow().clone();
        let config = RtcConfiguration::new();
        let list = Array::new();
        for server in servers {
            let entry = RtcIceServer::new();
            let urls = Array::new();
            for url in server.urls {
                urls.push(&JsValue::from_str(&url));
            }
            entry.set_urls(&urls);
            if let Some(username) = &server.username {
                entry.set_username(username);
            }
            if let Some(credential) = &server.credential {
                entry.set_credential(credential);
            }
            list.push(&entry);
        }
        config.set_ice_servers(&list);
        if policy == IceTransportPolicy::Relay {
            config.set_ice_transport_policy(JsPolicy::Relay);
        }
        let pc = RtcPeerConnection::new_with_configuration(&config)?;

        // Send what we have; receive both kinds whatever we send.
        let mut sending = MediaState {
            audio: false,
            video: false,
        };
        if let Some(local) = &self.local {
            for track in local.get_tracks().iter() {
                let track: MediaStreamTrack = track.unchecked_into();
                match track.kind().as_str() {
                    "audio" => sending.audio = true,
                    _ => sending.video = true,
                }
                pc.add_track_0(&track, local);
            }
        }
        for (kind, sent) in [("audio", sending.audio), ("video", sending.video)] {
            if !sent {
                let init = RtcRtpTransceiverInit::new();
                init.set_direction(RtcRtpTransceiverDirection::Recvonly);
                pc.add_transceiver_with_str_and_init(kind, &init);
            }
        }

        let mut handlers = Vec::new();
        let weak = Rc::downgrade(self);
        let gathered = Cell::new(0_u32);
        let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let event: RtcPeerConnectionIceEvent = event.unchecked_into();
            let Some(call) = weak.upgrade() else { return };
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
            call.send(&ClientMessage::Signal {
                to: them,
                signal: Signal::Candidate {
                    candidate: candidate.candidate(),
                    sdp_mid: candidate.sdp_mid(),
                    sdp_m_line_index: candidate.sdp_m_line_index(),
                },
            });
        });
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        handlers.push(on_candidate);

        let weak = Rc::downgrade(self);
        let on_track = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let event: RtcTrackEvent = event.unchecked_into();
            let Some(call) = weak.upgrade() else { return };
            let stream = match event.streams().get(0).dyn_into::<MediaStream>() {
                Ok(stream) => stream,
                Err(_) => {
                    // A track without a stream: collect it into one of our own.
                    let existing = call.streams.borrow().get(&them).cloned();
                    let stream = existing.unwrap_or_else(|| {
                        MediaStream::new().expect("MediaStream can be constructed")
                    });
                    stream.add_track(&event.track());
                    stream
                }
            };
            call.streams.borrow_mut().insert(them, stream);
            // Re-set so the tile picks up the (possibly new) stream.
            call.state.update_remote(them, |r| r.has_stream = false);
            call.state.update_remote(them, |r| r.has_stream = true);
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        handlers.push(on_track);

        // The tile says "Connecting…" until media can flow, and again if it stops.
        let weak = Rc::downgrade(self);
        let pc_for_state = pc.clone();
        let on_state = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let Some(call) = weak.upgrade() else { return };
            let connected = pc_for_state.connection_state() == RtcPeerConnectionState::Connected;
            call.state
                .update_remote(them, |r| r.connecting = !connected);
        });
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        handlers.push(on_state);

        let peer = Rc::new(Peer {
            pc,
            polite: me < them,
            awaits_first_offer: first_offer == FirstOffer::Theirs,
            making_offer: Cell::new(false),
            ignore_offer: Cell::new(false),
            pending: RefCell::new(Vec::new()),
            handlers: RefCell::new(handlers),
        });

        let weak = Rc::downgrade(self);
        let weak_peer = Rc::downgrade(&peer);
        let on_negotiation = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let (Some(call), Some(peer)) = (weak.upgrade(), weak_peer.upgrade()) {
                if peer.awaits_first_offer && peer.pc.remote_description().is_none() {
                    // Their first offer is on its way; answering it negotiates our
                    // tracks too.
                    return;
                }
                call.offer_soon(them, peer);
            }
        });
        peer.pc
            .set_onnegotiationneeded(Some(on_negotiation.as_ref().unchecked_ref()));
        peer.handlers.borrow_mut().push(on_negotiation);
        self.watch(them, &peer, 0);
        Ok(peer)
    }

    /// Checks on a connection every few seconds while it lives, and starts over what
    /// is stuck: a connection that never began negotiating (no offer or answer ever
    /// applied; one check later when the other side makes the first offer) gets a
    /// fresh offer; one that negotiated but whose ICE never started
    /// (two checks in a row) or failed restarts ICE. Either side may do this; offers
    /// that collide are settled as usual.
    fn watch(self: &Rc<Self>, them: PeerId, peer: &Rc<Peer>, stuck_checks: u32) {
        let weak = Rc::downgrade(self);
        let weak_peer = Rc::downgrade(peer);
        set_timeout(
            move || {
                let (Some(call), Some(peer)) = (weak.upgrade(), weak_peer.upgrade()) else {
                    return;
                };
                if peer.pc.signaling_state() == RtcSignalingState::Closed {
                    return;
                }
                let idle = peer.pc.signaling_state() == RtcSignalingState::Stable
                    && !peer.making_offer.get();
                let negotiated = peer.pc.remote_description().is_some();
                let waited = stuck_checks >= 1;
                let mut stuck = 0;
                match peer.pc.connection_state() {
                    // Their first offer may only be slow: give it one more check.
                    RtcPeerConnectionState::New
                        if idle && !negotiated && peer.awaits_first_offer && !waited =>
                    {
                        stuck = stuck_checks + 1
                    }
                    RtcPeerConnectionState::New if idle && !negotiated => {
                        log(&format!(
                            "the connection to {them} never started; offering again"
                        ));
                        call.offer_soon(them, peer.clone());
                    }
                    RtcPeerConnectionState::New if idle && waited => {
                        log(&format!("ICE to {them} never started; restarting it"));
                        restart_ice(&peer.pc);
                    }
                    RtcPeerConnectionState::New if idle => stuck = stuck_checks + 1,
                    RtcPeerConnectionState::Failed if idle => {
                        log(&format!("the connection to {them} failed; restarting ICE"));
                        restart_ice(&peer.pc);
                    }
                    _ => {}
                }
                call.watch(them, &peer, stuck);
            },
            WATCH_INTERVAL,
        );
    }

    /// Starts `make_offer` in the background; `making_offer` is cleared when it ends,
    /// whether it worked or not.
    fn offer_soon(self: &Rc<Self>, them: PeerId, peer: Rc<Peer>) {
        let call = self.clone();
        leptos::task::spawn_local(async move {
            if let Err(error) = call.make_offer(them, &peer).await {
                log(&format!("offer to {them} failed: {}", describe(error)));
            }
            peer.making_offer.set(false);
        });
    }

    async fn make_offer(&self, them: PeerId, peer: &Peer) -> Result<(), JsValue> {
        peer.making_offer.set(true);
        // Usually an offer; an answer if the other side's offer got in first.
        let signal = set_local_description(&peer.pc).await?;
        self.send(&ClientMessage::Signal { to: them, signal });
        Ok(())
    }

    /// Applies an offer, answer or candidate from `from` (perfect negotiation).
    async fn on_signal(&self, from: PeerId, peer: &Peer, signal: Signal) -> Result<(), JsValue> {
        let (kind, sdp) = match signal {
            Signal::Offer { sdp } => (RtcSdpType::Offer, sdp),
            Signal::Answer { sdp } => (RtcSdpType::Answer, sdp),
            Signal::Candidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            } => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                if peer.pc.remote_description().is_none() {
                    peer.pending.borrow_mut().push(init);
                    return Ok(());
                }
                return add_candidate(peer, &init).await;
            }
        };
        let offer = kind == RtcSdpType::Offer;
        let collision = offer
            && (peer.making_offer.get() || peer.pc.signaling_state() != RtcSignalingState::Stable);
        peer.ignore_offer.set(!peer.polite && collision);
        if peer.ignore_offer.get() {
            return Ok(());
        }
        let description = description(kind, &sdp);
        // For the polite side in a collision this rolls its own offer back implicitly.
        JsFuture::from(peer.pc.set_remote_description(&description)).await?;
        let queued: Vec<_> = peer.pending.borrow_mut().drain(..).collect();
        for candidate in queued {
            add_candidate(peer, &candidate).await?;
        }
        if offer {
            let signal = set_local_description(&peer.pc).await?;
            self.send(&ClientMessage::Signal { to: from, signal });
        }
        Ok(())
    }
}

async fn add_candidate(peer: &Peer, candidate: &RtcIceCandidateInit) -> Result<(), JsValue> {
    let added = JsFuture::from(
        peer.pc
            .add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(candidate)),
    )
    .await;
    match added {
        // Candidates for an offer we ignored are expected to fail.
        Err(_) if peer.ignore_offer.get() => Ok(()),
        other => other.map(|_| ()),
    }
}

/// `pc.restartIce()` (not in web-sys): new ICE credentials and a fresh offer, through
/// the negotiationneeded event.
fn restart_ice(pc: &RtcPeerConnection) {
    if let Err(error) = call_method(pc, "restartIce") {
        log(&format!("could not restart ICE: {}", describe(error)));
    }
}

/// Calls `pc[name]()` by name, for the methods web-sys does not have.
fn call_method(pc: &RtcPeerConnection, name: &str) -> Result<JsValue, JsValue> {
    let method: js_sys::Function = Reflect::get(pc, &JsValue::from_str(name))?.dyn_into()?;
    method.call0(pc)
}

fn description(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let description = RtcSessionDescriptionInit::new(kind);
    description.set_sdp(sdp);
    description
}

/// `pc.setLocalDescription()` with no argument: the browser creates and applies the
/// offer or answer that the connection's state calls for, in one step, so no remote
/// description can slip in between creating it and applying it (web-sys only has the
/// one-argument form). Returns it as the signal to send.
async fn set_local_description(pc: &RtcPeerConnection) -> Result<Signal, JsValue> {
    let promise: js_sys::Promise = call_method(pc, "setLocalDescription")?.dyn_into()?;
    JsFuture::from(promise).await?;
    let local = pc
        .local_description()
        .ok_or_else(|| JsValue::from_str("no local description after setting it"))?;
    let sdp = local.sdp();
    match local.type_() {
        RtcSdpType::Offer => Ok(Signal::Offer { sdp }),
        RtcSdpType::Answer => Ok(Signal::Answer { sdp }),
        other => Err(JsValue::from_str(&format!(
            "unexpected local description {other:?}"
        ))),
    }
}

fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| {
            Reflect::get(&error, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{error:?}"))
}

fn log(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}
