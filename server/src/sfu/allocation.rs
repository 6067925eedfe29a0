//! A receiver's layers within its bandwidth. Each camera it shows wants the layer that
//! fits its tile (`layers::wanted_layer`); while all of them would not fit the
//! receiver's estimated bandwidth (str0m's, from the receiver's TWCC feedback), the
//! costliest steps down a layer (`layers::allocate`), down to every camera's lowest
//! layer (not further: none is paused for the estimate).
//! A camera off the screen gets nothing. What the receiver would get with no limit
//! is the bitrate the estimator is told to probe towards.
//!
//! The estimate is steadied first ([`SteadyEstimate`]): a drop counts at once, a rise
//! only once it has held for a while, so that a probe that overshoots (a burst a
//! congested link lets through) does not switch a camera up only to switch it down
//! again a moment later, two keyframes for nothing.

use super::layers::{allocate, Layer, Tile};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a higher estimate must hold before layers rise with it.
pub const RISE_AFTER: Duration = Duration::from_secs(2);

/// A receiver's bandwidth estimate as the layer choice uses it: the lowest of the
/// estimates of the last [`RISE_AFTER`].
#[derive(Clone, Debug, Default)]
pub struct SteadyEstimate {
    /// (when, estimate), oldest first, each lower than all after it (one no lower than
    /// a later one can never be the lowest again, and is dropped).
    recent: VecDeque<(Instant, u64)>,
}

impl SteadyEstimate {
    /// A new estimate at `now`.
    pub fn update(&mut self, estimate: u64, now: Instant) {
        // Those no lower than the new one can never be the lowest again.
        while self.recent.back().is_some_and(|(_, e)| *e >= estimate) {
            self.recent.pop_back();
        }
        self.recent.push_back((now, estimate));
    }

    /// The estimate to choose layers by (`None`: none yet).
    pub fn steady(&mut self, now: Instant) -> Option<u64> {
        // The first is the lowest. It counts until the one after it has held for
        // RISE_AFTER (it stood until then at the latest).
        while self
            .recent
            .get(1)
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= RISE_AFTER)
        {
            self.recent.pop_front();
        }
        self.recent.front().map(|(_, estimate)| *estimate)
    }
}

/// One simulcast camera a receiver could get.
#[derive(Clone, Copy, Debug)]
pub struct Want<'a> {
    /// The sender's layers arriving now: (layer index, its size and bitrate), lowest
    /// first.
    pub arriving: &'a [(usize, Layer)],
    /// The tile's height in device pixels (`None`: not said, the best layer; 0: off
    /// the screen).
    pub shown: Option<u32>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The layer each camera gets (`None`: nothing), in the order of the wants.
    pub layers: Vec<Option<usize>>,
    /// Bits a second the cameras would take with no limit.
    pub desired: u64,
}

/// The layers for `wants` within `budget` bits a second (`None`: no estimate yet, no
/// limit).
pub fn allocate_receiver(wants: &[Want], budget: Option<u64>) -> Allocation {
    let mut tiles = Vec::new();
    let mut on_screen = Vec::new();
    for (index, want) in wants.iter().enumerate() {
        if want.shown == Some(0) || want.arriving.is_empty() {
            continue;
        }
        tiles.push(Tile {
            layers: want.arriving.iter().map(|(_, layer)| *layer).collect(),
            height: want.shown.unwrap_or(u32::MAX),
            pinned: false,
        });
        on_screen.push(index);
    }
    let cost = |choice: &[Option<usize>]| -> u64 {
        tiles
            .iter()
            .zip(choice)
            .map(|(tile, layer)| layer.map_or(0, |l| tile.layers[l].bitrate))
            .sum()
    };
    let desired = cost(&allocate(&tiles, u64::MAX));
    // (Never below a camera's lowest layer: a tile that stands still looks broken, and
    // an estimate on a busy machine dips with no congestion on the way at all.)
    let chosen = allocate(&tiles, budget.unwrap_or(u64::MAX));
    let mut layers = vec![None; wants.len()];
    for (index, choice) in on_screen.into_iter().zip(chosen) {
        layers[index] = choice.map(|position| wants[index].arriving[position].0);
    }
    Allocation { layers, desired }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_counts_at_once_and_a_rise_once_it_has_held() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut estimate = SteadyEstimate::default();
        assert_eq!(estimate.steady(at(0)), None);
        estimate.update(1_500_000, at(0));
        assert_eq!(estimate.steady(at(0)), Some(1_500_000));
        estimate.update(900_000, at(1_000));
        assert_eq!(estimate.steady(at(1_000)), Some(900_000), "a drop at once");
        // A probe overshoots for half a second: nothing rises.
        estimate.update(2_000_000, at(3_000));
        estimate.update(850_000, at(3_500));
        assert_eq!(estimate.steady(at(5_000)), Some(850_000));
        // A real rise, growing: followed two seconds behind.
        estimate.update(1_200_000, at(6_000));
        estimate.update(1_300_000, at(6_250));
        assert_eq!(estimate.steady(at(7_999)), Some(850_000));
        assert_eq!(estimate.steady(at(8_000)), Some(1_200_000));
        assert_eq!(estimate.steady(at(8_250)), Some(1_300_000));
        assert_eq!(
            estimate.steady(at(60_000)),
            Some(1_300_000),
            "the last stays"
        );
    }

    fn layers() -> Vec<(usize, Layer)> {
        [(180, 150_000), (360, 500_000), (720, 1_500_000)]
            .into_iter()
            .enumerate()
            .map(|(index, (height, bitrate))| (index, Layer { height, bitrate }))
            .collect()
    }

    #[test]
    fn each_camera_fits_its_tile_within_the_estimate() {
        let three = layers();
        let top_two = &three[1..];
        let wants = [
            Want {
                arriving: &three,
                shown: Some(700),
            },
            Want {
                arriving: &three,
                shown: Some(150),
            },
            Want {
                arriving: &three,
                shown: Some(0),
            },
            Want {
                arriving: top_two,
                shown: None,
            },
            Want {
                arriving: &[],
                shown: Some(700),
            },
        ];
        let free = allocate_receiver(&wants, None);
        assert_eq!(free.layers, vec![Some(2), Some(0), None, Some(2), None]);
        assert_eq!(free.desired, 3_150_000);
        // 2.7 Mbit/s: the two full layers cannot both go; one steps down.
        let tight = allocate_receiver(&wants, Some(2_700_000));
        assert_eq!(tight.layers, vec![Some(2), Some(0), None, Some(1), None]);
        // 2 Mbit/s: both do.
        let tighter = allocate_receiver(&wants, Some(2_000_000));
        assert_eq!(tighter.layers, vec![Some(1), Some(0), None, Some(1), None]);
        assert_eq!(tight.desired, 3_150_000, "what it would like stays");
        // Almost nothing: the lowest layers all the same, none paused.
        let starved = allocate_receiver(&wants, Some(300_000));
        assert_eq!(starved.layers, vec![Some(0), Some(0), None, Some(1), None]);
    }
}
