//! Made-up media for the media tests: video frames of a few packets, VP8 keyframes of
//! a given size for simulcast layers, and which datagrams a lossy link loses.

/// A made-up video frame's size: four or five packets.
pub const VIDEO_FRAME_BYTES: usize = 5_000;
/// No audio packet or feedback of these tests is this large; every video packet but a
/// frame's last is.
const VIDEO_PACKET_AT_LEAST: usize = 600;

/// The simulcast layers' frames: (picture height, bytes), lowest first. At 30 a
/// second: about 140 kbit/s, 480 kbit/s and 1.4 Mbit/s.
pub const SIMULCAST_FRAMES: [(u16, usize); 3] = [(180, 600), (360, 2_000), (720, 6_000)];

/// A made-up VP8 keyframe of `bytes`, for a 16:9 picture `height` tall (RFC 6386 9.1:
/// the frame tag, bit 0 clear; the start code; width and height).
pub fn vp8_keyframe(height: u16, bytes: usize) -> Vec<u8> {
    let width = height / 9 * 16;
    let mut frame = KEYFRAME_START.to_vec();
    frame.extend_from_slice(&width.to_le_bytes());
    frame.extend_from_slice(&height.to_le_bytes());
    frame.resize(bytes, 0x5a);
    frame
}

/// The first bytes of a VP8 keyframe (frame tag and start code), as made up here.
const KEYFRAME_START: [u8; 6] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
/// A made-up keyframe's header: its start, width and height.
const KEYFRAME_HEADER: usize = 10;

/// A made-up video frame of `VIDEO_FRAME_BYTES`, a keyframe (the server switches what
/// a slot carries on one) whose picture starts with `tag` and `number`.
pub fn tagged_frame(tag: &[u8], number: u64) -> Vec<u8> {
    let mut frame = vp8_keyframe(360, KEYFRAME_HEADER);
    frame.extend_from_slice(tag);
    frame.extend_from_slice(&number.to_be_bytes());
    frame.resize(VIDEO_FRAME_BYTES, 0xa5);
    frame
}

/// A received frame's picture: past the header of a made-up keyframe, else all of it
/// (audio carries its tag first).
pub fn picture(frame: &[u8]) -> &[u8] {
    if frame.starts_with(&KEYFRAME_START) && frame.len() >= KEYFRAME_HEADER {
        &frame[KEYFRAME_HEADER..]
    } else {
        frame
    }
}

/// Whether a datagram is lost on a link that loses every `every`-th video packet (RTP,
/// and larger than audio or feedback ever is); `count` counts those seen.
pub fn lost_here(datagram: &[u8], count: &mut usize, every: usize) -> bool {
    let video = datagram.len() > VIDEO_PACKET_AT_LEAST
        && (128..192).contains(&datagram[0])
        && !(192..224).contains(&datagram[1]);
    if !video {
        return false;
    }
    *count += 1;
    count.is_multiple_of(every)
}
