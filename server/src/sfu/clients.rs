//! One participant's connection to the media port: their str0m `Rtc`, the tracks they
//! send (in) and those the server sends them from the others (out), the server's side
//! of renegotiating when tracks come and go, and the simulcast layer each camera
//! reaches them in.

use super::layers::Layer;
use super::simulcast::{choose_layer, ArrivingLayers, LayerForwarder};
use super::tracks::{OutState, TrackIn, TrackOut};
use crate::signaling::hub::Room;
use app::protocol::{simulcast_layer, PeerId, ServerMessage, SIMULCAST_LAYERS};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid, Rid};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

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
    /// A receiver wants a keyframe of `source`'s track `mid` (of simulcast `layer`).
    KeyframeWanted {
        source: PeerId,
        mid: Mid,
        layer: Option<usize>,
    },
}

/// A sender's track and simulcast layer: what a keyframe is asked of.
pub(super) type KeyframeSource = (PeerId, Mid, Option<usize>);

/// The layers arriving of every simulcast camera, by sender and track.
pub(super) type ArrivingByTrack = HashMap<(PeerId, Mid), Vec<(usize, Layer)>>;

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
    /// The cameras they show and how tall (`tiles_shown`); `None` until they say.
    pub(super) shown: Option<HashMap<PeerId, u32>>,
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
            shown: None,
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
                let simulcast =
                    added.kind == MediaKind::Video && !presentation && added.simulcast.is_some();
                let track = TrackIn {
                    mid: added.mid,
                    kind: added.kind,
                    presentation,
                    flowing: false,
                    simulcast,
                    layers: ArrivingLayers::default(),
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
                let layer = data.rid.and_then(|rid| simulcast_layer(&rid));
                if let Some(track) = self.tracks_in.iter_mut().find(|t| t.mid == data.mid) {
                    if let Some(layer) = layer.filter(|_| !track.presentation) {
                        // (Layers say it is simulcast, whatever the SDP said.)
                        track.simulcast = true;
                        track.layers.on_frame(layer, &data.data, data.network_time);
                    }
                    if !track.flowing {
                        track.flowing = true;
                        if track.presentation {
                            propagated.push(Propagated::TrackOpen {
                                origin: self.peer,
                                track: *track,
                            });
                        }
                    }
                }
                if !data.contiguous {
                    propagated.push(Propagated::KeyframeWanted {
                        source: self.peer,
                        mid: data.mid,
                        layer,
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
                    let layer = match &track.simulcast {
                        // Nothing goes out yet: the switch asks for its own keyframe.
                        Some(forwarder) if forwarder.current().is_none() => return,
                        Some(forwarder) => forwarder.current(),
                        None => None,
                    };
                    propagated.push(Propagated::KeyframeWanted {
                        source: track.source,
                        mid: track.source_mid,
                        layer,
                    });
                }
            }
            _ => {}
        }
    }

    /// Sends `origin`'s media on the track that carries it, once that track is open
    /// (of a simulcast camera, only the layer chosen for them).
    pub(super) fn forward(&mut self, origin: PeerId, data: &MediaData) {
        let Some(track) = self
            .tracks_out
            .iter_mut()
            .find(|t| t.source == origin && t.source_mid == data.mid)
        else {
            return;
        };
        let OutState::Open(mid) = track.state else {
            return;
        };
        let layer = data.rid.and_then(|rid| simulcast_layer(&rid));
        if data.rid.is_some() && layer.is_none() {
            // A layer of no name Parley gives: mixed into one stream it would garble.
            return;
        }
        if layer.is_some() && track.simulcast.is_none() && !track.presentation() {
            track.simulcast = Some(LayerForwarder::default());
        }
        let time = match (&mut track.simulcast, layer) {
            (Some(forwarder), Some(layer)) => {
                // RTP timestamps are 32 bits: the low bits of str0m's extended time.
                let timestamp = data.time.numer() as u32;
                let Some(out) =
                    forwarder.pass(layer, data.is_keyframe(), timestamp, data.network_time)
                else {
                    return;
                };
                MediaTime::new(u64::from(out), data.time.frequency())
            }
            _ => data.time,
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return;
        };
        if let Err(error) = writer.write(pt, data.network_time, time, data.data.clone()) {
            tracing::info!(peer = %self.peer, %error, "could not forward media");
            self.rtc.disconnect();
        }
    }

    /// Asks this participant for a keyframe of their track `mid` (of simulcast `layer`).
    pub(super) fn request_keyframe(&mut self, mid: Mid, layer: Option<usize>) {
        let rid = layer
            .and_then(|layer| SIMULCAST_LAYERS.get(layer))
            .map(|name| Rid::from(*name));
        if let Some(mut writer) = self.rtc.writer(mid) {
            let _ = writer.request_keyframe(rid, KeyframeRequestKind::Pli);
        }
    }

    /// Sets the layer each simulcast camera should reach them in, from the layers
    /// arriving and the size they show it at; the layers switched to need a keyframe
    /// (added to `wanted`).
    pub(super) fn choose_layers(
        &mut self,
        arriving: &ArrivingByTrack,
        wanted: &mut Vec<KeyframeSource>,
    ) {
        for track in &mut self.tracks_out {
            let (Some(forwarder), OutState::Open(_)) = (&mut track.simulcast, track.state) else {
                continue;
            };
            let Some(layers) = arriving.get(&(track.source, track.source_mid)) else {
                continue;
            };
            let shown = self
                .shown
                .as_ref()
                .and_then(|shown| shown.get(&track.source).copied());
            let target = choose_layer(layers, shown);
            if forwarder.set_target(target) {
                wanted.push((track.source, track.source_mid, target));
            }
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
    pub(super) fn accept_answer(&mut self, answer: SdpAnswer) -> Vec<KeyframeSource> {
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
                // A simulcast camera's layer is chosen next, and asks its own keyframe.
                if track.kind == MediaKind::Video && track.simulcast.is_none() {
                    opened.push((track.source, track.source_mid, None));
                }
            }
        }
        self.tracks_out
            .retain(|t| !matches!(t.state, OutState::Stopping(_)));
        opened
    }
}
