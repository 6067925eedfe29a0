//! The selective forwarding unit's rules, with no network inside (in the manner of
//! str0m's sans-I/O design): which simulcast layer each receiver gets, when it may
//! switch (only on a keyframe), how often a sender is asked for one, how packets are
//! renumbered so that a receiver sees one continuous stream across switches, and which
//! receive slot of a receiver's connection carries which source.
//!
//! The UDP socket and str0m's `Rtc` per participant are to be a thin shell around
//! these; everything here is tested with made-up packets.

pub mod keyframes;
pub mod layers;
pub mod rewrite;
pub mod slots;
