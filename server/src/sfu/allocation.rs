//! A receiver's layers within its bandwidth. Each camera it shows wants the layer that
//! fits its tile (`layers::wanted_layer`); while all of them would not fit the
//! receiver's estimated bandwidth (str0m's, from the receiver's TWCC feedback), the
//! costliest steps down a layer (`layers::allocate`), and past the lowest it pauses.
//! A camera off the screen gets nothing. What the receiver would get with no limit
//! is the bitrate the estimator is told to probe towards.

use super::layers::{allocate, Layer, Tile};

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
        // Almost nothing: the lowest layers, then pauses.
        let starved = allocate_receiver(&wants, Some(300_000));
        assert_eq!(starved.layers, vec![Some(0), Some(0), None, None, None]);
    }
}
