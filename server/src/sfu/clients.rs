//! One participant's connection to the media port: their str0m `Rtc`, the tracks they
//! send (in) and those the server sends them from the others (out), what their output
//! means for the others, and the simulcast layer each camera reaches them in (the
//! renegotiation is `renegotiation`).

use super::allocation::{allocate_receiver, SteadyEstimate, Want};
use super::layers::Layer;
use super::simulcast::{ArrivingLayers, LayerForwarder};
use super::tracks::{OutState, TrackIn, TrackOut};
use crate::signaling::hub::Room;
use app::protocol::{simulcast_layer, PeerId, SIMULCAST_LAYERS};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpPendingOffer;
use str0m::crypto::CryptoProvider;
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid, Rid};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

/// Where each receiver's bandwidth estimate starts, bits a second: two cameras in
/// their full layers, so that a small meeting starts sharp (a narrower link shows in
/// the first feedback, and the layers drop at once).
const INITIAL_ESTIMATE: u64 = 3_000_000;
/// The share of a receiver's estimated bandwidth their cameras may take, percent.
const BUDGET_PERCENT: u64 = 85;
/// How far past what a receiver's cameras need the estimator probes: room for the
/// pacer to send a keyframe's burst without holding the stream back (it paces at the
/// estimate), and for a tile that grows (pinned) to get its layer at once. (Someone
/// who shows no camera gets no probing at all: it would be padding for nothing.)
const PROBE_HEADROOM: u64 = 2;

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

/// What the media port sent, for its metrics (the handles registered once: a
/// datagram is counted without a lookup).
pub(super) struct SentCounters {
    datagrams: metrics::Counter,
    bytes: metrics::Counter,
    unsent: metrics::Counter,
}

impl SentCounters {
    pub(super) fn new() -> Self {
        Self {
            datagrams: metrics::counter!(crate::monitoring::MEDIA_DATAGRAMS_SENT),
            bytes: metrics::counter!(crate::monitoring::MEDIA_BYTES_SENT),
            unsent: metrics::counter!(crate::monitoring::MEDIA_DATAGRAMS_UNSENT),
        }
    }

    fn count(&self, bytes: usize) {
        self.datagrams.increment(1);
        self.bytes.increment(bytes as u64);
    }
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
    pub(super) pending: Option<SdpPendingOffer>,
    /// The cameras they show and how tall (`tiles_shown`); `None` until they say.
    pub(super) shown: Option<HashMap<PeerId, u32>>,
    /// How much the way to them carries, bits a second: str0m's estimate from their
    /// transport-wide feedback, steadied (none while there is none, as when their
    /// browser gives no such feedback: no limit then).
    pub(super) estimate: SteadyEstimate,
    /// The bitrate the estimator was last told to probe towards.
    desired: u64,
    /// When their `Rtc` next needs the time (from its last poll).
    pub(super) wake_at: Instant,
    /// Whether something was given to their `Rtc` since its last poll: only such
    /// participants are polled (polling all of them for each datagram cost most of
    /// the port's time with a few dozen).
    pub(super) dirty: bool,
}

impl Client {
    /// A participant's new connection to the media port, before their offer.
    pub(super) fn session(crypto: Arc<CryptoProvider>) -> Rtc {
        Rtc::builder()
            .set_ice_lite(true)
            // Opus and VP8 only: every line of the server's offers lists its codecs,
            // and a connection has two lines a person (more codecs made a meeting of
            // 25 overflow the largest SDP a message may carry).
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_crypto_provider(crypto)
            // Each receiver's layers fit the bandwidth estimated from their feedback.
            .enable_bwe(Some(Bitrate::bps(INITIAL_ESTIMATE)))
            .build(Instant::now())
    }

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
            estimate: SteadyEstimate::default(),
            desired: 0,
            wake_at: Instant::now(),
            dirty: true,
        }
    }

    pub(super) fn handle(&mut self, input: Input) {
        // (A dead session is polled too: the poll finds it gone.)
        self.dirty = true;
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
        sent: &SentCounters,
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
                    match socket.try_send_to(&transmit.contents, transmit.destination) {
                        Ok(_) => sent.count(transmit.contents.len()),
                        Err(_) => sent.unsent.increment(1),
                    }
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
            Event::EgressBitrateEstimate(BweKind::Twcc {
                estimate,
                can_probe,
            }) => {
                if can_probe {
                    self.estimate.update(estimate.as_u64(), Instant::now());
                }
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
        self.dirty = true;
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
            self.dirty = true;
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
        let mut cameras = Vec::new();
        for (index, track) in self.tracks_out.iter().enumerate() {
            if track.simulcast.is_none() || !matches!(track.state, OutState::Open(_)) {
                continue;
            }
            if let Some(layers) = arriving.get(&(track.source, track.source_mid)) {
                let shown = self
                    .shown
                    .as_ref()
                    .and_then(|shown| shown.get(&track.source).copied());
                cameras.push((
                    index,
                    Want {
                        arriving: layers,
                        shown,
                    },
                ));
            }
        }
        let wants: Vec<Want> = cameras.iter().map(|(_, want)| *want).collect();
        // Within the estimate, less a margin for audio, resends and keyframes.
        let budget = self
            .estimate
            .steady(Instant::now())
            .map(|estimate| estimate / 100 * BUDGET_PERCENT);
        let allocation = allocate_receiver(&wants, budget);
        // The estimator probes past what they would get with no limit (it finds no
        // more room than it probes for); told again when that changes by a tenth.
        let desired = allocation.desired * PROBE_HEADROOM;
        if desired.abs_diff(self.desired) > self.desired / 10 {
            self.desired = desired;
            self.rtc
                .bwe()
                .set_bitrate(Bitrate::ZERO, Bitrate::bps(desired));
        }
        for ((index, _), target) in cameras.iter().zip(allocation.layers) {
            let track = &mut self.tracks_out[*index];
            if let Some(forwarder) = &mut track.simulcast {
                if forwarder.set_target(target) {
                    wanted.push((track.source, track.source_mid, target));
                }
            }
        }
    }
}
