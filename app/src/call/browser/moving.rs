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

/// How far apart the old way's connections close.
const CLOSE_SPACING: Duration = Duration::from_millis(250);
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

    /// Everyone has moved to `transport`: the other way closes, for each person as
    /// soon as their stream from the new way plays (at most [`CLOSE_AFTER`] later).
    pub(super) fn transport_settled(self: &Rc<Self>, transport: Transport) {
        if !self.route.borrow_mut().settle(transport, shims::now()) {
            return;
        }
        if self.route.borrow().has_moved() {
            log(&format!(
                "the meeting's media moved: {transport:?}, after {} ms",
                self.route.borrow().moving_for(shims::now())
            ));
        }
        self.close_old_way(false);
        self.watch_move();
    }

    /// Closes the old way, for those who play the new way (everyone, with `all`:
    /// what is still held shows as it is).
    fn close_old_way(self: &Rc<Self>, all: bool) {
        let transport = self.transport();
        if all {
            let held: Vec<(PeerId, Held)> = self.held.borrow_mut().drain().collect();
            for (them, held) in held {
                if held.via == transport {
                    self.show_stream(them, held.stream, held.via);
                }
            }
        }
        let mut closed = false;
        match transport {
            Transport::Sfu => {
                let waiting: Vec<PeerId> = self.held.borrow().keys().copied().collect();
                let closing: Vec<Rc<Peer>> = {
                    let mut peers = self.peers.borrow_mut();
                    let ids: Vec<PeerId> = peers
                        .keys()
                        .filter(|id| !waiting.contains(id))
                        .copied()
                        .collect();
                    ids.iter().filter_map(|id| peers.remove(id)).collect()
                };
                for (n, peer) in closing.into_iter().enumerate() {
                    peer.remote.status.try_set(LinkStatus::Connected);
                    // Closing a connection is a moment's work for the browser: spread
                    // out, and apart from the other browsers (told at the same
                    // instant), so that no picture stalls meanwhile.
                    let delay = CLOSE_SPACING * (n as u32 + 1)
                        + Duration::from_millis((shims::random() * 300.0) as u64);
                    set_timeout(move || peer.close(), delay);
                    closed = true;
                }
            }
            Transport::Mesh => {
                if self.held.borrow().is_empty() {
                    if let Some(link) = self.server_link.take() {
                        link.close();
                        closed = true;
                    }
                }
                for peer in self.peers.borrow().values() {
                    peer.refresh_status();
                }
            }
        }
        if closed {
            self.limit_video();
        }
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

    /// Their tile plays `stream`'s tracks. The tile keeps one stream of its own and
    /// only its tracks change, so that the element playing it switches from one way
    /// to the other without loading a new stream.
    fn show_stream(&self, them: PeerId, stream: MediaStream, via: Transport) {
        self.route.borrow_mut().showing(them, via);
        let tile = self.streams.borrow().get(&them).cloned();
        match tile {
            Some(tile) => carry_tracks(&tile, &stream),
            None => {
                let Ok(tile) = MediaStream::new() else {
                    return;
                };
                carry_tracks(&tile, &stream);
                self.streams.borrow_mut().insert(them, tile);
                if let Some(remote) = self.state.remote(them) {
                    remote.stream.try_update(|version| *version += 1);
                }
            }
        }
        match via {
            Transport::Sfu => {
                if let Some(remote) = self.state.remote(them) {
                    if remote.status.try_get_untracked() != Some(LinkStatus::Connected) {
                        remote.status.try_set(LinkStatus::Connected);
                    }
                }
            }
            Transport::Mesh => {
                if let Some(peer) = self.peers.borrow().get(&them) {
                    peer.refresh_status();
                }
            }
        }
    }

    /// The connection to the server's media went down (or came back): the tiles of
    /// everyone shown through it say "Reconnecting…" meanwhile.
    pub(super) fn server_media_reachable(&self, reachable: bool) {
        let status = if reachable {
            LinkStatus::Connected
        } else {
            LinkStatus::Reconnecting
        };
        let remotes = self.state.remotes.try_get_untracked().unwrap_or_default();
        for remote in remotes {
            if self.shown_via(remote.id) == Some(Transport::Sfu)
                && remote.status.try_get_untracked() != Some(status)
            {
                remote.status.try_set(status);
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
            if self.route.borrow().has_moved() {
                log(&format!(
                    "everyone plays through {transport:?} after {} ms",
                    self.route.borrow().moving_for(shims::now())
                ));
            }
            self.send(&ClientMessage::TransportReady { transport });
        }
        if self.transport() == Transport::Sfu && self.route.borrow().moving() {
            self.offer_silent_streams();
        }
        self.promote_playing();
        let (moving, closing_time) = {
            let route = self.route.borrow();
            (route.moving(), route.closing_time(shims::now()))
        };
        if !moving {
            self.close_old_way(closing_time);
        }
        let done = !moving && self.held.borrow().is_empty();
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
                // (The stream itself: `.clone()` would be JavaScript's, a copy.)
                (*them, Clone::clone(&held.stream), held.via, pc)
            })
            .collect();
        let call = self.clone();
        leptos::task::spawn_local(async move {
            for (them, stream, via, pc) in waiting {
                // With their camera on, once its video is being decoded (a stream
                // may show its audio first); with it off, at once.
                let playing = match (video_of(&stream), pc) {
                    _ if !call.camera_on(them) => true,
                    (Some(track), Some(pc)) => super::stats::decoding(&pc, &track.id()).await,
                    _ => false,
                };
                let still_held = call
                    .held
                    .borrow()
                    .get(&them)
                    .is_some_and(|h| h.stream == stream);
                if playing && still_held {
                    if call.route.borrow().has_moved() {
                        log(&format!(
                            "{them} plays through {via:?}, {} ms into the move",
                            call.route.borrow().moving_for(shims::now())
                        ));
                    }
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

/// Makes `tile` carry `source`'s tracks, and only those.
pub(super) fn carry_tracks(tile: &MediaStream, source: &MediaStream) {
    if tile == source {
        return;
    }
    let tracks = |stream: &MediaStream| -> Vec<MediaStreamTrack> {
        stream
            .get_tracks()
            .iter()
            .filter_map(|track| track.dyn_into::<MediaStreamTrack>().ok())
            .collect()
    };
    let wanted = tracks(source);
    for current in tracks(tile) {
        if !wanted.contains(&current) {
            tile.remove_track(&current);
        }
    }
    for track in &wanted {
        if tile.get_track_by_id(&track.id()).is_none() {
            tile.add_track(track);
        }
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
