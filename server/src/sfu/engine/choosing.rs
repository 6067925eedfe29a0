//! Choosing, for every receiver, which cameras their slots carry and in which layer
//! (every `CHOOSE_EVERY`, and whenever what they show or who sends changes).

use super::Engine;
use crate::sfu::clients::ArrivingByTrack;
use crate::sfu::pool::Source;
use app::protocol::PeerId;
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
    }
}
