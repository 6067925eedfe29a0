//! The media a synthetic participant sends: a short real clip, looped
//! (loadgen/fixtures/, made by scripts/make-media-fixture.sh): VP8 at the three
//! simulcast sizes (IVF files, a keyframe only at the start of each) and Opus in 20 ms
//! frames (an Ogg file). Browsers decode it like any camera and microphone.
//!
//! Each frame sent carries a stamp (its sender and send time) at its very end, in a
//! form the decoder ignores: after a VP8 frame's last partition (the decoder reads only
//! what the picture needs), and as Opus padding (RFC 6716 3.2.5), so the forwarding
//! delay is measured on frames a browser plays.

/// Marks a stamp: the last [`STAMP_LEN`] bytes of a frame are this, the sender's
/// index and the send time in microseconds.
const MAGIC: &[u8; 4] = b"PLd1";
pub(super) const STAMP_LEN: usize = 16;

/// Video frames a second, every layer (the fixture's rate).
pub(super) const VIDEO_FPS: u64 = 15;

/// One simulcast layer's frames (lowest first, as `SIMULCAST_LAYERS`), and the
/// picture's size.
pub(super) struct Layer {
    pub frames: Vec<Vec<u8>>,
    pub width: u16,
    pub height: u16,
}

/// The whole clip.
pub(super) struct Fixture {
    pub layers: [Layer; 3],
    pub audio: Vec<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("the IVF file is not one: {0}")]
    Ivf(&'static str),
    #[error("the Ogg file is not one: {0}")]
    Ogg(&'static str),
}

impl Fixture {
    /// The clip built into parley-load.
    pub(super) fn built_in() -> Result<Self, FixtureError> {
        Ok(Self {
            layers: [
                read_ivf(include_bytes!("../../fixtures/q.ivf"))?,
                read_ivf(include_bytes!("../../fixtures/h.ivf"))?,
                read_ivf(include_bytes!("../../fixtures/f.ivf"))?,
            ],
            audio: read_ogg_opus(include_bytes!("../../fixtures/tone.opus"))?,
        })
    }

    /// Bytes a second in each layer, and of the audio (before stamps).
    pub(super) fn rates(&self) -> ([u64; 3], u64) {
        let video = self.layers.each_ref().map(|layer| {
            let bytes: usize = layer.frames.iter().map(Vec::len).sum();
            bytes as u64 * VIDEO_FPS / layer.frames.len().max(1) as u64
        });
        let bytes: usize = self.audio.iter().map(Vec::len).sum();
        (video, bytes as u64 * 50 / self.audio.len().max(1) as u64)
    }
}

/// An IVF file's frames (32-byte file header; each frame a 12-byte header, its
/// length first, then the frame).
fn read_ivf(file: &[u8]) -> Result<Layer, FixtureError> {
    if file.len() < 32 || &file[..4] != b"DKIF" || &file[8..12] != b"VP80" {
        return Err(FixtureError::Ivf("no VP8 IVF header"));
    }
    let width = u16::from_le_bytes([file[12], file[13]]);
    let height = u16::from_le_bytes([file[14], file[15]]);
    let header_len = u16::from_le_bytes([file[6], file[7]]) as usize;
    let mut rest = file.get(header_len..).ok_or(FixtureError::Ivf("short"))?;
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let len = rest
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or(FixtureError::Ivf("a frame header is cut"))?;
        let frame = rest
            .get(12..12 + len)
            .ok_or(FixtureError::Ivf("a frame is cut"))?;
        frames.push(frame.to_vec());
        rest = &rest[12 + len..];
    }
    if frames.first().is_none_or(|frame| frame[0] & 1 != 0) {
        return Err(FixtureError::Ivf("it does not start with a keyframe"));
    }
    Ok(Layer {
        frames,
        width,
        height,
    })
}

/// An Ogg Opus file's audio packets (RFC 7845: the first two packets are the headers).
fn read_ogg_opus(file: &[u8]) -> Result<Vec<Vec<u8>>, FixtureError> {
    let mut packets = Vec::new();
    let mut packet = Vec::new();
    let mut rest = file;
    while !rest.is_empty() {
        if rest.len() < 27 || &rest[..4] != b"OggS" {
            return Err(FixtureError::Ogg("no page header"));
        }
        let segments = rest[26] as usize;
        let table = rest
            .get(27..27 + segments)
            .ok_or(FixtureError::Ogg("a page is cut"))?;
        let mut body = &rest[27 + segments..];
        for &lace in table {
            let lace = lace as usize;
            let bytes = body.get(..lace).ok_or(FixtureError::Ogg("a page is cut"))?;
            packet.extend_from_slice(bytes);
            body = &body[lace..];
            if lace < 255 {
                packets.push(std::mem::take(&mut packet));
            }
        }
        let body_len: usize = table.iter().map(|&lace| lace as usize).sum();
        rest = &rest[27 + segments + body_len..];
    }
    if packets.len() < 3 || !packets[0].starts_with(b"OpusHead") {
        return Err(FixtureError::Ogg("no Opus header"));
    }
    Ok(packets.split_off(2))
}

/// The stamp of a frame from `sender`, sent `micros` after the run began.
pub(super) fn stamp(sender: u32, micros: u64) -> [u8; STAMP_LEN] {
    let mut stamp = [0; STAMP_LEN];
    stamp[..4].copy_from_slice(MAGIC);
    stamp[4..8].copy_from_slice(&sender.to_be_bytes());
    stamp[8..].copy_from_slice(&micros.to_be_bytes());
    stamp
}

/// A VP8 frame with a stamp after it.
pub(super) fn stamped_vp8(frame: &[u8], stamp: [u8; STAMP_LEN]) -> Vec<u8> {
    let mut stamped = Vec::with_capacity(frame.len() + STAMP_LEN);
    stamped.extend_from_slice(frame);
    stamped.extend_from_slice(&stamp);
    stamped
}

/// An Opus packet of one frame (code 0) made a code 3 packet of one frame whose
/// padding is the stamp; other packets go as they are, unstamped.
pub(super) fn stamped_opus(packet: &[u8], stamp: [u8; STAMP_LEN]) -> Vec<u8> {
    let Some((&toc, frame)) = packet.split_first() else {
        return packet.to_vec();
    };
    if toc & 0b11 != 0 {
        return packet.to_vec();
    }
    let mut stamped = Vec::with_capacity(packet.len() + 3 + STAMP_LEN);
    stamped.push(toc | 0b11);
    // One frame, with padding (the P bit), whose length follows.
    stamped.push(0b0100_0001);
    stamped.push(STAMP_LEN as u8);
    stamped.extend_from_slice(frame);
    stamped.extend_from_slice(&stamp);
    stamped
}

/// The send time a frame's stamp says, in microseconds since the run began.
pub(super) fn sent_at(frame: &[u8]) -> Option<u64> {
    let stamp = frame.get(frame.len().checked_sub(STAMP_LEN)?..)?;
    if &stamp[..4] != MAGIC {
        return None;
    }
    Some(u64::from_be_bytes(stamp[8..].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_clip_reads() {
        let fixture = Fixture::built_in().unwrap();
        let heights = fixture.layers.each_ref().map(|layer| layer.height);
        assert_eq!(heights, [180, 360, 720]);
        for layer in &fixture.layers {
            assert_eq!(layer.frames.len() as u64, 2 * VIDEO_FPS);
            // Only the first is a keyframe (bit 0 of the frame tag clear).
            let keyframes = layer.frames.iter().filter(|f| f[0] & 1 == 0).count();
            assert_eq!(keyframes, 1);
        }
        // 2 s of 20 ms frames (the encoder's look-ahead may add one).
        assert!(
            (100..=101).contains(&fixture.audio.len()),
            "{}",
            fixture.audio.len()
        );
    }

    #[test]
    fn stamps_read_back_and_keep_opus_whole() {
        let stamp = stamp(7, 123_456);
        let vp8 = stamped_vp8(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a], stamp);
        assert_eq!(sent_at(&vp8), Some(123_456));

        let opus = [0x78, 1, 2, 3];
        let stamped = stamped_opus(&opus, stamp);
        assert_eq!(stamped[0], 0x7b, "code 3, same configuration");
        assert_eq!(stamped[1], 0x41, "one frame, padded");
        assert_eq!(stamped[2] as usize, STAMP_LEN);
        assert_eq!(&stamped[3..6], &opus[1..]);
        assert_eq!(sent_at(&stamped), Some(123_456));
        // A packet of two frames is left alone (and unstamped).
        assert_eq!(stamped_opus(&[0x79, 1, 2], stamp), vec![0x79, 1, 2]);
        assert_eq!(sent_at(&[1, 2, 3]), None);
    }
}
