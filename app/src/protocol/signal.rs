//! WebRTC negotiation data as it is relayed from one participant to another, and
//! the size of each of its parts.

use serde::{Deserialize, Serialize};

/// The longest SDP (an offer or answer) relayed, in bytes. A browser's offer for a
/// camera, a microphone and a presentation is a few kilobytes.
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// The most an SDP on the connection to the server's media port may be: it has two
/// lines for everyone else in the meeting (and their presentations'), so it grows
/// with the meeting. (Within the server's default frame size, 64 KiB.)
pub const MAX_MEDIA_SDP_BYTES: usize = 60 * 1024;

/// The longest ICE candidate relayed, in bytes (a candidate line is about a hundred).
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// The longest `sdp_mid` relayed, in bytes (browsers use "0", "1", …).
pub const MAX_SDP_MID_BYTES: usize = 64;

/// A part of a signal over its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} may be at most {max} bytes")]
pub struct TooLarge {
    pub what: &'static str,
    pub max: usize,
}

/// WebRTC negotiation data, carried to one named peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// An SDP offer (RTCSessionDescription of type "offer").
    Offer { sdp: String },
    /// An SDP answer.
    Answer { sdp: String },
    /// A trickled ICE candidate. An empty `candidate` marks the end of candidates.
    Candidate {
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_m_line_index: Option<u16>,
    },
    /// The sender closed its connection to the receiver and is building a new one
    /// (the signal's epoch); the receiver does the same and waits for its offer.
    Rebuild,
}

impl Signal {
    /// Checks each part against its size limit ([`MAX_SDP_BYTES`],
    /// [`MAX_CANDIDATE_BYTES`], [`MAX_SDP_MID_BYTES`]); a signal over one is not relayed.
    pub fn check_size(&self) -> Result<(), TooLarge> {
        let fits = |text: &str, what, max| {
            if text.len() <= max {
                Ok(())
            } else {
                Err(TooLarge { what, max })
            }
        };
        match self {
            Self::Offer { sdp } | Self::Answer { sdp } => fits(sdp, "an SDP", MAX_SDP_BYTES),
            Self::Candidate {
                candidate, sdp_mid, ..
            } => {
                fits(candidate, "an ICE candidate", MAX_CANDIDATE_BYTES)?;
                fits(
                    sdp_mid.as_deref().unwrap_or_default(),
                    "an sdp_mid",
                    MAX_SDP_MID_BYTES,
                )
            }
            Self::Rebuild => Ok(()),
        }
    }
}
