//! How much video each connection may send. In a mesh every participant sends their
//! camera once to each of the others, so without a limit the upload grows with the
//! meeting; here the whole video upload is kept within a budget (the server's
//! setting): it is shared among the connections, a presentation taking the larger
//! part, and a camera with little bandwidth is also sent at a lower resolution.

/// The limit on one sender: a bitrate, and how much to scale the picture down by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendLimit {
    pub max_bitrate_bps: u32,
    pub scale_down_by: f32,
}

/// The limits on the video senders of each connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoLimits {
    pub camera: SendLimit,
    /// For the presentation's sender, when presenting.
    pub screen: Option<SendLimit>,
}

/// The budget when the server names none: what a typical home uplink carries.
pub const DEFAULT_BUDGET_KBPS: u32 = 2500;

/// Below this a picture is not worth sending smaller: the limit does not go lower.
const FLOOR_BPS: u64 = 100_000;

/// The limits that keep `connections` connections within `budget_kbps` of video.
pub fn video_limits(budget_kbps: u32, connections: usize, presenting: bool) -> VideoLimits {
    let per_connection = u64::from(budget_kbps) * 1000 / connections.max(1) as u64;
    let (camera, screen) = if presenting {
        // Text on a shared screen needs the bits more than a face does.
        let camera = per_connection / 4;
        (camera, Some(per_connection - camera))
    } else {
        (per_connection, None)
    };
    VideoLimits {
        camera: SendLimit {
            max_bitrate_bps: bps(camera),
            scale_down_by: camera_scale(camera),
        },
        screen: screen.map(|screen| SendLimit {
            max_bitrate_bps: bps(screen),
            scale_down_by: 1.0,
        }),
    }
}

/// How a camera sent in simulcast layers (to the server) shares its limit: the full
/// layer most, the quarter-size one least, in the proportions of the bits each size
/// needs (about 1 : 3 : 9).
const LAYER_SHARES: [u64; 3] = [1, 3, 9];

/// The limit on each simulcast layer of a camera limited to `camera`, in the order of
/// [`SIMULCAST_LAYERS`](crate::protocol::SIMULCAST_LAYERS) (lowest first): together
/// within its bitrate, each scaled down by its own factor on top of the camera's.
pub fn simulcast_limits(camera: SendLimit) -> [SendLimit; 3] {
    let total: u64 = LAYER_SHARES.iter().sum();
    let mut limits = [camera; 3];
    for ((limit, share), scale) in limits
        .iter_mut()
        .zip(LAYER_SHARES)
        .zip(crate::protocol::SIMULCAST_SCALE_DOWN)
    {
        let bits = u64::from(camera.max_bitrate_bps) * share / total;
        limit.max_bitrate_bps = u32::try_from(bits).unwrap_or(u32::MAX);
        limit.scale_down_by = camera.scale_down_by * scale;
    }
    limits
}

/// Which of the simulcast layers (indexes into
/// [`SIMULCAST_LAYERS`](crate::protocol::SIMULCAST_LAYERS)) to send a camera of
/// `width` x `height` in. Chromium sends no more layers than its size allows (three
/// from 960x540, two from 480x270, else one) and drops the top ones, so a 640x480
/// camera asked for three would never send its full size: ask for the top ones only.
pub fn simulcast_layers_for(width: u32, height: u32) -> &'static [usize] {
    match u64::from(width) * u64::from(height) {
        518_400.. => &[0, 1, 2],
        129_600.. => &[1, 2],
        _ => &[2],
    }
}

fn bps(bits: u64) -> u32 {
    u32::try_from(bits.max(FLOOR_BPS)).unwrap_or(u32::MAX)
}

/// How much to scale a camera down for `bits` a second (from 720p: 720p at 1 Mbit/s
/// and more, 480p from 500 kbit/s, 360p from 250 kbit/s, 180p below).
fn camera_scale(bits: u64) -> f32 {
    match bits {
        1_000_000.. => 1.0,
        500_000.. => 1.5,
        250_000.. => 2.0,
        _ => 4.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_among_the_connections() {
        let alone = video_limits(2500, 1, false);
        assert_eq!(alone.camera.max_bitrate_bps, 2_500_000);
        assert_eq!(alone.camera.scale_down_by, 1.0);
        assert_eq!(alone.screen, None);

        let five = video_limits(2500, 4, false);
        assert_eq!(five.camera.max_bitrate_bps, 625_000);
        assert_eq!(five.camera.scale_down_by, 1.5);

        let eight = video_limits(2500, 7, false);
        assert_eq!(eight.camera.max_bitrate_bps, 357_142);
        assert_eq!(eight.camera.scale_down_by, 2.0);
        assert!(u64::from(eight.camera.max_bitrate_bps) * 7 <= 2_500_000);
    }

    #[test]
    fn a_presentation_takes_most_of_each_share() {
        let limits = video_limits(2500, 2, true);
        let screen = limits.screen.unwrap();
        assert_eq!(limits.camera.max_bitrate_bps, 312_500);
        assert_eq!(screen.max_bitrate_bps, 937_500);
        assert_eq!(screen.scale_down_by, 1.0);
        assert_eq!(
            (limits.camera.max_bitrate_bps + screen.max_bitrate_bps) * 2,
            2_500_000
        );
    }

    #[test]
    fn simulcast_layers_share_the_camera_limit() {
        let layers = simulcast_limits(video_limits(2500, 1, false).camera);
        let bitrates: Vec<u32> = layers.iter().map(|l| l.max_bitrate_bps).collect();
        assert_eq!(bitrates, vec![192_307, 576_923, 1_730_769]);
        assert!(
            bitrates.iter().sum::<u32>() <= 2_500_000,
            "within the budget"
        );
        let scales: Vec<f32> = layers.iter().map(|l| l.scale_down_by).collect();
        assert_eq!(scales, vec![4.0, 2.0, 1.0]);
        // A camera already scaled down by its budget: each layer further.
        let small = simulcast_limits(SendLimit {
            max_bitrate_bps: 300_000,
            scale_down_by: 2.0,
        });
        assert_eq!(small[0].scale_down_by, 8.0);
        assert_eq!(small[2].scale_down_by, 2.0);
    }

    #[test]
    fn a_camera_is_sent_in_the_layers_its_size_allows() {
        assert_eq!(simulcast_layers_for(1280, 720), &[0, 1, 2]);
        assert_eq!(simulcast_layers_for(960, 540), &[0, 1, 2]);
        assert_eq!(simulcast_layers_for(640, 480), &[1, 2], "no 160x120 layer");
        assert_eq!(simulcast_layers_for(480, 270), &[1, 2]);
        assert_eq!(simulcast_layers_for(320, 240), &[2], "one layer: full size");
        assert_eq!(simulcast_layers_for(0, 0), &[2]);
    }

    #[test]
    fn a_tiny_budget_still_sends_a_picture() {
        let limits = video_limits(100, 7, false);
        assert_eq!(limits.camera.max_bitrate_bps, 100_000);
        assert_eq!(limits.camera.scale_down_by, 4.0);
        assert_eq!(video_limits(2500, 0, false), video_limits(2500, 1, false));
    }
}
