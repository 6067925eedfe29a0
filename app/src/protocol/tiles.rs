//! What a participant whose media comes through the server shows of everyone else's
//! camera, so that the server sends each camera at the size it is shown (one of the
//! sender's simulcast layers) and sends nothing for a camera not shown at all.

use super::PeerId;
use serde::{Deserialize, Serialize};

/// The simulcast layers a camera is sent to the server in, lowest first: a quarter,
/// half and full resolution (RTP stream ids, `a=rid`).
pub const SIMULCAST_LAYERS: [&str; 3] = ["q", "h", "f"];

/// How much each layer is scaled down by, in the order of [`SIMULCAST_LAYERS`].
pub const SIMULCAST_SCALE_DOWN: [f32; 3] = [4.0, 2.0, 1.0];

/// The most tiles one `tiles_shown` may list (more than any meeting holds).
pub const MAX_SHOWN_TILES: usize = 256;

/// One camera's tile as a participant shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownTile {
    /// Whose camera.
    pub id: PeerId,
    /// The tile's height on screen in device pixels; 0 when it is not on screen.
    pub height: u32,
}

/// Who one receive slot of a participant's media connection carries now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotCarries {
    /// The slot's line (its `mid`).
    pub mid: String,
    /// Whose camera or microphone it carries (`null`: nobody's, for now).
    pub peer: Option<PeerId>,
}

/// The layer of [`SIMULCAST_LAYERS`] named `rid`, if any.
pub fn simulcast_layer(rid: &str) -> Option<usize> {
    SIMULCAST_LAYERS.iter().position(|layer| *layer == rid)
}
