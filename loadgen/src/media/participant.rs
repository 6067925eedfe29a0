//! One synthetic participant of `parley-load --media`: its str0m `Rtc` and UDP socket,
//! its offer and answers over signaling, the audio and simulcast video frames it sends
//! (each stamped with its sender and send time), and what it counts of those it gets.

use super::Shared;
use crate::Ws;
use app::protocol::{
    simulcast_layer, ClientMessage, Delivery, ServerMessage, ShownTile, SIMULCAST_LAYERS,
};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::Message;

/// Video frames a second, every layer.
pub(super) const VIDEO_FPS: u64 = 15;
/// Each layer's picture (lowest first, as `SIMULCAST_LAYERS`) and bytes a frame.
pub(super) const LAYER_WIDTH: [u16; 3] = [320, 640, 1280];
pub(super) const LAYER_HEIGHT: [u16; 3] = [180, 360, 720];
pub(super) const LAYER_FRAME_BYTES: [usize; 3] = [250, 700, 2_000];
/// Audio: a 20 ms Opus frame of about 32 kbit/s.
pub(super) const AUDIO_EVERY: Duration = Duration::from_millis(20);
pub(super) const AUDIO_FRAME_BYTES: usize = 80;
/// Marks a frame from parley-load, before its sender and send time.
pub(super) const MAGIC: &[u8; 4] = b"PLd1";
/// In each meeting this many speak (their audio level that of speech); the others are
/// silent (the level of silence): a large meeting forwards only the loudest few.
pub(super) const SPEAKERS_PER_MEETING: usize = 3;
pub(super) const SPEECH_LEVEL: i8 = 30;
pub(super) const SILENCE_LEVEL: i8 = 127;
/// How often each participant pings the signaling server (browsers: every few s).
pub(super) const PING_EVERY: Duration = Duration::from_secs(5);

/// One synthetic participant's media side.
pub(super) struct Participant {
    index: u32,
    /// Sends the audio level of speech (else of silence).
    speaking: bool,
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    audio: Mid,
    video: Mid,
    pending: Option<SdpPendingOffer>,
    /// Its offer, sent once signaling runs.
    offer: String,
    /// Layers whose next frame is a keyframe (the first, and each asked for).
    keyframe_due: [bool; 3],
    next_audio: Instant,
    next_video: Instant,
    audio_frames: u64,
    video_frames: u64,
    connected: bool,
}

impl Participant {
    pub(super) async fn new(index: u32, speaking: bool) -> Result<Self, String> {
        let socket = UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
        let mut change = rtc.sdp_api();
        let stream = Some(format!("load-{index}"));
        let audio = change.add_media(
            MediaKind::Audio,
            Direction::SendRecv,
            stream.clone(),
            None,
            None,
        );
        let mut simulcast = Simulcast::new();
        for rid in SIMULCAST_LAYERS {
            simulcast.add_send_layer(SimulcastLayer::new(rid));
        }
        let video = change.add_media(
            MediaKind::Video,
            Direction::SendRecv,
            stream,
            None,
            Some(simulcast),
        );
        let (offer, pending) = change.apply().ok_or("no offer")?;
        let now = Instant::now();
        Ok(Self {
            index,
            speaking,
            rtc,
            socket,
            local,
            audio,
            video,
            pending: Some(pending),
            offer: offer.to_sdp_string(),
            keyframe_due: [true; 3],
            next_audio: now,
            next_video: now,
            audio_frames: 0,
            video_frames: 0,
            connected: false,
        })
    }

    /// Offers, then sends and receives until told to stop.
    pub(super) async fn run(mut self, mut ws: Ws, mates: Vec<ShownTile>, shared: Arc<Shared>) {
        let fail = |shared: &Shared, what: &str| {
            eprintln!("participant: {what}");
            shared.totals.errors.fetch_add(1, Ordering::Relaxed);
        };
        let offer = std::mem::take(&mut self.offer);
        if send(&mut ws, &ClientMessage::SfuOffer { sdp: offer })
            .await
            .is_err()
        {
            return fail(&shared, "signaling closed");
        }
        if send(&mut ws, &ClientMessage::TilesShown { tiles: mates })
            .await
            .is_err()
        {
            return fail(&shared, "signaling closed");
        }
        let mut buf = vec![0u8; 2_000];
        let mut seen = 0;
        let mut next_ping = Instant::now() + PING_EVERY;
        while !shared.stop.load(Ordering::Relaxed) {
            let wake = self.drive(&shared);
            let wake = tokio::time::Instant::from_std(wake.min(next_ping));
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    if let Ok((len, source)) = received {
                        self.receive(&buf[..len], source, &shared);
                    }
                }
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else {
                        return fail(&shared, "signaling closed");
                    };
                    if let Message::Text(text) = frame {
                        if let Err(what) = self.signal(&mut ws, text.as_str(), &mut seen).await {
                            return fail(&shared, &what);
                        }
                    }
                }
                () = tokio::time::sleep_until(wake) => {}
            }
            if Instant::now() >= next_ping {
                next_ping = Instant::now() + PING_EVERY;
                let _ = send(&mut ws, &ClientMessage::Ping { seen }).await;
            }
            if self
                .rtc
                .handle_input(Input::Timeout(Instant::now()))
                .is_err()
            {
                return fail(&shared, "media session failed");
            }
        }
        let _ = send(&mut ws, &ClientMessage::Leave).await;
    }

    /// A signaling message: the server's answer, or an offer of its own to answer.
    async fn signal(&mut self, ws: &mut Ws, text: &str, seen: &mut u64) -> Result<(), String> {
        let delivery = Delivery::from_json(text).map_err(|e| e.to_string())?;
        if let Some(seq) = delivery.seq {
            *seen = seq;
        }
        match delivery.message {
            ServerMessage::SfuAnswer { sdp } => {
                let answer = SdpAnswer::from_sdp_string(&sdp).map_err(|e| e.to_string())?;
                if let Some(pending) = self.pending.take() {
                    self.rtc
                        .sdp_api()
                        .accept_answer(pending, answer)
                        .map_err(|e| e.to_string())?;
                }
            }
            ServerMessage::SfuOffer { sdp } => {
                let offer = SdpOffer::from_sdp_string(&sdp).map_err(|e| e.to_string())?;
                let answer = self
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .map_err(|e| e.to_string())?;
                send(
                    ws,
                    &ClientMessage::SfuAnswer {
                        sdp: answer.to_sdp_string(),
                    },
                )
                .await
                .map_err(|_| "signaling closed".to_string())?;
            }
            ServerMessage::Error { message, .. } => return Err(message),
            _ => {}
        }
        Ok(())
    }

    fn receive(&mut self, packet: &[u8], source: SocketAddr, shared: &Shared) {
        let Ok(contents) = packet.try_into() else {
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        if self.rtc.handle_input(input).is_err() {
            shared.totals.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.drive(shared);
    }

    /// Sends the frames due and handles the `Rtc`'s output; returns when next to wake.
    fn drive(&mut self, shared: &Shared) -> Instant {
        let now = Instant::now();
        if self.connected {
            self.send_due(now, shared);
        }
        loop {
            let output = match self.rtc.poll_output() {
                Ok(output) => output,
                Err(_) => {
                    shared.totals.errors.fetch_add(1, Ordering::Relaxed);
                    return now + Duration::from_millis(20);
                }
            };
            match output {
                Output::Timeout(at) => {
                    return at.min(self.next_audio).min(self.next_video);
                }
                Output::Transmit(transmit) => {
                    let _ = self
                        .socket
                        .try_send_to(&transmit.contents, transmit.destination);
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::KeyframeRequest(request)) => {
                    if let Some(layer) = request.rid.and_then(|rid| simulcast_layer(&rid)) {
                        self.keyframe_due[layer] = true;
                    }
                }
                Output::Event(Event::MediaData(data)) => received(&data.data, shared),
                Output::Event(_) => {}
            }
        }
    }

    /// Writes the audio and video frames whose time has come.
    fn send_due(&mut self, now: Instant, shared: &Shared) {
        let stamp = |index: u32| {
            let mut stamp = MAGIC.to_vec();
            stamp.extend_from_slice(&index.to_be_bytes());
            stamp.extend_from_slice(&(shared.epoch.elapsed().as_micros() as u64).to_be_bytes());
            stamp
        };
        if now >= self.next_audio {
            self.next_audio += AUDIO_EVERY;
            if let Some(writer) = self.rtc.writer(self.audio) {
                let pt = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Opus)
                    .map(|p| p.pt());
                if let Some(pt) = pt {
                    let mut frame = stamp(self.index);
                    frame.resize(AUDIO_FRAME_BYTES, 0);
                    let time = MediaTime::from_millis(self.audio_frames * 20)
                        .rebase(str0m::media::Frequency::FORTY_EIGHT_KHZ);
                    let level = if self.speaking {
                        SPEECH_LEVEL
                    } else {
                        SILENCE_LEVEL
                    };
                    let writer = writer.audio_level(-level, self.speaking);
                    if writer.write(pt, now, time, frame).is_ok() {
                        self.audio_frames += 1;
                        shared.totals.audio_sent.fetch_add(1, Ordering::Relaxed);
                        if self.speaking {
                            shared.totals.speech_sent.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        if now >= self.next_video {
            self.next_video += Duration::from_millis(1_000 / VIDEO_FPS);
            let time = MediaTime::from_90khz(self.video_frames * 90_000 / VIDEO_FPS);
            let mut sent = false;
            for (layer, rid) in SIMULCAST_LAYERS.iter().enumerate() {
                let Some(writer) = self.rtc.writer(self.video) else {
                    break;
                };
                let pt = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Vp8)
                    .map(|p| p.pt());
                let Some(pt) = pt else { break };
                let keyframe = std::mem::take(&mut self.keyframe_due[layer]);
                let mut frame = vp8_header(keyframe, layer);
                frame.extend(stamp(self.index));
                frame.resize(LAYER_FRAME_BYTES[layer], 0);
                if writer
                    .rid(Rid::from(*rid))
                    .write(pt, now, time, frame)
                    .is_ok()
                {
                    sent = true;
                } else {
                    self.keyframe_due[layer] |= keyframe;
                }
            }
            if sent {
                self.video_frames += 1;
                shared.totals.video_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The start of a VP8 frame: a keyframe's 10 bytes (RFC 6386 9.1: frame tag, start
/// code, size) or an interframe's 3-byte tag.
fn vp8_header(keyframe: bool, layer: usize) -> Vec<u8> {
    if !keyframe {
        // Bit 0 set: an interframe; shown.
        return vec![0x11, 0x00, 0x00];
    }
    let mut header = vec![0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a];
    header.extend_from_slice(&LAYER_WIDTH[layer].to_le_bytes());
    header.extend_from_slice(&LAYER_HEIGHT[layer].to_le_bytes());
    header
}

/// A frame reached a participant: counted, and its delay kept while measuring.
fn received(frame: &[u8], shared: &Shared) {
    let Some(start) = frame
        .windows(MAGIC.len())
        .take(16)
        .position(|window| window == MAGIC)
    else {
        return;
    };
    let video = start > 0;
    let sent_at = frame
        .get(start + 8..start + 16)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u64::from_be_bytes);
    if !shared.measuring.load(Ordering::Relaxed) {
        return;
    }
    let totals = &shared.totals;
    totals
        .bytes_received
        .fetch_add(frame.len() as u64, Ordering::Relaxed);
    if video {
        totals.video_received.fetch_add(1, Ordering::Relaxed);
    } else {
        totals.audio_received.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(sent_at) = sent_at {
        let delay = (shared.epoch.elapsed().as_micros() as u64).saturating_sub(sent_at);
        let delay = delay.min(u64::from(u32::MAX)) as u32;
        let mut delays = shared.delays.lock().unwrap_or_else(|e| e.into_inner());
        if video {
            delays.1.push(delay);
        } else {
            delays.0.push(delay);
        }
    }
}

async fn send(ws: &mut Ws, message: &ClientMessage) -> Result<(), ()> {
    let text = serde_json::to_string(message).map_err(|_| ())?;
    ws.send(Message::Text(text.into())).await.map_err(|_| ())
}
