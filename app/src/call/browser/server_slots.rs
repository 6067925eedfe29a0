//! The others' cameras and microphones through the server: they come on the receive
//! slots of our connection to it, and the server says who each slot carries
//! (`sfu_slots`, kept by `call::slot_map`). Each person gets a stream of their own
//! made of the tracks of the slots carrying them, offered to their tile like a stream
//! from the mesh (during a move, held until it plays).

use super::moving::carry_tracks;
use super::Call;
use crate::call::slot_map::SlotMap;
use crate::protocol::{PeerId, SlotCarries, Transport};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{MediaStream, MediaStreamTrack, RtcPeerConnection, RtcRtpTransceiver};

/// Who the slots of one connection to the server carry, and each person's stream.
#[derive(Default)]
pub(super) struct ServerSlots {
    map: RefCell<SlotMap>,
    streams: RefCell<HashMap<PeerId, MediaStream>>,
}

impl ServerSlots {
    /// Takes the server's news: the streams of those whose slots changed, made of the
    /// tracks of the slots carrying them now.
    fn changed(&self, pc: &RtcPeerConnection, news: &[SlotCarries]) -> Vec<(PeerId, MediaStream)> {
        let affected = self.map.borrow_mut().apply(news);
        affected
            .into_iter()
            .filter_map(|peer| {
                let tracks: Vec<MediaStreamTrack> = self
                    .map
                    .borrow()
                    .slots_of(peer)
                    .into_iter()
                    .filter_map(|mid| slot_track(pc, mid))
                    .collect();
                let stream = self.stream_of(peer)?;
                let wanted = MediaStream::new().ok()?;
                for track in &tracks {
                    wanted.add_track(track);
                }
                carry_tracks(&stream, &wanted);
                Some((peer, stream))
            })
            .collect()
    }

    /// `peer`'s stream through the server (empty until a slot carries them).
    fn stream_of(&self, peer: PeerId) -> Option<MediaStream> {
        if let Some(stream) = self.streams.borrow().get(&peer) {
            return Some(Clone::clone(stream));
        }
        let stream = MediaStream::new().ok()?;
        self.streams
            .borrow_mut()
            .insert(peer, Clone::clone(&stream));
        Some(stream)
    }

    /// `peer` left.
    pub(super) fn forget(&self, peer: PeerId) {
        self.streams.borrow_mut().remove(&peer);
    }
}

/// The track of the slot whose line is `mid`.
fn slot_track(pc: &RtcPeerConnection, mid: &str) -> Option<MediaStreamTrack> {
    pc.get_transceivers()
        .iter()
        .filter_map(|t| t.dyn_into::<RtcRtpTransceiver>().ok())
        .find(|t| t.mid().as_deref() == Some(mid))
        .map(|t| t.receiver().track())
}

impl Call {
    /// The server says who our slots carry now: their tiles get their tracks.
    pub(super) fn slots_changed(self: &Rc<Self>, news: Vec<SlotCarries>) {
        let Some(link) = self.server_link.borrow().clone() else {
            return;
        };
        for (them, stream) in link.slots.changed(&link.connection(), &news) {
            if self.state.remote(them).is_none() {
                // Gone (their slots said nobody after they left): nothing to keep.
                link.slots.forget(them);
                continue;
            }
            let audio = stream
                .get_audio_tracks()
                .iter()
                .next()
                .and_then(|t| t.dyn_into::<MediaStreamTrack>().ok());
            if let Some(levels) = &self.levels {
                match audio {
                    Some(track) => levels.watch(them, &track),
                    None if self.transport() == Transport::Sfu => levels.forget(them),
                    None => {}
                }
            }
            self.offer_stream(them, stream, Transport::Sfu);
        }
    }

    /// During a move to the server: whoever has neither camera nor microphone on has
    /// no slot to wait for, and moves at once (their empty stream through the server).
    pub(super) fn offer_silent_streams(self: &Rc<Self>) {
        let Some(link) = self.server_link.borrow().clone() else {
            return;
        };
        let remotes = self.state.remotes.try_get_untracked().unwrap_or_default();
        for remote in remotes {
            let silent = remote
                .media
                .try_with_untracked(|m| !m.audio && !m.video)
                .unwrap_or(false);
            if silent && self.shown_via(remote.id) != Some(Transport::Sfu) {
                if let Some(stream) = link.slots.stream_of(remote.id) {
                    self.offer_stream(remote.id, stream, Transport::Sfu);
                }
            }
        }
    }
}
