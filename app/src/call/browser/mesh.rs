//! The mesh: a connection to each other participant, opened and closed as they come
//! and go, their tracks shown on their tiles, and who of them is speaking.

use super::peer::Peer;
use super::shims::{describe, log};
use super::{set_if_changed, Call};
use crate::call::negotiation::FirstOffer;
use crate::call::speaking::{self, Speaking};
use crate::call::video_budget::{video_limits, DEFAULT_BUDGET_KBPS};
use crate::call::{LinkStatus, Remote};
use crate::protocol::{PeerId, PeerInfo, Transport};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{MediaStream, RtcTrackEvent};

impl Call {
    pub(super) fn add_peer(self: &Rc<Self>, info: PeerInfo, first_offer: FirstOffer) {
        let Some(me) = self.session.borrow().me else {
            return;
        };
        let remote = Remote::new(info);
        if self.transport() == Transport::Sfu {
            // Their media comes on the connection to the server.
            remote.status.try_set(LinkStatus::Connected);
            self.state.add_remote(remote);
            return;
        }
        match Peer::open(self, me, remote, first_offer) {
            Ok(peer) => {
                self.peers.borrow_mut().insert(remote.id, peer);
                self.state.add_remote(remote);
                self.limit_video();
            }
            Err(error) => {
                remote.dispose();
                log(&format!(
                    "could not set up a connection: {}",
                    describe(error)
                ));
            }
        }
    }

    pub(super) fn remove_peer(&self, id: PeerId) {
        let removed_peer = self.peers.borrow_mut().remove(&id);
        if let Some(peer) = removed_peer {
            peer.close();
            self.limit_video();
        }
        self.streams.borrow_mut().remove(&id);
        if let Some(link) = &*self.server_link.borrow() {
            link.slots.forget(id);
        }
        self.held.borrow_mut().remove(&id);
        self.route.borrow_mut().forget(id);
        self.screens.borrow_mut().remove(&id);
        if let Some(levels) = &self.levels {
            levels.forget(id);
        }
        if let Some(remote) = self.state.remove_remote(id) {
            remote.dispose();
        }
    }

    /// Keeps every connection's video within the upload budget, shared among them
    /// (set again as people come and go, and as we start or stop presenting).
    pub(super) fn limit_video(&self) {
        let budget = self
            .session
            .borrow()
            .limits
            .map_or(DEFAULT_BUDGET_KBPS, |limits| limits.video_upload_kbps);
        let peers: Vec<Rc<Peer>> = self.peers.borrow().values().cloned().collect();
        if let Some(link) = &*self.server_link.borrow() {
            // Through the server the camera goes up once: its share is everything.
            let limits = video_limits(budget, 1, self.presenting().is_some());
            link.limit_video(limits.camera);
            if let Some(screen) = limits.screen {
                link.limit_screen(screen);
            }
        }
        let limits = video_limits(budget, peers.len(), self.presenting().is_some());
        for peer in peers {
            peer.limit_video(limits);
        }
    }

    /// Closes every connection to the others.
    pub(super) fn drop_peers(&self) {
        let ids: Vec<PeerId> = self.peers.borrow().keys().copied().collect();
        for id in ids {
            self.remove_peer(id);
        }
    }

    /// A track arrived from `them` `via` one way: their tile (or their presentation)
    /// takes the stream, if it is a new one (during a move, once it plays).
    pub(super) fn show_track(
        self: &Rc<Self>,
        them: PeerId,
        remote: &Remote,
        event: &RtcTrackEvent,
        via: Transport,
    ) {
        let track = event.track();
        if track.kind() == "audio" {
            if let Some(levels) = &self.levels {
                levels.watch(them, &track);
            }
        }
        let stream = match event.streams().get(0).dyn_into::<MediaStream>() {
            Ok(stream) => stream,
            Err(_) => {
                // A track without a stream: collect it into one of our own.
                let existing = self.streams.borrow().get(&them).cloned();
                let Some(stream) = existing.or_else(|| MediaStream::new().ok()) else {
                    return;
                };
                stream.add_track(&track);
                stream
            }
        };
        // Their media state names the stream of their presentation (they tell the
        // room before they send it).
        let screen = remote
            .media
            .try_with_untracked(|m| m.screen.clone())
            .flatten();
        if screen.is_some_and(|id| id.as_str() == stream.id()) {
            self.show_screen(them, remote, stream);
            return;
        }
        self.offer_stream(them, stream, via);
    }

    /// `stream` is their presentation.
    pub(super) fn show_screen(&self, them: PeerId, remote: &Remote, stream: MediaStream) {
        if self.screens.borrow().get(&them) != Some(&stream) {
            self.screens.borrow_mut().insert(them, stream);
            remote.screen.try_update(|version| *version += 1);
        }
    }

    /// Reads, a few times a second, who is speaking (the others and ourselves).
    pub(super) fn start_speaking_reader(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let me = Cell::new(Speaking::default());
        // Through the server there is no peer to keep each one's state: kept here.
        let through_server = RefCell::new(HashMap::<PeerId, Speaking>::new());
        if let Ok(reader) = set_interval_with_handle(
            move || {
                let Some(call) = weak.upgrade() else { return };
                for peer in call.peers.borrow().values() {
                    let level = call
                        .levels
                        .as_ref()
                        .map_or(0.0, |l| l.level(peer.remote.id));
                    peer.listen(level);
                }
                if call.transport() == Transport::Sfu {
                    let remotes = call.state.remotes.try_get_untracked().unwrap_or_default();
                    let mut states = through_server.borrow_mut();
                    states.retain(|id, _| remotes.iter().any(|r| r.id == *id));
                    for remote in remotes {
                        let level = call.levels.as_ref().map_or(0.0, |l| l.level(remote.id));
                        let muted = !remote
                            .media
                            .try_with_untracked(|m| m.audio)
                            .unwrap_or(false);
                        let now = states.entry(remote.id).or_default().feed(level, muted);
                        set_if_changed(remote.speaking, now);
                    }
                }
                let state = call.state;
                let muted = !state.my_media.try_get_untracked().is_some_and(|m| m.audio);
                let level = speaking::linear(state.mic_level.try_get_untracked().unwrap_or(0.0));
                let mut mine = me.get();
                let now = mine.feed(level, muted);
                me.set(mine);
                set_if_changed(state.my_speaking, now);
            },
            speaking::READ_EVERY,
        ) {
            *self.speaking_reader.borrow_mut() = Some(reader);
        }
    }
}
