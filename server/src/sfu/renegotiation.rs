//! The server's side of renegotiating a participant's connection to the media port:
//! it offers the receive slots to add (the meeting grew past the pool) and the
//! presentations to add (someone presents) and to stop (their presenter left), one
//! offer at a time, and takes the participant's answer.

use super::clients::{Client, KeyframeSource};
use super::tracks::OutState;
use app::protocol::{PeerId, ServerMessage};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};

/// The stream the receive slots' tracks are in, as the participant sees it (who each
/// carries is said apart, by `sfu_slots`).
pub(super) const SLOTS_STREAM: &str = "slots";

impl Client {
    /// `source` left: their presentation stops, their slots are freed.
    pub(super) fn source_gone(&mut self, source: PeerId) {
        self.dirty = true;
        self.pool.source_gone(source);
        self.tracks_out.retain_mut(|track| {
            if track.source != source {
                return true;
            }
            match track.state {
                OutState::ToOpen => false,
                OutState::Negotiating(mid) | OutState::Open(mid) => {
                    track.state = OutState::ToStop(mid);
                    true
                }
                OutState::ToStop(_) | OutState::Stopping(_) => true,
            }
        });
    }

    /// Offers the tracks to add and stop, unless an offer is already out.
    pub(super) fn negotiate(&mut self) {
        if self.pending.is_some() || !self.rtc.is_alive() {
            return;
        }
        let mut change = self.rtc.sdp_api();
        let (video, audio) = self.pool.lines_to_add();
        for (kind, count) in [(MediaKind::Video, video), (MediaKind::Audio, audio)] {
            for _ in 0..count {
                let mid = change.add_media(
                    kind,
                    Direction::SendOnly,
                    Some(SLOTS_STREAM.into()),
                    None,
                    None,
                );
                self.pool.offered(kind, mid);
            }
        }
        for track in &mut self.tracks_out {
            match track.state {
                OutState::ToOpen => {
                    let mid = change.add_media(
                        MediaKind::Video,
                        Direction::SendOnly,
                        // Named by the presenter's peer id.
                        Some(track.stream_name()),
                        None,
                        None,
                    );
                    track.state = OutState::Negotiating(mid);
                }
                OutState::ToStop(mid) => {
                    change.stop_media(mid);
                    track.state = OutState::Stopping(mid);
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return;
        }
        let Some((offer, pending)) = change.apply() else {
            return;
        };
        self.pending = Some(pending);
        let sdp = offer.to_sdp_string();
        if self
            .room
            .send_to(self.peer, &ServerMessage::SfuOffer { sdp })
            .is_none()
        {
            // No longer in the meeting: the session goes.
            self.rtc.disconnect();
        }
    }

    /// Their answer to the server's offer. Returns the sources of the tracks it
    /// opened: each needs a keyframe, for the picture to start at once.
    pub(super) fn accept_answer(&mut self, answer: SdpAnswer) -> Vec<KeyframeSource> {
        let Some(pending) = self.pending.take() else {
            return Vec::new();
        };
        self.dirty = true;
        if let Err(error) = self.rtc.sdp_api().accept_answer(pending, answer) {
            tracing::info!(peer = %self.peer, %error, "media answer refused");
            self.rtc.disconnect();
            return Vec::new();
        }
        // (What the slots carry is chosen next, and asks its own keyframes.)
        self.pool.answered();
        let mut opened = Vec::new();
        for track in &mut self.tracks_out {
            if let OutState::Negotiating(mid) = track.state {
                track.state = OutState::Open(mid);
                opened.push((track.source, track.source_mid, None));
            }
        }
        self.tracks_out
            .retain(|t| !matches!(t.state, OutState::Stopping(_)));
        opened
    }
}
