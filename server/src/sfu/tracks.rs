//! The tracks of one participant's connection to the media port: those they send
//! (in), and the others' presentations the server sends them (out), with how each of
//! those stands in negotiation. (Cameras and microphones reach them on receive slots:
//! `pool`.)

use super::simulcast::ArrivingLayers;
use app::protocol::PeerId;
use str0m::media::{MediaKind, Mid};

/// A track a participant sends.
#[derive(Clone, Copy, Debug)]
pub(super) struct TrackIn {
    pub(super) mid: Mid,
    pub(super) kind: MediaKind,
    /// Their presentation (a second video: the camera's line comes first).
    pub(super) presentation: bool,
    /// Whether media has come on it. A presentation's line is there from the start
    /// but reaches the others only once they present (so that the others'
    /// connections do not grow by a line per person who never presents).
    pub(super) flowing: bool,
    /// Sent in simulcast layers (`a=simulcast` in their offer).
    pub(super) simulcast: bool,
    /// The layers arriving, for a simulcast track.
    pub(super) layers: ArrivingLayers,
}

impl TrackIn {
    /// Whether the others get it now.
    pub(super) fn forwarded(&self) -> bool {
        !self.presentation || self.flowing
    }
}

/// How a presentation the server sends a participant stands in negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OutState {
    /// To be offered.
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
    /// Its presenter left: to be stopped.
    ToStop(Mid),
    Stopping(Mid),
}

/// Someone's presentation, as the server sends it to a participant: a line of its own
/// (a presentation is rare, and its tile is apart from the cameras').
#[derive(Debug)]
pub(super) struct TrackOut {
    pub(super) source: PeerId,
    pub(super) source_mid: Mid,
    pub(super) state: OutState,
}

impl TrackOut {
    pub(super) fn to_open(source: PeerId, track: TrackIn) -> Self {
        Self {
            source,
            source_mid: track.mid,
            state: OutState::ToOpen,
        }
    }

    /// The stream it is in, as the receiver sees it: the presenter's peer id and
    /// `-screen`.
    pub(super) fn stream_name(&self) -> String {
        format!("{}-screen", self.source)
    }

    pub(super) fn mid(&self) -> Option<Mid> {
        match self.state {
            OutState::ToOpen => None,
            OutState::Negotiating(m)
            | OutState::Open(m)
            | OutState::ToStop(m)
            | OutState::Stopping(m) => Some(m),
        }
    }
}
