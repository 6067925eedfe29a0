//! Pausing the camera layers nobody watches. A sender encodes and uploads each of its
//! simulcast layers; when no receiver gets a layer, nor one above it, for a while,
//! the server tells the sender to stop sending it (`sfu_paused_layers`), and to send it
//! again as soon as a receiver's choice rises to it. The lowest layer the sender sends
//! is never paused: it is cheap, and a tile that comes on the screen starts from it
//! at once. (A small camera sends only the upper layers: from 640x480, `h` and `f`.)
//!
//! A paused layer still counts for the choice of layers (`ArrivingLayers` keeps its
//! last size and bitrate), so a receiver whose tile grows chooses it, which resumes
//! it; the switch to it waits for its first keyframe as any switch does, the layer
//! below going on until then.

use app::protocol::SIMULCAST_LAYERS;
use std::time::{Duration, Instant};

const LAYER_COUNT: usize = SIMULCAST_LAYERS.len();

/// How long a layer goes unwatched before it is paused: a tile that shrinks and grows
/// again (a window resized, a pin toggled) does not stop and restart the encoder.
pub const PAUSE_AFTER: Duration = Duration::from_secs(3);

/// Which layers are paused, lowest first.
pub type PausedLayers = [bool; LAYER_COUNT];

/// The pausing of one sender's camera layers.
#[derive(Clone, Copy, Debug, Default)]
pub struct LayerPausing {
    /// Per layer: since when nobody has watched it (`None`: watched now).
    unwatched_since: [Option<Instant>; LAYER_COUNT],
    paused: PausedLayers,
}

impl LayerPausing {
    pub fn paused(&self) -> PausedLayers {
        self.paused
    }

    /// The highest layer any receiver gets or is switching to is `highest` (`None`:
    /// nobody gets the camera); the lowest the sender sends, `lowest`. Returns the
    /// layers paused when that changes.
    pub fn update(
        &mut self,
        highest: Option<usize>,
        lowest: usize,
        now: Instant,
    ) -> Option<PausedLayers> {
        let before = self.paused;
        // The lowest layer always goes.
        let kept = highest.map_or(lowest, |highest| highest.max(lowest));
        for layer in 0..LAYER_COUNT {
            if layer <= kept {
                self.unwatched_since[layer] = None;
                self.paused[layer] = false;
                continue;
            }
            let since = *self.unwatched_since[layer].get_or_insert(now);
            if now.saturating_duration_since(since) >= PAUSE_AFTER {
                self.paused[layer] = true;
            }
        }
        (self.paused != before).then_some(self.paused)
    }
}

/// The stream ids (`a=rid`) of the paused layers.
pub fn paused_rids(paused: PausedLayers) -> Vec<String> {
    SIMULCAST_LAYERS
        .iter()
        .zip(paused)
        .filter(|(_, paused)| *paused)
        .map(|(rid, _)| rid.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_unwatched_for_a_while_pauses_and_resumes_as_soon_as_it_is_chosen() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut pausing = LayerPausing::default();
        assert_eq!(pausing.update(Some(2), 0, at(0)), None, "all watched");
        // Everyone's tile shrinks to the lowest layer.
        assert_eq!(pausing.update(Some(0), 0, at(1_000)), None);
        assert_eq!(pausing.update(Some(0), 0, at(3_999)), None, "not yet");
        assert_eq!(
            pausing.update(Some(0), 0, at(4_000)),
            Some([false, true, true])
        );
        assert_eq!(pausing.update(Some(0), 0, at(10_000)), None, "said once");
        assert_eq!(paused_rids(pausing.paused()), vec!["h", "f"]);
        // One grows a tile to the middle layer: it comes back at once, the top stays off.
        assert_eq!(
            pausing.update(Some(1), 0, at(10_100)),
            Some([false, false, true])
        );
        // It shrinks again for less than the wait, then grows: no pause in between.
        assert_eq!(pausing.update(Some(0), 0, at(11_000)), None);
        assert_eq!(pausing.update(Some(1), 0, at(13_000)), None);
        assert_eq!(pausing.update(Some(0), 0, at(13_100)), None);
        assert_eq!(
            pausing.update(Some(0), 0, at(16_100)),
            Some([false, true, true]),
            "the wait starts again"
        );
        // Nobody shows the camera: the lowest layer still goes.
        assert_eq!(pausing.update(None, 0, at(30_000)), None);
        assert_eq!(pausing.paused(), [false, true, true]);
        assert_eq!(
            pausing.update(Some(2), 0, at(30_100)),
            Some([false, false, false])
        );
    }

    #[test]
    fn a_camera_sending_only_its_upper_layers_keeps_the_lower_of_them() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut pausing = LayerPausing::default();
        // Nobody shows it: of `h` and `f`, `f` pauses.
        assert_eq!(pausing.update(None, 1, at(0)), None);
        assert_eq!(
            pausing.update(None, 1, at(3_000)),
            Some([false, false, true])
        );
    }
}
