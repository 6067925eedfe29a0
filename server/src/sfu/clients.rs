//! One participant's connection to the media port: their str0m `Rtc`, the tracks they
//! send (in), their receive slots and the presentations the server sends them (out),
//! and what their output means for the others (what reaches them is `forwarding`, the
//! renegotiation `renegotiation`).

use super::allocation::SteadyEstimate;
use super::layers::Layer;
use super::pool::Pool;
use super::simulcast::ArrivingLayers;
use super::tracks::{TrackIn, TrackOut};
use crate::signaling::hub::Room;
use app::protocol::{simulcast_layer, PeerId, SIMULCAST_LAYERS};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpPendingOffer;
use str0m::crypto::CryptoProvider;
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

/// Where each receiver's bandwidth estimate starts, bits a second: two cameras in
/// their full layers, so that a small meeting starts sharp (a narrower link shows in
/// the first feedback, and the layers drop at once).
const INITIAL_ESTIMATE: u64 = 3_000_000;

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
    /// The others' presentations sent to them.
    pub(super) tracks_out: Vec<TrackOut>,
    /// Their receive slots, which carry the others' cameras and microphones.
    pub(super) pool: Pool,
    /// The server's offer awaiting their answer.
    pub(super) pending: Option<SdpPendingOffer>,
    /// The cameras they show and how tall (`tiles_shown`); `None` until they say.
    pub(super) shown: Option<HashMap<PeerId, u32>>,
    /// How much the way to them carries, bits a second: str0m's estimate from their
    /// transport-wide feedback, steadied (none while there is none, as when their
    /// browser gives no such feedback: no limit then).
    pub(super) estimate: SteadyEstimate,
    /// The bitrate the estimator was last told to probe towards.
    pub(super) desired: u64,
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
            pool: Pool::default(),
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
                if let Some(slot) = self.pool.video_slot(request.mid) {
                    // Nothing goes out yet: the switch asks for its own keyframe.
                    if let (Some((source, mid)), Some(layer)) =
                        (slot.source(), slot.layers.current())
                    {
                        propagated.push(Propagated::KeyframeWanted {
                            source,
                            mid,
                            layer: slot.simulcast.then_some(layer),
                        });
                    }
                } else if let Some(track) = self
                    .tracks_out
                    .iter()
                    .find(|t| t.mid() == Some(request.mid))
                {
                    propagated.push(Propagated::KeyframeWanted {
                        source: track.source,
                        mid: track.source_mid,
                        layer: None,
                    });
                }
            }
            _ => {}
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
}
