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
    fn a_tiny_budget_still_sends_a_picture() {
        let limits = video_limits(100, 7, false);
        assert_eq!(limits.camera.max_bitrate_bps, 100_000);
        assert_eq!(limits.camera.scale_down_by, 4.0);
        assert_eq!(video_limits(2500, 0, false), video_limits(2500, 1, false));
    }
}
