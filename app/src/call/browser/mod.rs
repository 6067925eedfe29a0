//! The call in the browser: the camera and microphone ([`local`]), the signaling
//! connection ([`socket`], driven by [`signaling`]), one RTCPeerConnection per other
//! participant ([`peer`], a full mesh kept by [`mesh`]), and the [`Call`] here that ties them together
//! and handles what the server says. The page reaches it through [`CallHandle`]. The
//! rules they follow are plain Rust, tested without a browser: `call::negotiation`
//! for each connection, `call::session` for the signaling connection.
//!
//! The session survives a dropped socket: the client reconnects (with jittered
//! backoff, at once when the browser comes back online, and when the socket falls
//! silent) and resumes with the token from its welcome. It keeps its peer id and its
//! connections, and receives what it missed, each message once. After a server
//! restart the same resume works, since the token is checked against a key kept in
//! the database; negotiation then repeats whatever may have been lost.

mod chat;
mod connection;
mod devices;
mod handle;
mod levels;
mod local;
mod mesh;
mod meter;
mod peer;
mod screen;
mod shims;
mod signaling;
mod socket;
mod stats;

pub use devices::{can_choose_speaker, play_on};
pub use handle::{remembered_name, CallHandle};

use super::negotiation::{Event, FirstOffer};
use super::session::{Pacer, Seen, Silence};
use super::{CallState, Phase};
use crate::protocol::{
    ClientMessage, ErrorCode, IceServer, IceTransportPolicy, MediaState, PeerId, PeerInfo,
    ServerMessage, SessionLimits,
};
use crate::room_code::RoomCode;
use leptos::prelude::*;
use levels::AudioLevels;
use local::LocalMedia;
use peer::Peer;
use shims::log;
use socket::Socket;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;
use web_sys::MediaStream;

/// Sets `signal` to `value` unless it holds it already.
fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if signal.try_with_untracked(|current| *current != value) == Some(true) {
        signal.try_set(value);
    }
}

/// How often connections and the socket are looked after.
const TICK: Duration = Duration::from_secs(1);

/// Where the signaling session stands.
#[derive(Default)]
struct Session {
    me: Option<PeerId>,
    /// Proves who we are when resuming.
    token: Option<String>,
    seen: Seen,
    limits: Option<SessionLimits>,
    /// Whether the current socket was welcomed (or resumed) into the room.
    welcomed: bool,
    /// Reconnection attempts since the last welcome.
    attempts: u32,
    silence: Silence,
    last_ping: u64,
}

/// What waits to be sent, paced to the server's limit.
struct Outgoing {
    queue: VecDeque<String>,
    pacer: Option<Pacer>,
    flush_scheduled: bool,
}

/// The live call.
pub struct Call {
    state: CallState,
    room: RoomCode,
    name: String,
    local: Option<Rc<LocalMedia>>,
    /// The microphone and camera state the room last heard from us.
    sent_media: RefCell<MediaState>,
    socket: RefCell<Option<Socket>>,
    session: RefCell<Session>,
    outgoing: RefCell<Outgoing>,
    ice: RefCell<(Vec<IceServer>, IceTransportPolicy)>,
    peers: RefCell<HashMap<PeerId, Rc<Peer>>>,
    streams: RefCell<HashMap<PeerId, MediaStream>>,
    /// The others' presentations, while they present.
    screens: RefCell<HashMap<PeerId, MediaStream>>,
    /// What we present, while we do, and the stream it goes in (one for the call, so
    /// its id stays the same from one presentation to the next).
    presentation: RefCell<Option<screen::Presentation>>,
    screen_stream: MediaStream,
    /// How loud each of the others is (`None` without Web Audio).
    levels: Option<AudioLevels>,
    closing: Cell<bool>,
    /// When connection details were last read.
    details_read_at: Cell<u64>,
    ticker: RefCell<Option<IntervalHandle>>,
    speaking_reader: RefCell<Option<IntervalHandle>>,
    listeners: RefCell<Vec<WindowListenerHandle>>,
}

impl Call {
    fn new(
        state: CallState,
        room: RoomCode,
        name: String,
        local: Option<Rc<LocalMedia>>,
    ) -> Option<Rc<Self>> {
        let call = Rc::new(Self {
            state,
            room,
            name,
            local,
            sent_media: RefCell::new(state.my_media.get_untracked()),
            socket: RefCell::new(None),
            session: RefCell::new(Session::default()),
            outgoing: RefCell::new(Outgoing {
                queue: VecDeque::new(),
                pacer: None,
                flush_scheduled: false,
            }),
            ice: RefCell::new((Vec::new(), IceTransportPolicy::All)),
            peers: RefCell::new(HashMap::new()),
            streams: RefCell::new(HashMap::new()),
            screens: RefCell::new(HashMap::new()),
            presentation: RefCell::new(None),
            screen_stream: MediaStream::new().ok()?,
            levels: AudioLevels::new(),
            closing: Cell::new(false),
            details_read_at: Cell::new(0),
            ticker: RefCell::new(None),
            speaking_reader: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
        });
        let weak = Rc::downgrade(&call);
        if let Ok(ticker) = set_interval_with_handle(
            move || {
                if let Some(call) = weak.upgrade() {
                    call.tick();
                }
            },
            TICK,
        ) {
            *call.ticker.borrow_mut() = Some(ticker);
        }
        // Closing the tab or going to another site leaves the call at once.
        let weak = Rc::downgrade(&call);
        let pagehide = window_event_listener_untyped("pagehide", move |_| {
            if let Some(call) = weak.upgrade() {
                call.hang_up();
            }
        });
        // Back online: the old socket is probably dead; do not wait to find out.
        let weak = Rc::downgrade(&call);
        let online = window_event_listener_untyped("online", move |_| {
            if let Some(call) = weak.upgrade() {
                log("back online: reconnecting to Parley");
                call.reconnect_now();
            }
        });
        *call.listeners.borrow_mut() = vec![pagehide, online];
        call.start_speaking_reader();
        if let Some(local) = &call.local {
            let weak = Rc::downgrade(&call);
            local.on_change(move || {
                if let Some(call) = weak.upgrade() {
                    call.local_changed();
                }
            });
        }
        Some(call)
    }

    /// A local track came, went or was replaced: every connection sends the new one,
    /// and the room hears if the microphone or camera went on or off.
    fn local_changed(self: &Rc<Self>) {
        if let Some(local) = &self.local {
            for peer in self.peers.borrow().values() {
                peer.use_local_tracks(local);
            }
        }
        self.tell_media();
    }

    /// Tells the room our microphone and camera state, if it changed since it last heard.
    fn tell_media(self: &Rc<Self>) {
        let Some(media) = self.state.my_media.try_get_untracked() else {
            return;
        };
        if self.sent_media.replace(media.clone()) != media {
            self.send(&ClientMessage::Media { media });
        }
    }

    fn handle(self: &Rc<Self>, message: ServerMessage) {
        match message {
            ServerMessage::Welcome {
                you,
                peers,
                ice_servers,
                ice_transport_policy,
                token,
                limits,
                ..
            } => {
                if self.session.borrow().me.is_some() {
                    // Our old session could not be resumed: the others saw us leave
                    // and will connect to the new id afresh.
                    self.drop_peers();
                    self.outgoing.borrow_mut().queue.clear();
                }
                self.session.borrow_mut().seen.restart();
                self.welcomed(you, token, limits, (ice_servers, ice_transport_policy));
                for peer in peers {
                    self.add_peer(peer, FirstOffer::Ours);
                }
            }
            ServerMessage::Resumed {
                you,
                peers,
                ice_servers,
                ice_transport_policy,
                token,
                limits,
                complete,
            } => {
                self.welcomed(you, token, limits, (ice_servers, ice_transport_policy));
                if !complete {
                    // The server restarted: numbering starts over, messages may have
                    // been lost, and the room is only what came back so far.
                    self.session.borrow_mut().seen.restart();
                    self.reconcile(peers, limits);
                }
            }
            ServerMessage::PeerJoined { peer } => {
                let known = self.peers.borrow().get(&peer.id).cloned();
                match known {
                    // Back after their connection to Parley dropped.
                    Some(known) => {
                        known.remote.name.try_set(peer.name);
                        known.remote.media.try_set(peer.media);
                        known.remote.hand.try_set(peer.hand);
                        known.set_away(None);
                    }
                    None => self.add_peer(peer, FirstOffer::Theirs),
                }
            }
            ServerMessage::PeerReconnecting { id } => {
                let grace = self.grace_ms();
                if let Some(peer) = self.peers.borrow().get(&id) {
                    // Parley tells us when they leave; this is only a backstop.
                    peer.set_away(Some(shims::now() + grace * 2));
                }
            }
            ServerMessage::PeerLeft { id, .. } => self.remove_peer(id),
            ServerMessage::Media { from, media } => {
                if let Some(remote) = self.state.remote(from) {
                    remote.media.try_set(media);
                }
            }
            ServerMessage::Hand { from, hand } => {
                if self.session.borrow().me == Some(from) {
                    self.state.my_hand.try_set(hand);
                } else if let Some(remote) = self.state.remote(from) {
                    remote.hand.try_set(hand);
                }
            }
            ServerMessage::Signal {
                from,
                epoch,
                signal,
            } => {
                let peer = self.peers.borrow().get(&from).cloned();
                if let Some(peer) = peer {
                    peer.feed(Event::Remote { epoch, signal });
                }
            }
            ServerMessage::Chat { message } => self.chat_arrived(message),
            ServerMessage::ChatHistory { messages } => self.chat_history(messages),
            ServerMessage::Pong => {}
            ServerMessage::Error { code, message } => self.refused(code, message),
        }
    }

    /// What a welcome and a resume have in common.
    fn welcomed(
        self: &Rc<Self>,
        you: PeerId,
        token: String,
        limits: SessionLimits,
        ice: (Vec<IceServer>, IceTransportPolicy),
    ) {
        {
            let mut session = self.session.borrow_mut();
            session.me = Some(you);
            session.token = Some(token);
            session.limits = Some(limits);
            session.welcomed = true;
            session.attempts = 0;
        }
        self.outgoing.borrow_mut().pacer =
            Some(Pacer::new(limits.messages_per_second, shims::now()));
        *self.ice.borrow_mut() = ice;
        set_if_changed(self.state.my_id, Some(you));
        // Only on a change: setting a signal to the value it has still re-renders what
        // follows it, and a fresh stage would reload every video.
        set_if_changed(self.state.problem, None);
        set_if_changed(self.state.phase, Phase::InCall);
        self.flush();
    }

    /// After a restart: the server's room is whoever came back so far. Those we know
    /// keep their connections; those not back yet are waited for; newcomers are added.
    fn reconcile(self: &Rc<Self>, peers: Vec<PeerInfo>, limits: SessionLimits) {
        let until = shims::now() + limits.resume_grace_ms;
        let present: Vec<PeerId> = peers.iter().map(|p| p.id).collect();
        let known: Vec<Rc<Peer>> = self.peers.borrow().values().cloned().collect();
        for peer in &known {
            if !present.contains(&peer.remote.id) {
                peer.set_away(Some(until));
            }
            peer.feed(Event::SignalsMayBeLost);
        }
        for info in peers {
            let known = self.state.remote(info.id);
            match known {
                Some(remote) => {
                    remote.hand.try_set(info.hand);
                }
                None => self.add_peer(info, FirstOffer::Ours),
            }
        }
        // The restarted server forgot our hand: raise it again.
        if self.state.my_hand.try_get_untracked().flatten().is_some() {
            self.send(&ClientMessage::Hand { raised: true });
        }
    }

    /// Raises or lowers our hand; the server answers with our place in the queue.
    fn raise_hand(self: &Rc<Self>, raised: bool) {
        self.send(&ClientMessage::Hand { raised });
    }

    fn refused(self: &Rc<Self>, code: ErrorCode, message: String) {
        log(&format!("Parley refused a message ({code:?}): {message}"));
        if code == ErrorCode::ResumeRefused {
            // Our session is over (gone too long, or unknown): join as someone new.
            self.session.borrow_mut().token = None;
            let join = self.join_message();
            self.send_now(&join);
            return;
        }
        if code == ErrorCode::ChatRefused {
            self.state.chat_problem.try_set(Some(message));
            return;
        }
        if self.session.borrow().welcomed {
            return;
        }
        if code.is_transient() {
            // For instance the room is still full of our own ghost: try again shortly.
            if let Some(old) = self.socket.take() {
                old.shut_down();
            }
            self.reconnect_later(None);
            return;
        }
        // The join itself failed for good: nothing else will happen on this connection.
        self.hang_up();
        self.state.problem.try_set(Some(message));
        self.state.phase.try_set(Phase::Lobby);
    }

    fn grace_ms(&self) -> u64 {
        self.session
            .borrow()
            .limits
            .map_or(20_000, |l| l.resume_grace_ms)
    }

    /// Leaves: tells the room at once, closes every connection, stops the camera.
    fn hang_up(&self) {
        if self.closing.replace(true) {
            return;
        }
        self.send_now(&ClientMessage::Leave);
        for reader in [self.ticker.take(), self.speaking_reader.take()]
            .into_iter()
            .flatten()
        {
            reader.clear();
        }
        for listener in self.listeners.take() {
            listener.remove();
        }
        self.drop_peers();
        if let Some(presentation) = self.presentation.take() {
            presentation.stop();
        }
        if let Some(local) = &self.local {
            local.stop_listening();
        }
        if let Some(levels) = &self.levels {
            levels.close();
        }
        if let Some(socket) = self.socket.take() {
            socket.shut_down();
        }
    }
}
