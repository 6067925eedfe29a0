//! The tracks of one participant's connection to the media port: those they send
//! (in), and those the server sends them from the others (out), with how each out
//! track stands in negotiation and, for a simulcast camera, which layer it carries.

use super::simulcast::{ArrivingLayers, LayerForwarder};
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

/// How a track the server sends a participant stands in negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OutState {
    /// To be offered.
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
    /// Its source left: to be stopped.
    ToStop(Mid),
    Stopping(Mid),
}

/// A track the server sends a participant: whose, and which of theirs.
#[derive(Debug)]
pub(super) struct TrackOut {
    pub(super) source: PeerId,
    pub(super) source_mid: Mid,
    pub(super) kind: MediaKind,
    presentation: bool,
    pub(super) state: OutState,
    /// For a simulcast source, the layer it carries (see `choose_layers`).
    pub(super) simulcast: Option<LayerForwarder>,
}

impl TrackOut {
    pub(super) fn to_open(source: PeerId, track: TrackIn) -> Self {
        Self {
            source,
            source_mid: track.mid,
            kind: track.kind,
            presentation: track.presentation,
            state: OutState::ToOpen,
            simulcast: track.simulcast.then(LayerForwarder::default),
        }
    }

    /// The stream it is in, as the receiver sees it: the sender's peer id, and for
    /// their presentation `-screen` after it.
    pub(super) fn stream_name(&self) -> String {
        if self.presentation {
            format!("{}-screen", self.source)
        } else {
            self.source.to_string()
        }
    }

    pub(super) fn presentation(&self) -> bool {
        self.presentation
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
