//! What reaches one receiver: the others' cameras and microphones on their receive
//! slots (`pool`), each camera in the simulcast layer that fits its tile and their
//! bandwidth (`allocation`), and presentations on lines of their own.

use super::allocation::{allocate_receiver, Want};
use super::clients::{ArrivingByTrack, Client, KeyframeSource};
use super::pool::Source;
use super::tracks::OutState;
use app::protocol::{simulcast_layer, PeerId};
use std::time::Instant;
use str0m::bwe::Bitrate;
use str0m::media::{MediaData, MediaKind, MediaTime, Mid};

/// The share of a receiver's estimated bandwidth their cameras may take, percent.
const BUDGET_PERCENT: u64 = 85;
/// How far past what a receiver's cameras need the estimator probes: room for the
/// pacer to send a keyframe's burst without holding the stream back (it paces at the
/// estimate), and for a tile that grows (pinned) to get its layer at once. (Someone
/// who shows no camera gets no probing at all: it would be padding for nothing.)
const PROBE_HEADROOM: u64 = 2;

impl Client {
    /// Sends `origin`'s media (of `kind`) on the slot or line that carries it, if one
    /// does (of a simulcast camera, only the layer chosen for them).
    pub(super) fn forward(&mut self, origin: PeerId, kind: MediaKind, data: &MediaData) {
        let source = (origin, data.mid);
        // RTP timestamps are 32 bits: the low bits of str0m's extended time.
        let timestamp = data.time.numer() as u32;
        let (mid, time) = match kind {
            MediaKind::Audio => {
                let Some((mid, out)) = self.pool.audio(source, timestamp, data.network_time) else {
                    return;
                };
                (mid, MediaTime::new(u64::from(out), data.time.frequency()))
            }
            MediaKind::Video => match self.camera_out(source, data, timestamp) {
                Some(out) => out,
                None => match self.presentation_line(source) {
                    Some(mid) => (mid, data.time),
                    None => return,
                },
            },
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return;
        };
        self.dirty = true;
        if let Err(error) = writer.write(pt, data.network_time, time, data.data.clone()) {
            tracing::info!(peer = %self.peer, %error, "could not forward media");
            self.rtc.disconnect();
        }
    }

    /// The slot `source`'s camera frame goes out on, and its time there (`None`: no
    /// slot carries it, or not this layer, or not yet).
    fn camera_out(
        &mut self,
        source: Source,
        data: &MediaData,
        timestamp: u32,
    ) -> Option<(Mid, MediaTime)> {
        let layer = match data.rid {
            // A layer of no name Parley gives: mixed into one stream it would garble.
            Some(rid) => simulcast_layer(&rid)?,
            None => 0,
        };
        let (mid, out) = self.pool.camera_frame(
            source,
            layer,
            data.is_keyframe(),
            timestamp,
            data.network_time,
        )?;
        Some((mid, MediaTime::new(u64::from(out), data.time.frequency())))
    }

    /// The open line of `source`'s presentation, if it is one.
    fn presentation_line(&self, source: Source) -> Option<Mid> {
        let track = self
            .tracks_out
            .iter()
            .find(|t| t.source == source.0 && t.source_mid == source.1)?;
        match track.state {
            OutState::Open(mid) => Some(mid),
            _ => None,
        }
    }

    /// Chooses which of `cameras` (the others' in the meeting) their video slots carry
    /// and in which layer, and how many audio slots they need for `voices` others who
    /// send audio. The layers switched to need a keyframe (added to `wanted`).
    pub(super) fn choose_layers(
        &mut self,
        arriving: &ArrivingByTrack,
        cameras: &[Source],
        voices: usize,
        wanted: &mut Vec<KeyframeSource>,
    ) {
        let height = |shown: &Option<std::collections::HashMap<PeerId, u32>>, peer| {
            shown.as_ref().and_then(|shown| shown.get(&peer).copied())
        };
        // Those shown first, then those whose tiles are not measured yet; none of
        // those off the screen.
        let (mut carried, unmeasured): (Vec<Source>, Vec<Source>) = cameras
            .iter()
            .filter(|(peer, _)| height(&self.shown, *peer) != Some(0))
            .partition(|(peer, _)| height(&self.shown, *peer).is_some());
        carried.extend(unmeasured);
        self.pool.want(carried.len(), voices);
        if self.pool.lines_to_add() != (0, 0) {
            // Polled, it offers them.
            self.dirty = true;
        }
        self.pool.assign_cameras(&carried);

        let mut simulcast = Vec::new();
        for (index, slot) in self.pool.video_slots_mut().enumerate() {
            let (Some(source), Some(_)) = (slot.source(), slot.mid()) else {
                continue;
            };
            slot.simulcast = arriving.contains_key(&source);
            if slot.simulcast {
                simulcast.push((index, source));
            } else if slot.layers.set_target(Some(0)) {
                // Its one layer: from its next keyframe.
                wanted.push((source.0, source.1, None));
            }
        }
        let wants: Vec<Want> = simulcast
            .iter()
            .map(|(_, source)| Want {
                arriving: arriving.get(source).map_or(&[], Vec::as_slice),
                shown: height(&self.shown, source.0),
            })
            .collect();
        // Within the estimate, less a margin for audio, resends and keyframes.
        let budget = self
            .estimate
            .steady(Instant::now())
            .map(|estimate| estimate / 100 * BUDGET_PERCENT);
        let allocation = allocate_receiver(&wants, budget);
        // The estimator probes past what they would get with no limit (it finds no
        // more room than it probes for); told again when that changes by a tenth.
        let desired = allocation.desired * PROBE_HEADROOM;
        if desired.abs_diff(self.desired) > self.desired / 10 {
            self.desired = desired;
            self.rtc
                .bwe()
                .set_bitrate(Bitrate::ZERO, Bitrate::bps(desired));
        }
        for ((index, source), target) in simulcast.into_iter().zip(allocation.layers) {
            if let Some(slot) = self.pool.video_slots_mut().nth(index) {
                if slot.layers.set_target(target) {
                    wanted.push((source.0, source.1, target));
                }
            }
        }
    }
}
