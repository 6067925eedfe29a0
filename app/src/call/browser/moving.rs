//! Moving the call between the mesh and the server's media port as the server says
//! (the rules: `call::route`). The new way opens while the old one plays; each
//! person's tile switches to their stream from the new way once its video is being
//! decoded; we say `transport_ready` when every tile has switched; the old way closes
//! when the server says the move has settled.

use super::peer::Peer;
use super::shims::{self, describe, log};
use super::Call;
use crate::call::negotiation::FirstOffer;
use crate::call::route::{Arrival, Route};
use crate::call::{LinkStatus, Remote};
use crate::protocol::{ClientMessage, PeerId, Transport};
use leptos::prelude::*;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use web_sys::{MediaStream, MediaStreamTrack, RtcPeerConnection};

/// How often a move looks at the streams it holds and at whether to say ready.
const MOVE_CHECK: Duration = Duration::from_millis(100);

/// A stream from the new way, kept until it plays.
pub(super) struct Held {
    stream: MediaStream,
    via: Transport,
}

impl Call {
    pub(super) fn transport(&self) -> Transport {
        self.route.borrow().target()
    }

    /// The server's welcome (or resume) says how the meeting's media travels.
    pub(super) fn start_route(self: &Rc<Self>, transport: Transport) {
        *self.route.borrow_mut() = Route::new(transport, shims::now());
        self.held.borrow_mut().clear();
        self.watch_move();
    }

    /// The server restarted; it says the meeting's media travels by `transport`.
    pub(super) fn restart_route(self: &Rc<Self>, transport: Transport) {
        let before = self.transport();
        self.route.borrow_mut().restart(transport, shims::now());
        if before != transport {
            self.open_way(transport);
        }
        self.watch_move();
    }

    /// The meeting moves to `to`: the new way opens beside the old one.
    pub(super) fn change_transport(self: &Rc<Self>, to: Transport) {
        if !self.route.borrow_mut().change(to, shims::now()) {
            return;
        }
        log(&format!("the meeting's media moves: {to:?}"));
        self.open_way(to);
        self.watch_move();
    }

    fn open_way(self: &Rc<Self>, to: Transport) {
        match to {
            Transport::Sfu => {
                if self.server_link.borrow().is_none() {
                    self.open_server_link();
                }
            }
            Transport::Mesh => self.open_mesh(),
        }
        self.limit_video();
    }

    /// A connection to everyone we have none with (the lower peer id offers).
    fn open_mesh(self: &Rc<Self>) {
        let Some(me) = self.session.borrow().me else {
            return;
        };
        let remotes = self.state.remotes.try_get_untracked().unwrap_or_default();
        for remote in remotes {
            if self.peers.borrow().contains_key(&remote.id) {
                continue;
            }
            let first = if me < remote.id {
                FirstOffer::Ours
            } else {
                FirstOffer::Theirs
            };
            match Peer::open(self, me, remote, first) {
                Ok(peer) => {
                    self.peers.borrow_mut().insert(remote.id, peer);
                }
                Err(error) => log(&format!(
                    "could not set up a connection: {}",
                    describe(error)
                )),
            }
        }
    }

    /// Everyone has moved to `transport`: the other way closes.
    pub(super) fn transport_settled(self: &Rc<Self>, transport: Transport) {
        if !self.route.borrow_mut().settle(transport) {
            return;
        }
        log(&format!("the meeting's media moved: {transport:?}"));
        // Whatever is still held shows now (the old way is going).
        let held: Vec<(PeerId, Held)> = self.held.borrow_mut().drain().collect();
        for (them, held) in held {
            if held.via == transport {
                self.show_stream(them, held.stream, held.via);
            }
        }
        match transport {
            Transport::Sfu => {
                let peers: Vec<Rc<Peer>> =
                    self.peers.borrow_mut().drain().map(|(_, p)| p).collect();
                for peer in peers {
                    peer.close();
                    peer.remote.status.try_set(LinkStatus::Connected);
                }
            }
            Transport::Mesh => {
                if let Some(link) = self.server_link.take() {
                    link.close();
                }
                for peer in self.peers.borrow().values() {
                    peer.refresh_status();
                }
            }
        }
        self.limit_video();
    }

    /// A stream from `them` arrived `via` one way: shown, held until it plays, or
    /// ignored (a late one from the way being left).
    pub(super) fn offer_stream(self: &Rc<Self>, them: PeerId, stream: MediaStream, via: Transport) {
        let arrival = self.route.borrow().arrived(them, via);
        match arrival {
            Arrival::Show => {
                self.held.borrow_mut().remove(&them);
                self.show_stream(them, stream, via);
            }
            Arrival::HoldUntilPlaying => {
                self.held.borrow_mut().insert(them, Held { stream, via });
                self.watch_move();
            }
            Arrival::Ignore => {}
        }
    }

    /// Their tile plays `stream`.
    fn show_stream(&self, them: PeerId, stream: MediaStream, via: Transport) {
        self.route.borrow_mut().showing(them, via);
        let same = self.streams.borrow().get(&them) == Some(&stream);
        if !same {
            self.streams.borrow_mut().insert(them, stream);
            if let Some(remote) = self.state.remote(them) {
                remote.stream.try_update(|version| *version += 1);
                if via == Transport::Sfu {
                    remote.status.try_set(LinkStatus::Connected);
                }
            }
        }
        if via == Transport::Mesh {
            if let Some(peer) = self.peers.borrow().get(&them) {
                peer.refresh_status();
            }
        }
    }

    /// Which way the stream their tile plays came.
    pub(super) fn shown_via(&self, them: PeerId) -> Option<Transport> {
        self.route.borrow().shown_via(them)
    }

    /// Looks at a move every [`MOVE_CHECK`] while one is under way.
    fn watch_move(self: &Rc<Self>) {
        if self.move_watch.borrow().is_some() {
            return;
        }
        let weak = Rc::downgrade(self);
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if let Some(call) = weak.upgrade() {
                    call.check_move();
                }
            },
            MOVE_CHECK,
        ) {
            *self.move_watch.borrow_mut() = Some(handle);
        }
    }

    fn check_move(self: &Rc<Self>) {
        let everyone: Vec<PeerId> = self
            .state
            .remotes
            .try_with_untracked(|remotes| remotes.iter().map(|r| r.id).collect())
            .unwrap_or_default();
        if self
            .route
            .borrow_mut()
            .ready_to_say(&everyone, shims::now())
        {
            let transport = self.transport();
            self.send(&ClientMessage::TransportReady { transport });
        }
        self.promote_playing();
        let done = !self.route.borrow().moving() && self.held.borrow().is_empty();
        if done {
            if let Some(handle) = self.move_watch.take() {
                handle.clear();
            }
        }
    }

    /// Shows each held stream whose video is being decoded (or that has no video to
    /// wait for).
    fn promote_playing(self: &Rc<Self>) {
        if self.checking_held.replace(true) {
            return;
        }
        let waiting: Vec<(PeerId, MediaStream, Transport, Option<RtcPeerConnection>)> = self
            .held
            .borrow()
            .iter()
            .map(|(them, held)| {
                let pc = match held.via {
                    Transport::Sfu => self.server_link.borrow().as_ref().map(|l| l.connection()),
                    Transport::Mesh => self.peers.borrow().get(them).map(|p| p.connection()),
                };
                (*them, held.stream.clone(), held.via, pc)
            })
            .collect();
        let call = self.clone();
        leptos::task::spawn_local(async move {
            for (them, stream, via, pc) in waiting {
                let playing = match (video_of(&stream), pc) {
                    (None, _) => true,
                    (Some(_), _) if !call.camera_on(them) => true,
                    (Some(track), Some(pc)) => super::stats::decoding(&pc, &track.id()).await,
                    (Some(_), None) => false,
                };
                let still_held = call
                    .held
                    .borrow()
                    .get(&them)
                    .is_some_and(|h| h.stream == stream);
                if playing && still_held {
                    call.held.borrow_mut().remove(&them);
                    call.show_stream(them, stream, via);
                }
            }
            call.checking_held.set(false);
        });
    }

    fn camera_on(&self, them: PeerId) -> bool {
        self.state
            .remote(them)
            .and_then(|remote: Remote| remote.media.try_with_untracked(|m| m.video))
            .unwrap_or(false)
    }
}

/// The stream's video track, if it has one.
fn video_of(stream: &MediaStream) -> Option<MediaStreamTrack> {
    stream
        .get_video_tracks()
        .iter()
        .next()
        .and_then(|track| track.dyn_into::<MediaStreamTrack>().ok())
}
