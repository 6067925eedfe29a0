//! The selective forwarding unit's rules, with no network inside (in the manner of
//! str0m's sans-I/O design): which simulcast layer each receiver gets, when it may
//! switch (only on a keyframe), how often a sender is asked for one, how packets are
//! renumbered so that a receiver sees one continuous stream across switches, and which
//! receive slot of a receiver's connection carries which source.
//!
//! The media port itself ([`Sfu`], `engine`) is a thin shell: one UDP socket, one
//! str0m `Rtc` per participant. The rules are tested with made-up packets; the port
//! with str0m clients (server/tests/sfu.rs).

mod allocation;
mod clients;
mod engine;
mod forwarding;
mod handle;
pub mod keyframes;
pub mod layers;
pub mod limits;
mod pool;
mod renegotiation;
pub mod rewrite;
mod simulcast;
pub mod slots;
pub mod speakers;
mod stun;
mod tracks;

pub use handle::{Sfu, SfuError};
