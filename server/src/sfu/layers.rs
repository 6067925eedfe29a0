//! Which simulcast layer each receiver gets, and switching to it only on a keyframe.
//!
//! A sender's camera goes out in up to three layers (about a quarter, half and full
//! resolution). For each tile a receiver shows, the wanted layer is the smallest one at
//! least as tall as the tile; then, while everything wanted would not fit the
//! receiver's bandwidth estimate, the tile taking the most steps down a layer (pinned
//! tiles last), down to the lowest layer (a tile on the screen never stands still for
//! the estimate). A change of layer only
//! takes effect when a keyframe of the new layer arrives (VP8 layers are independent
//! streams: a receiver cannot decode the new one before its keyframe), until then the
//! old layer goes on.

/// One layer of a source's simulcast, as measured by the SFU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    pub height: u32,
    /// What it has been arriving at lately, bits a second.
    pub bitrate: u64,
}

/// One tile a receiver shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    /// The source's layers, lowest first (only those arriving).
    pub layers: Vec<Layer>,
    /// The tile's height on screen, in device pixels.
    pub height: u32,
    /// A pinned tile (or the active speaker's) keeps its layer longest.
    pub pinned: bool,
}

/// The layer wanted for a tile of `height`: the smallest at least as tall, else the
/// tallest. `None` when the source sends no layer.
pub fn wanted_layer(layers: &[Layer], height: u32) -> Option<usize> {
    if layers.is_empty() {
        return None;
    }
    Some(
        layers
            .iter()
            .position(|layer| layer.height >= height)
            .unwrap_or(layers.len() - 1),
    )
}

/// The layer each tile gets within `budget` bits a second, none below its lowest
/// (`None` only for a source that sends no layer).
pub fn allocate(tiles: &[Tile], budget: u64) -> Vec<Option<usize>> {
    let mut chosen: Vec<Option<usize>> = tiles
        .iter()
        .map(|tile| wanted_layer(&tile.layers, tile.height))
        .collect();
    let cost = |tile: &Tile, layer: Option<usize>| layer.map_or(0, |l| tile.layers[l].bitrate);
    let mut total: u64 = tiles.iter().zip(&chosen).map(|(t, l)| cost(t, *l)).sum();
    while total > budget {
        // The costliest tile above its lowest layer steps down, unpinned ones first.
        let Some(index) = (0..tiles.len())
            .filter(|&i| chosen[i].is_some_and(|layer| layer > 0))
            .max_by_key(|&i| (!tiles[i].pinned, cost(&tiles[i], chosen[i])))
        else {
            break;
        };
        let before = cost(&tiles[index], chosen[index]);
        chosen[index] = chosen[index].map(|layer| layer - 1);
        total = total - before + cost(&tiles[index], chosen[index]);
    }
    chosen
}

/// What to do with a packet of a slot's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// Forward it (it is of the layer the receiver gets now).
    Yes,
    /// Forward it: the first packet of a keyframe of the layer switched to.
    Switched,
    Drop,
}

/// One receive slot's layer: the one forwarded now, and the one it should move to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Switch {
    current: Option<usize>,
    target: Option<usize>,
}

impl Switch {
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// Sets the layer to move to (`None`: pause). Returns whether a keyframe of it is
    /// needed (the shell asks the sender, coalesced by `keyframes`).
    pub fn set_target(&mut self, target: Option<usize>) -> bool {
        self.target = target;
        if target.is_none() {
            // Pausing needs no keyframe: nothing more goes out.
            self.current = None;
        }
        target.is_some() && target != self.current
    }

    /// A packet of `layer` arrived; `keyframe` when it starts a keyframe.
    pub fn on_packet(&mut self, layer: usize, keyframe: bool) -> Forward {
        // Until a keyframe of the target comes, the old layer goes on (if any).
        if keyframe && Some(layer) == self.target && self.current != self.target {
            self.current = self.target;
            return Forward::Switched;
        }
        if Some(layer) == self.current {
            Forward::Yes
        } else {
            Forward::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_layers() -> Vec<Layer> {
        vec![
            Layer {
                height: 180,
                bitrate: 150_000,
            },
            Layer {
                height: 360,
                bitrate: 500_000,
            },
            Layer {
                height: 720,
                bitrate: 1_500_000,
            },
        ]
    }

    fn tile(height: u32, pinned: bool) -> Tile {
        Tile {
            layers: three_layers(),
            height,
            pinned,
        }
    }

    #[test]
    fn the_layer_fits_the_tile() {
        let layers = three_layers();
        assert_eq!(wanted_layer(&layers, 90), Some(0));
        assert_eq!(wanted_layer(&layers, 180), Some(0));
        assert_eq!(wanted_layer(&layers, 181), Some(1));
        assert_eq!(wanted_layer(&layers, 700), Some(2));
        assert_eq!(
            wanted_layer(&layers, 2_000),
            Some(2),
            "the tallest there is"
        );
        assert_eq!(
            wanted_layer(&layers[..1], 700),
            Some(0),
            "only one layer sent"
        );
        assert_eq!(wanted_layer(&[], 700), None);
    }

    #[test]
    fn within_the_budget_the_costliest_unpinned_steps_down_first() {
        let tiles = [tile(720, true), tile(720, false), tile(180, false)];
        assert_eq!(
            allocate(&tiles, 10_000_000),
            vec![Some(2), Some(2), Some(0)],
            "room for everything"
        );
        // 3.15 Mbit/s wanted, 2.2 available: the unpinned big tile gives way.
        assert_eq!(allocate(&tiles, 2_200_000), vec![Some(2), Some(1), Some(0)]);
        // Less: the pinned one steps down last; nobody goes below their lowest layer.
        assert_eq!(allocate(&tiles, 1_900_000), vec![Some(2), Some(0), Some(0)]);
        assert_eq!(allocate(&tiles, 1_700_000), vec![Some(1), Some(0), Some(0)]);
        assert_eq!(allocate(&tiles, 0), vec![Some(0), Some(0), Some(0)]);
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_of_the_new_layer() {
        let mut switch = Switch::default();
        assert!(switch.set_target(Some(0)), "a keyframe is needed to start");
        assert_eq!(
            switch.on_packet(0, false),
            Forward::Drop,
            "nothing decodable yet"
        );
        assert_eq!(switch.on_packet(0, true), Forward::Switched);
        assert_eq!(switch.on_packet(0, false), Forward::Yes);
        assert_eq!(switch.on_packet(2, true), Forward::Drop, "not asked for");

        // Up: the low layer goes on until the high one's keyframe.
        assert!(switch.set_target(Some(2)));
        assert_eq!(switch.on_packet(2, false), Forward::Drop);
        assert_eq!(switch.on_packet(0, false), Forward::Yes);
        assert_eq!(switch.on_packet(2, true), Forward::Switched);
        assert_eq!(
            switch.on_packet(0, false),
            Forward::Drop,
            "the old layer stops"
        );
        assert_eq!(switch.current(), Some(2));

        // The same target again needs nothing.
        assert!(!switch.set_target(Some(2)));
        // Paused: nothing goes out, at once.
        assert!(!switch.set_target(None));
        assert_eq!(switch.on_packet(2, true), Forward::Drop);
        assert_eq!(switch.current(), None);
    }
}
