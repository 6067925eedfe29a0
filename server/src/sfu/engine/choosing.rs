//! Choosing, for every receiver, which cameras their slots carry and in which layer
//! (every `CHOOSE_EVERY`, and whenever what they show or who sends changes).

use super::Engine;
use crate::sfu::clients::ArrivingByTrack;
use crate::sfu::pausing::paused_rids;
use crate::sfu::pool::Source;
use app::protocol::{PeerId, ServerMessage};
use app::room_code::RoomCode;
use std::collections::HashMap;
use std::time::Instant;
use str0m::media::MediaKind;

impl Engine {
    /// Chooses every receiver's layer of every simulcast camera; asks the senders for
    /// the keyframes the switches wait for.
    pub(super) fn choose_layers(&mut self, now: Instant) {
        let arriving: ArrivingByTrack = self
            .clients
            .values()
            .flat_map(|client| {
                client
                    .tracks_in
                    .iter()
                    .filter(|track| track.simulcast)
                    .map(|track| ((client.peer, track.mid), track.layers.arriving(now)))
            })
            .collect();
        let mut wanted = Vec::new();
        // A layer whose first keyframe was lost counts only once a keyframe says its
        // size: ask for one.
        for client in self.clients.values() {
            for track in client.tracks_in.iter().filter(|track| track.simulcast) {
                for layer in track.layers.size_unknown(now) {
                    wanted.push((client.peer, track.mid, Some(layer)));
                }
            }
        }
        // Each meeting's cameras and how many send audio.
        let mut senders: HashMap<RoomCode, (Vec<Source>, Vec<PeerId>)> = HashMap::new();
        for client in self.clients.values() {
            let (cameras, voices) = senders.entry(client.room.code().clone()).or_default();
            for track in &client.tracks_in {
                match track.kind {
                    MediaKind::Video if !track.presentation => {
                        cameras.push((client.peer, track.mid));
                    }
                    MediaKind::Audio => voices.push(client.peer),
                    _ => {}
                }
            }
        }
        for client in self.clients.values_mut() {
            let Some((cameras, voices)) = senders.get(client.room.code()) else {
                continue;
            };
            let others: Vec<Source> = cameras
                .iter()
                .filter(|(peer, _)| *peer != client.peer)
                .copied()
                .collect();
            let voices = voices.iter().filter(|peer| **peer != client.peer).count();
            client.choose_layers(&arriving, &others, voices, &mut wanted);
        }
        for source in wanted {
            self.want_keyframe(source, now);
        }
        self.pause_unwatched_layers(now);
    }

    /// Tells each sender which layers of their camera nobody watches (to stop sending
    /// them), and which to send again.
    fn pause_unwatched_layers(&mut self, now: Instant) {
        let mut highest: HashMap<Source, usize> = HashMap::new();
        for client in self.clients.values() {
            for slot in client.pool.video_slots() {
                if let (Some(source), Some(layer)) = (slot.source(), slot.layers.watched()) {
                    let top = highest.entry(source).or_insert(layer);
                    *top = (*top).max(layer);
                }
            }
        }
        for client in self.clients.values_mut() {
            let mut changed = None;
            for track in client.tracks_in.iter_mut().filter(|track| track.simulcast) {
                let watched = highest.get(&(client.peer, track.mid)).copied();
                // (Before any layer has come, nothing is known to pause.)
                let Some(lowest) = track.layers.lowest_known() else {
                    continue;
                };
                if let Some(paused) = track.pausing.update(watched, lowest, now) {
                    track.layers.set_paused(paused, now);
                    changed = Some(paused);
                }
            }
            if let Some(paused) = changed {
                tracing::debug!(peer = %client.peer, ?paused, "camera layers paused");
                // (Gone from the meeting: their session goes at its next poll.)
                let _ = client.room.send_to(
                    client.peer,
                    &ServerMessage::SfuPausedLayers {
                        layers: paused_rids(paused),
                    },
                );
            }
        }
    }
}
