//! One participant's connection to the media port: their str0m `Rtc`, the tracks they
//! send (in) and those the server sends them from the others (out), and the server's
//! side of renegotiating when tracks come and go.

use crate::signaling::hub::Room;
use app::protocol::{PeerId, ServerMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

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
}

impl TrackIn {
    /// Whether the others get it now.
    pub(super) fn forwarded(&self) -> bool {
        !self.presentation || self.flowing
    }
}

/// How a track the server sends a participant stands in negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutState {
    /// To be offered.
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
    /// Its source left: to be stopped.
    ToStop(Mid),
    Stopping(Mid),
}

/// A track the server sends a participant: whose, and which of theirs.
#[derive(Clone, Copy, Debug)]
pub(super) struct TrackOut {
    source: PeerId,
    source_mid: Mid,
    kind: MediaKind,
    presentation: bool,
    state: OutState,
}

impl TrackOut {
    pub(super) fn to_open(source: PeerId, track: TrackIn) -> Self {
        Self {
            source,
            source_mid: track.mid,
            kind: track.kind,
            presentation: track.presentation,
            state: OutState::ToOpen,
        }
    }

    /// The stream it is in, as the receiver sees it: the sender's peer id, and for
    /// their presentation `-screen` after it.
    fn stream_name(&self) -> String {
        if self.presentation {
            format!("{}-screen", self.source)
        } else {
            self.source.to_string()
        }
    }

    fn mid(&self) -> Option<Mid> {
        match self.state {
            OutState::ToOpen => None,
            OutState::Negotiating(m)
            | OutState::Open(m)
            | OutState::ToStop(m)
            | OutState::Stopping(m) => Some(m),
        }
    }
}

/// What one participant's output means for the others.
pub(super) enum Propagated {
    /// They started sending a track.
    TrackOpen { origin: PeerId, track: TrackIn },
    /// Media from them, to forward (boxed: a frame's details are large beside the
    /// other events).
    Media {
        origin: PeerId,
        data: Box<MediaData>,
    },
    /// A receiver wants a keyframe of `source`'s track `mid`.
    KeyframeWanted { source: PeerId, mid: Mid },
}

/// The participant's connection ended.
pub(super) struct Gone;

pub(super) struct Client {
    pub(super) peer: PeerId,
    pub(super) room: Arc<Room>,
    pub(super) rtc: Rtc,
    /// The server's ICE ufrag for them (the key of their first STUN request).
    pub(super) ufrag: String,
    /// The addresses their packets came from.
    pub(super) addresses: Vec<SocketAddr>,
    pub(super) tracks_in: Vec<TrackIn>,
    pub(super) tracks_out: Vec<TrackOut>,
    /// The server's offer awaiting their answer.
    pending: Option<SdpPendingOffer>,
}

impl Client {
    pub(super) fn new(peer: PeerId, room: Arc<Room>, rtc: Rtc) -> Self {
        Self {
            peer,
            room,
            rtc,
            ufrag: String::new(),
            addresses: Vec::new(),
            tracks_in: Vec::new(),
            tracks_out: Vec::new(),
            pending: None,
        }
    }

    pub(super) fn handle(&mut self, input: Input) {
        if !self.rtc.is_alive() {
            return;
        }
        if let Err(error) = self.rtc.handle_input(input) {
            tracing::info!(peer = %self.peer, %error, "media session failed");
            self.rtc.disconnect();
        }
    }

    /// Drives output until the `Rtc` only waits for time: returns until when.
    pub(super) fn poll(
        &mut self,
        socket: &UdpSocket,
        propagated: &mut Vec<Propagated>,
    ) -> Result<Instant, Gone> {
        self.negotiate();
        loop {
            if !self.rtc.is_alive() {
                return Err(Gone);
            }
            let output = match self.rtc.poll_output() {
                Ok(output) => output,
                Err(error) => {
                    tracing::info!(peer = %self.peer, %error, "media session failed");
                    self.rtc.disconnect();
                    return Err(Gone);
                }
            };
            match output {
                Output::Timeout(at) => return Ok(at),
                Output::Transmit(transmit) => {
                    // A full send buffer drops the datagram, as the network would.
                    let _ = socket.try_send_to(&transmit.contents, transmit.destination);
                }
                Output::Event(event) => self.event(event, propagated),
            }
        }
    }

    fn event(&mut self, event: Event, propagated: &mut Vec<Propagated>) {
        match event {
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.rtc.disconnect();
            }
            // Media they added that we receive (our direction recvonly or sendrecv).
            Event::MediaAdded(added)
                if matches!(added.direction, Direction::RecvOnly | Direction::SendRecv) =>
            {
                let presentation = added.kind == MediaKind::Video
                    && self.tracks_in.iter().any(|t| t.kind == MediaKind::Video);
                let track = TrackIn {
                    mid: added.mid,
                    kind: added.kind,
                    presentation,
                    flowing: false,
                };
                self.tracks_in.push(track);
                if track.forwarded() {
                    propagated.push(Propagated::TrackOpen {
                        origin: self.peer,
                        track,
                    });
                }
            }
            Event::MediaData(data) => {
                let first = self
                    .tracks_in
                    .iter_mut()
                    .find(|t| t.mid == data.mid && !t.flowing);
                if let Some(track) = first {
                    track.flowing = true;
                    if track.presentation {
                        propagated.push(Propagated::TrackOpen {
                            origin: self.peer,
                            track: *track,
                        });
                    }
                }
                if !data.contiguous {
                    propagated.push(Propagated::KeyframeWanted {
                        source: self.peer,
                        mid: data.mid,
                    });
                }
                propagated.push(Propagated::Media {
                    origin: self.peer,
                    data: Box::new(data),
                });
            }
            Event::KeyframeRequest(request) => {
                let source = self
                    .tracks_out
                    .iter()
                    .find(|t| t.mid() == Some(request.mid));
                if let Some(track) = source {
                    propagated.push(Propagated::KeyframeWanted {
                        source: track.source,
                        mid: track.source_mid,
                    });
                }
            }
            _ => {}
        }
    }

    /// Sends `origin`'s media on the track that carries it, once that track is open.
    pub(super) fn forward(&mut self, origin: PeerId, data: &MediaData) {
        let Some(mid) = self
            .tracks_out
            .iter()
            .find(|t| t.source == origin && t.source_mid == data.mid)
            .and_then(|t| match t.state {
                OutState::Open(mid) => Some(mid),
                _ => None,
            })
        else {
            return;
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return;
        };
        if let Err(error) = writer.write(pt, data.network_time, data.time, data.data.clone()) {
            tracing::info!(peer = %self.peer, %error, "could not forward media");
            self.rtc.disconnect();
        }
    }

    /// Asks this participant for a keyframe of their track `mid`.
    pub(super) fn request_keyframe(&mut self, mid: Mid) {
        if let Some(mut writer) = self.rtc.writer(mid) {
            let _ = writer.request_keyframe(None, KeyframeRequestKind::Pli);
        }
    }

    /// `source` left: the tracks carrying them stop.
    pub(super) fn source_gone(&mut self, source: PeerId) {
        self.tracks_out.retain_mut(|track| {
            if track.source != source {
                return true;
            }
            match track.state {
                OutState::ToOpen => false,
                OutState::Negotiating(mid) | OutState::Open(mid) => {
                    track.state = OutState::ToStop(mid);
                    true
                }
                OutState::ToStop(_) | OutState::Stopping(_) => true,
            }
        });
    }

    /// Offers the tracks to add and stop, unless an offer is already out.
    fn negotiate(&mut self) {
        if self.pending.is_some() || !self.rtc.is_alive() {
            return;
        }
        let mut change = self.rtc.sdp_api();
        for track in &mut self.tracks_out {
            match track.state {
                OutState::ToOpen => {
                    let mid = change.add_media(
                        track.kind,
                        Direction::SendOnly,
                        // Their stream is named by their peer id.
                        Some(track.stream_name()),
                        None,
                        None,
                    );
                    track.state = OutState::Negotiating(mid);
                }
                OutState::ToStop(mid) => {
                    change.stop_media(mid);
                    track.state = OutState::Stopping(mid);
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return;
        }
        let Some((offer, pending)) = change.apply() else {
            return;
        };
        self.pending = Some(pending);
        let sdp = offer.to_sdp_string();
        if self
            .room
            .send_to(self.peer, &ServerMessage::SfuOffer { sdp })
            .is_none()
        {
            // No longer in the meeting: the session goes.
            self.rtc.disconnect();
        }
    }

    /// Their answer to the server's offer. Returns the sources of the tracks it
    /// opened: each needs a keyframe, for the picture to start at once.
    pub(super) fn accept_answer(&mut self, answer: SdpAnswer) -> Vec<(PeerId, Mid)> {
        let Some(pending) = self.pending.take() else {
            return Vec::new();
        };
        if let Err(error) = self.rtc.sdp_api().accept_answer(pending, answer) {
            tracing::info!(peer = %self.peer, %error, "media answer refused");
            self.rtc.disconnect();
            return Vec::new();
        }
        let mut opened = Vec::new();
        for track in &mut self.tracks_out {
            if let OutState::Negotiating(mid) = track.state {
                track.state = OutState::Open(mid);
                if track.kind == MediaKind::Video {
                    opened.push((track.source, track.source_mid));
                }
            }
        }
        self.tracks_out
            .retain(|t| !matches!(t.state, OutState::Stopping(_)));
        opened
    }
}
