//! Simulcast on the media port: what each sender's camera layers are (measured as they
//! arrive), and, per receiver, which layer goes out and how its frames are numbered.
//! The rules themselves are `layers` (choice, keyframe-gated switch), `allocation`
//! (a receiver's layers within its bandwidth) and `rewrite` (one continuous stream);
//! this joins them to str0m's frames.

use super::layers::{Forward, Layer, Switch};
use super::rewrite::{Incoming, Rewriter};
use app::protocol::SIMULCAST_LAYERS;
use std::time::{Duration, Instant};

/// A layer that brought nothing for this long counts as stopped (a sender drops its
/// top layers when its bandwidth or CPU falls short).
const LAYER_SILENT_AFTER: Duration = Duration::from_millis(1_500);

const LAYER_COUNT: usize = SIMULCAST_LAYERS.len();

/// The height of a VP8 keyframe's picture (RFC 6386 9.1: a 3-byte frame tag, the
/// start code 9d 01 2a, then 14-bit width and height), `None` for other frames.
pub fn keyframe_height(frame: &[u8]) -> Option<u32> {
    let [tag, _, _, 0x9d, 0x01, 0x2a, _, _, low, high, ..] = *frame else {
        return None;
    };
    // Bit 0 of the tag is 0 on keyframes.
    if tag & 1 != 0 {
        return None;
    }
    Some(u32::from(u16::from_le_bytes([low, high]) & 0x3fff))
}

/// The layers of one sender's camera, as they arrive.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArrivingLayers {
    /// Per layer: its height (from its last keyframe) and when a frame last came.
    seen: [Option<(u32, Instant)>; LAYER_COUNT],
    /// Per layer whose size is not known yet (its first keyframe was lost): when a
    /// frame of it last came.
    size_unknown: [Option<Instant>; LAYER_COUNT],
    /// Bytes in the current second and the last whole second, per layer.
    bytes: [(u64, u64); LAYER_COUNT],
    second_started: Option<Instant>,
}

impl ArrivingLayers {
    /// A frame of `layer` came (`frame` its data, to measure a keyframe's size).
    pub fn on_frame(&mut self, layer: usize, frame: &[u8], now: Instant) {
        if layer >= LAYER_COUNT {
            return;
        }
        let height = keyframe_height(frame).or(self.seen[layer].map(|(height, _)| height));
        // A layer counts once its size is known (its first frame is a keyframe).
        match height {
            Some(height) => {
                self.seen[layer] = Some((height, now));
                self.size_unknown[layer] = None;
            }
            None => self.size_unknown[layer] = Some(now),
        }
        let started = *self.second_started.get_or_insert(now);
        if now.saturating_duration_since(started) >= Duration::from_secs(1) {
            for bytes in &mut self.bytes {
                *bytes = (0, bytes.0);
            }
            self.second_started = Some(now);
        }
        self.bytes[layer].0 += frame.len() as u64;
    }

    /// The layers arriving now whose size is not known: each needs a keyframe before
    /// it can be chosen.
    pub fn size_unknown(&self, now: Instant) -> impl Iterator<Item = usize> + '_ {
        (0..LAYER_COUNT).filter(move |&layer| {
            self.size_unknown[layer]
                .is_some_and(|at| now.saturating_duration_since(at) < LAYER_SILENT_AFTER)
        })
    }

    /// The layers arriving now, lowest first, with their index.
    pub fn arriving(&self, now: Instant) -> Vec<(usize, Layer)> {
        self.seen
            .iter()
            .enumerate()
            .filter_map(|(index, seen)| {
                let (height, at) = (*seen)?;
                (now.saturating_duration_since(at) < LAYER_SILENT_AFTER).then_some((
                    index,
                    Layer {
                        height,
                        bitrate: self.bytes[index].1 * 8,
                    },
                ))
            })
            .collect()
    }
}

/// What one receive slot of a receiver sends of the camera it carries: which layer
/// goes out, and the timestamps it goes out with (one continuous stream across
/// layers, and across the people the slot carries in turn). A camera sent in one
/// layer only counts as layer 0.
#[derive(Debug, Default)]
pub struct LayerForwarder {
    switch: Switch,
    rewriter: Rewriter,
    /// Frames seen per layer: stands for the sequence number, since str0m numbers
    /// the packets it sends itself (and the VP8 picture ids).
    frames: [u16; LAYER_COUNT],
    /// How many cameras the slot carried before this one: with the layer, names the
    /// stream for the rewriter.
    carried_before: u32,
}

impl LayerForwarder {
    pub fn current(&self) -> Option<usize> {
        self.switch.current()
    }

    /// The slot now carries another camera: nothing goes out until a layer is chosen
    /// and a keyframe of it comes, and then it continues what went out before.
    pub fn carry_another(&mut self) {
        self.switch = Switch::default();
        self.frames = [0; LAYER_COUNT];
        self.carried_before = self.carried_before.wrapping_add(1);
    }

    /// Moves to `target` (see [`Switch::set_target`]): whether a keyframe is needed.
    pub fn set_target(&mut self, target: Option<usize>) -> bool {
        self.switch.set_target(target)
    }

    /// A frame of `layer` with RTP timestamp `timestamp`: the timestamp it goes out
    /// with, or `None` when it is not forwarded.
    pub fn pass(
        &mut self,
        layer: usize,
        keyframe: bool,
        timestamp: u32,
        now: Instant,
    ) -> Option<u32> {
        if layer >= LAYER_COUNT {
            return None;
        }
        let seq = self.frames[layer];
        self.frames[layer] = seq.wrapping_add(1);
        if self.switch.on_packet(layer, keyframe) == Forward::Drop {
            return None;
        }
        let out = self.rewriter.rewrite(Incoming {
            stream: self
                .carried_before
                .wrapping_mul(LAYER_COUNT as u32)
                .wrapping_add(layer as u32),
            seq,
            timestamp,
            picture_id: None,
            tl0_pic_idx: None,
            at: now,
        })?;
        Some(out.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 keyframe's first bytes, `width` x `height`.
    fn keyframe(width: u16, height: u16) -> Vec<u8> {
        let mut frame = vec![0x50, 0x12, 0x00, 0x9d, 0x01, 0x2a];
        frame.extend_from_slice(&width.to_le_bytes());
        frame.extend_from_slice(&height.to_le_bytes());
        frame.extend_from_slice(&[0; 20]);
        frame
    }

    #[test]
    fn a_keyframe_says_its_height() {
        assert_eq!(keyframe_height(&keyframe(640, 480)), Some(480));
        // The top two bits are the scaling, not the size.
        assert_eq!(keyframe_height(&keyframe(320, 180 | 0x4000)), Some(180));
        let mut delta = keyframe(640, 480);
        delta[0] |= 1;
        assert_eq!(keyframe_height(&delta), None, "an interframe");
        assert_eq!(keyframe_height(&[0x50, 0x12]), None, "truncated");
        assert_eq!(keyframe_height(&[]), None);
    }

    #[test]
    fn layers_count_while_they_arrive() {
        let start = Instant::now();
        let mut layers = ArrivingLayers::default();
        layers.on_frame(0, &[1, 2, 3], start);
        assert!(
            layers.arriving(start).is_empty(),
            "no keyframe yet: size unknown"
        );
        assert_eq!(
            layers.size_unknown(start).collect::<Vec<_>>(),
            vec![0],
            "a keyframe is wanted"
        );
        layers.on_frame(0, &keyframe(160, 120), start);
        assert_eq!(layers.size_unknown(start).count(), 0, "its size is known");
        layers.on_frame(2, &keyframe(640, 480), start);
        layers.on_frame(7, &keyframe(640, 480), start);
        let heights: Vec<_> = layers
            .arriving(start)
            .iter()
            .map(|(index, layer)| (*index, layer.height))
            .collect();
        assert_eq!(heights, vec![(0, 120), (2, 480)]);
        // The top layer stops; the bottom one goes on.
        let later = start + Duration::from_secs(2);
        layers.on_frame(0, &[0; 100], later);
        let indexes: Vec<_> = layers.arriving(later).iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, vec![0]);
    }

    #[test]
    fn a_receiver_sees_one_stream_across_a_switch() {
        let start = Instant::now();
        let mut out = LayerForwarder::default();
        assert!(out.set_target(Some(0)));
        assert_eq!(
            out.pass(0, false, 1_000, start),
            None,
            "waits for a keyframe"
        );
        assert_eq!(out.pass(0, true, 4_000, start), Some(4_000));
        let frame = Duration::from_millis(100);
        assert_eq!(out.pass(0, false, 13_000, start + frame), Some(13_000));
        // Up to the full layer, whose clock is elsewhere: it goes on from the old one.
        assert!(out.set_target(Some(2)));
        assert_eq!(out.pass(2, false, 900_000, start + frame), None);
        assert_eq!(out.pass(0, false, 22_000, start + frame * 2), Some(22_000));
        let switched = out.pass(2, true, 909_000, start + frame * 3).unwrap();
        assert_eq!(
            switched,
            22_000 + 9_000,
            "a frame's time after the last sent"
        );
        assert_eq!(
            out.pass(0, false, 31_000, start + frame * 3),
            None,
            "old layer"
        );
        assert_eq!(
            out.pass(2, false, 918_000, start + frame * 4),
            Some(switched + 9_000)
        );
        assert_eq!(out.current(), Some(2));

        // The slot carries someone else, whose clock is elsewhere again: nothing until
        // their keyframe, then on from the last sent.
        let last = switched + 9_000;
        out.carry_another();
        assert_eq!(out.current(), None);
        assert!(out.set_target(Some(1)));
        assert_eq!(
            out.pass(2, true, 920_000, start + frame * 5),
            None,
            "not theirs"
        );
        assert_eq!(out.pass(1, false, 5_000, start + frame * 5), None);
        assert_eq!(
            out.pass(1, true, 14_000, start + frame * 6),
            Some(last + 18_000)
        );
        assert_eq!(
            out.pass(1, false, 23_000, start + frame * 7),
            Some(last + 27_000)
        );
    }
}
