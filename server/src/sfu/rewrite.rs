//! Renumbering forwarded RTP so that a receiver sees one continuous stream.
//!
//! A receive slot carries one source's video at a time, from one of its simulcast
//! layers; each layer is its own RTP stream with its own sequence numbers, timestamps
//! and VP8 picture ids. When the slot switches layer (or source), the receiver must not
//! see a jump: its jitter buffer would take it for loss or a clock step. So every packet
//! leaves with numbers that continue those of the last packet sent:
//!
//! - sequence numbers: one more than the last sent (the gap the source had inside a
//!   layer, from loss, is kept, so the receiver's NACKs still mean something);
//! - RTP timestamps: the new stream's clock is mapped so that its first packet lands
//!   where the old one would be by wall-clock time, never at or before the last sent;
//! - VP8 picture ids (15 bits) and TL0PICIDX: continued from the last, the same way.
//!
//! Packets of the new stream older than its first forwarded one are dropped. (Those of
//! the stream being left never reach the rewriter: `layers::Switch` passes only the
//! slot's current stream.)

use std::time::{Duration, Instant};

/// What the rewriter needs of one incoming packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// Which RTP stream it came on (a source's layer): a change means a switch.
    pub stream: u32,
    pub seq: u16,
    pub timestamp: u32,
    /// The VP8 payload descriptor's picture id, when it has one (15 bits).
    pub picture_id: Option<u16>,
    /// The VP8 payload descriptor's TL0PICIDX, when it has one.
    pub tl0_pic_idx: Option<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// The numbers a packet leaves with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub seq: u16,
    pub timestamp: u32,
    pub picture_id: Option<u16>,
    pub tl0_pic_idx: Option<u8>,
}

/// The RTP clock of video (90 kHz).
pub const VIDEO_CLOCK_HZ: u64 = 90_000;

/// Picture ids are 15 bits.
const PICTURE_ID_MODULUS: u32 = 1 << 15;

/// Extends 16-bit sequence numbers to 64 bits, following wraparound.
#[derive(Clone, Copy, Debug, Default)]
struct Unwrapper {
    last: Option<u64>,
}

impl Unwrapper {
    /// The extended value of `seq`: the one closest to the last seen.
    fn extend(&mut self, seq: u16) -> u64 {
        let Some(last) = self.last else {
            // Start high enough that packets from just before are not negative.
            let value = (1 << 16) + u64::from(seq);
            self.last = Some(value);
            return value;
        };
        let base = last & !0xffff;
        let candidates = [
            base.wrapping_sub(1 << 16) | u64::from(seq),
            base | u64::from(seq),
            (base + (1 << 16)) | u64::from(seq),
        ];
        let value = candidates
            .into_iter()
            .min_by_key(|c| c.abs_diff(last))
            .unwrap_or(last);
        if value > last {
            self.last = Some(value);
        }
        value
    }
}

/// Where the current stream's numbering starts, mapped onto the outgoing numbering.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    stream: u32,
    unwrap: Unwrapper,
    /// The first extended sequence number forwarded from this stream, and what it
    /// went out as (extended).
    first_seq: u64,
    out_first_seq: u64,
    /// Likewise for timestamps (wrapping arithmetic: 32-bit).
    first_timestamp: u32,
    out_first_timestamp: u32,
    first_picture: Option<(u16, u16)>,
    first_tl0: Option<(u8, u8)>,
}

/// The last packet that went out, and when.
#[derive(Clone, Copy, Debug)]
struct Sent {
    /// Extended outgoing sequence number.
    seq: u64,
    timestamp: u32,
    picture_id: Option<u16>,
    tl0_pic_idx: Option<u8>,
    at: Instant,
}

/// Renumbers one receive slot's packets (see the module's description).
#[derive(Debug)]
pub struct Rewriter {
    mapping: Option<Mapping>,
    last: Option<Sent>,
    /// The RTP clock of what it carries.
    clock_hz: u64,
}

impl Default for Rewriter {
    fn default() -> Self {
        Self::with_clock(VIDEO_CLOCK_HZ)
    }
}

impl Rewriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A rewriter for streams of an RTP clock of `clock_hz` (48 kHz for Opus).
    pub fn with_clock(clock_hz: u64) -> Self {
        Self {
            mapping: None,
            last: None,
            clock_hz,
        }
    }

    /// The numbers `packet` leaves with, or `None` to drop it (it belongs to a stream
    /// the slot left, or came from before the point the slot switched at).
    ///
    /// A packet on a new stream starts that stream: the caller calls this for it only
    /// once it decided to switch (on a keyframe; see `layers::Switch`).
    pub fn rewrite(&mut self, packet: Incoming) -> Option<Outgoing> {
        let switching = self.mapping.is_none_or(|m| m.stream != packet.stream);
        if switching {
            self.start(packet);
        }
        let mapping = self.mapping.as_mut()?;
        let seq = mapping.unwrap.extend(packet.seq);
        if seq < mapping.first_seq {
            // From before the switch point: the receiver has moved on.
            return None;
        }
        let out_seq = mapping.out_first_seq + (seq - mapping.first_seq);
        let out_timestamp = mapping
            .out_first_timestamp
            .wrapping_add(packet.timestamp.wrapping_sub(mapping.first_timestamp));
        let picture_id = match (packet.picture_id, mapping.first_picture) {
            (Some(id), Some((first, out_first))) => Some(
                ((u32::from(out_first) + PICTURE_ID_MODULUS + u32::from(id) - u32::from(first))
                    % PICTURE_ID_MODULUS) as u16,
            ),
            _ => packet.picture_id,
        };
        let tl0_pic_idx = match (packet.tl0_pic_idx, mapping.first_tl0) {
            (Some(idx), Some((first, out_first))) => {
                Some(out_first.wrapping_add(idx.wrapping_sub(first)))
            }
            _ => packet.tl0_pic_idx,
        };
        if self.last.is_none_or(|last| out_seq > last.seq) {
            self.last = Some(Sent {
                seq: out_seq,
                timestamp: out_timestamp,
                picture_id,
                tl0_pic_idx,
                at: packet.at,
            });
        }
        Some(Outgoing {
            seq: out_seq as u16,
            timestamp: out_timestamp,
            picture_id,
            tl0_pic_idx,
        })
    }

    /// Maps a new stream, starting at `packet`, onto the numbers already sent.
    fn start(&mut self, packet: Incoming) {
        let mut unwrap = Unwrapper::default();
        let first_seq = unwrap.extend(packet.seq);
        let (out_first_seq, out_first_timestamp, out_picture, out_tl0) = match self.last {
            None => (
                first_seq,
                packet.timestamp,
                packet.picture_id,
                packet.tl0_pic_idx,
            ),
            Some(last) => {
                // Where the old stream's clock would be now, and at least one tick on.
                let elapsed = packet.at.saturating_duration_since(last.at);
                let ticks = ticks(elapsed, self.clock_hz).max(1);
                (
                    last.seq + 1,
                    last.timestamp.wrapping_add(ticks),
                    last.picture_id
                        .map(|id| ((u32::from(id) + 1) % PICTURE_ID_MODULUS) as u16),
                    last.tl0_pic_idx.map(|idx| idx.wrapping_add(1)),
                )
            }
        };
        self.mapping = Some(Mapping {
            stream: packet.stream,
            unwrap,
            first_seq,
            out_first_seq,
            first_timestamp: packet.timestamp,
            out_first_timestamp,
            first_picture: packet.picture_id.zip(out_picture.or(packet.picture_id)),
            first_tl0: packet.tl0_pic_idx.zip(out_tl0.or(packet.tl0_pic_idx)),
        });
    }
}

/// A duration in ticks of a clock of `clock_hz` (32-bit wrapping, as RTP timestamps
/// are).
fn ticks(elapsed: Duration, clock_hz: u64) -> u32 {
    (elapsed.as_micros() as u64 * clock_hz / 1_000_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packets of one stream, 30 frames a second, two packets a frame.
    struct Source {
        stream: u32,
        seq: u16,
        timestamp: u32,
        picture_id: u16,
        at: Instant,
    }

    impl Source {
        fn new(stream: u32, seq: u16, timestamp: u32, picture_id: u16, at: Instant) -> Self {
            Self {
                stream,
                seq,
                timestamp,
                picture_id,
                at,
            }
        }

        /// The next frame's two packets.
        fn frame(&mut self) -> [Incoming; 2] {
            let packet = |seq| Incoming {
                stream: self.stream,
                seq,
                timestamp: self.timestamp,
                picture_id: Some(self.picture_id),
                tl0_pic_idx: Some((self.picture_id % 256) as u8),
                at: self.at,
            };
            let frame = [packet(self.seq), packet(self.seq.wrapping_add(1))];
            self.seq = self.seq.wrapping_add(2);
            self.timestamp = self.timestamp.wrapping_add(3_000);
            self.picture_id = (self.picture_id + 1) % (1 << 15);
            self.at += Duration::from_micros(33_333);
            frame
        }
    }

    #[test]
    fn one_stream_goes_out_as_it_came() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new();
        let mut source = Source::new(1, 100, 5_000, 7, now);
        for _ in 0..3 {
            for packet in source.frame() {
                let out = rewriter.rewrite(packet).unwrap();
                assert_eq!(out.seq, packet.seq);
                assert_eq!(out.timestamp, packet.timestamp);
                assert_eq!(out.picture_id, packet.picture_id);
            }
        }
    }

    #[test]
    fn a_switch_continues_the_numbers_without_a_jump() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new();
        let mut low = Source::new(1, 60_000, 4_000_000_000, 32_760, now);
        let mut out = Vec::new();
        for _ in 0..5 {
            out.extend(low.frame().map(|p| rewriter.rewrite(p).unwrap()));
        }
        // The high layer: numbers of its own, far away; it starts a frame later.
        let mut high = Source::new(2, 9, 77, 1_000, low.at);
        for _ in 0..5 {
            out.extend(high.frame().map(|p| rewriter.rewrite(p).unwrap()));
        }
        for pair in out.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq.wrapping_add(1), "{pair:?}");
            let step = pair[1].timestamp.wrapping_sub(pair[0].timestamp);
            assert!(step == 0 || (2_900..=3_100).contains(&step), "{pair:?}");
        }
        // Picture ids go on by one a frame, across the switch and the 15-bit wrap.
        let pictures: Vec<u16> = out
            .iter()
            .step_by(2)
            .map(|o| o.picture_id.unwrap())
            .collect();
        for pair in pictures.windows(2) {
            assert_eq!(pair[1], (pair[0] + 1) % (1 << 15), "{pictures:?}");
        }
    }

    #[test]
    fn packets_from_before_the_switch_point_are_dropped() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new();
        let mut low = Source::new(1, 10, 0, 0, now);
        let held_back = low.frame();
        rewriter.rewrite(held_back[0]).unwrap();
        let mut high = Source::new(2, 500, 0, 0, low.at);
        let first = high.frame();
        rewriter.rewrite(first[0]).unwrap();
        // The high stream's own packet from before its first forwarded one.
        let older = Incoming {
            seq: 499,
            ..first[0]
        };
        assert_eq!(rewriter.rewrite(older), None);
        assert!(rewriter.rewrite(first[1]).is_some());
    }

    #[test]
    fn loss_inside_a_stream_stays_a_gap_so_nacks_mean_something() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new();
        let mut source = Source::new(1, 65_534, 0, 0, now);
        let [a, _lost] = source.frame();
        let [c, d] = source.frame();
        let a = rewriter.rewrite(a).unwrap();
        let c = rewriter.rewrite(c).unwrap();
        assert_eq!(c.seq, a.seq.wrapping_add(2), "one missing, across the wrap");
        let d = rewriter.rewrite(d).unwrap();
        assert_eq!(d.seq, c.seq.wrapping_add(1));
    }

    #[test]
    fn sequence_numbers_unwrap_both_ways() {
        let mut unwrap = Unwrapper::default();
        let a = unwrap.extend(65_535);
        assert_eq!(unwrap.extend(0), a + 1);
        assert_eq!(unwrap.extend(65_534), a - 1, "reordered, before the wrap");
        assert_eq!(unwrap.extend(2), a + 3);
    }
}
