//! The call in the browser: the camera and microphone ([`local`]), the signaling
//! connection ([`socket`], driven by [`signaling`]), one RTCPeerConnection per other
//! participant ([`peer`], a full mesh kept by [`mesh`]), and the [`Call`] here that
//! ties them together and handles what the server says ([`incoming`]). The page
//! reaches it through [`CallHandle`]. The rules they follow are plain Rust, tested
//! without a browser: `call::negotiation` for each connection, `call::session` for the
//! signaling connection.
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
mod incoming;
mod levels;
mod local;
mod mesh;
mod meter;
mod moving;
mod peer;
mod screen;
mod server_link;
mod server_slots;
mod shims;
mod signaling;
mod socket;
mod stats;
mod tiles;

pub use devices::{can_choose_speaker, play_on};
pub use handle::{remembered_name, CallHandle};

use super::route::Route;
use super::session::{Pacer, Seen, Silence};
use super::CallState;
use crate::protocol::{
    ClientMessage, IceServer, IceTransportPolicy, MediaState, PeerId, SessionLimits, Transport,
};
use crate::room_code::RoomCode;
use leptos::prelude::*;
use levels::AudioLevels;
use local::LocalMedia;
use peer::Peer;
use server_link::ServerLink;
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
    /// Whether the current socket is asking to join (it keeps pinging meanwhile).
    asking: bool,
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
    /// How the meeting's media travels (the server says), which way each tile's
    /// stream came, and the move between the ways (`moving`).
    route: RefCell<Route>,
    /// Streams from the way being moved to, kept until they play.
    held: RefCell<HashMap<PeerId, moving::Held>>,
    move_watch: RefCell<Option<IntervalHandle>>,
    checking_held: Cell<bool>,
    /// The one connection to the server's forwarding unit, when it is the transport.
    server_link: RefCell<Option<Rc<ServerLink>>>,
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
    /// Reconnects at once when the browser is back online.
    online_listener: RefCell<Option<WindowListenerHandle>>,
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
            route: RefCell::new(Route::new(Transport::Mesh, 0)),
            held: RefCell::new(HashMap::new()),
            move_watch: RefCell::new(None),
            checking_held: Cell::new(false),
            server_link: RefCell::new(None),
            streams: RefCell::new(HashMap::new()),
            screens: RefCell::new(HashMap::new()),
            presentation: RefCell::new(None),
            screen_stream: MediaStream::new().ok()?,
            levels: AudioLevels::new(),
            closing: Cell::new(false),
            details_read_at: Cell::new(0),
            ticker: RefCell::new(None),
            speaking_reader: RefCell::new(None),
            online_listener: RefCell::new(None),
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
        // Back online: the old socket is probably dead; do not wait to find out.
        let weak = Rc::downgrade(&call);
        let online = window_event_listener_untyped("online", move |_| {
            if let Some(call) = weak.upgrade() {
                log("back online: reconnecting to Parley");
                call.reconnect_now();
            }
        });
        *call.online_listener.borrow_mut() = Some(online);
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
            if let Some(link) = &*self.server_link.borrow() {
                link.use_local_tracks(local);
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

    /// Sends a host action (or an admit); the server checks it.
    fn moderate(self: &Rc<Self>, message: ClientMessage) {
        self.send(&message);
    }

    /// Opens (again) the connection to the server's forwarding unit.
    fn open_server_link(self: &Rc<Self>) {
        if let Some(old) = self.server_link.take() {
            old.close();
        }
        match ServerLink::open(self) {
            Ok(link) => *self.server_link.borrow_mut() = Some(link),
            Err(error) => log(&format!(
                "could not connect to the server's media: {}",
                shims::describe(error)
            )),
        }
    }

    /// A track from the server: a presentation names its presenter by its stream.
    /// (Cameras and microphones come on slots, and `sfu_slots` says whose they are.)
    fn server_track(self: &Rc<Self>, event: &web_sys::RtcTrackEvent) {
        let Ok(stream) = wasm_bindgen::JsCast::dyn_into::<MediaStream>(event.streams().get(0))
        else {
            return;
        };
        if let Some(them) = server_link::presenter(&stream.id()) {
            if let Some(remote) = self.state.remote(them) {
                self.show_screen(them, &remote, stream);
            }
        }
    }

    /// Raises or lowers our hand; the server answers with our place in the queue.
    fn raise_hand(self: &Rc<Self>, raised: bool) {
        self.send(&ClientMessage::Hand { raised });
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
        for reader in [
            self.ticker.take(),
            self.speaking_reader.take(),
            self.move_watch.take(),
        ]
        .into_iter()
        .flatten()
        {
            reader.clear();
        }
        if let Some(listener) = self.online_listener.take() {
            listener.remove();
        }
        self.drop_peers();
        if let Some(link) = self.server_link.take() {
            link.close();
        }
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
