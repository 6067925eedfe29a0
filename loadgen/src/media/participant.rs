//! One synthetic participant of `parley-load --media`: its str0m `Rtc` and UDP socket,
//! its offer and answers over signaling, the clip's audio and simulcast video frames it
//! sends (each stamped with its sender and send time), and what it counts of those it
//! gets.

use super::fixture::{self, VIDEO_FPS};
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

/// Audio: one 20 ms Opus frame of the clip at a time.
pub(super) const AUDIO_EVERY: Duration = Duration::from_millis(20);
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
    /// Each layer's next frame of the clip (back to its keyframe, the first, when
    /// one is asked for).
    next_frame: [usize; 3],
    next_audio: Instant,
    next_video: Instant,
    audio_frames: u64,
    video_frames: u64,
    connected: bool,
}

impl Participant {
    pub(super) async fn new(index: u32, speaking: bool) -> Result<Self, String> {
        let socket = bind_with_buffers().map_err(|e| e.to_string())?;
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
            next_frame: [0; 3],
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
                Output::Timeout(at) if self.connected => {
                    return at.min(self.next_audio).min(self.next_video);
                }
                // Not sending yet: the frames' times (long past) are no reason to wake.
                Output::Timeout(at) => return at,
                Output::Transmit(transmit) => {
                    let _ = self
                        .socket
                        .try_send_to(&transmit.contents, transmit.destination);
                }
                Output::Event(Event::Connected) => {
                    // Sending starts now, not at the times passed while connecting.
                    self.connected = true;
                    self.next_audio = now;
                    self.next_video = now;
                }
                Output::Event(Event::KeyframeRequest(request)) => {
                    if let Some(layer) = request.rid.and_then(|rid| simulcast_layer(&rid)) {
                        self.next_frame[layer] = 0;
                    }
                }
                Output::Event(Event::MediaData(data)) => {
                    let video = data.params.spec().codec == Codec::Vp8;
                    received(&data.data, video, shared);
                }
                Output::Event(_) => {}
            }
        }
    }

    /// Writes the audio and video frames whose time has come.
    fn send_due(&mut self, now: Instant, shared: &Shared) {
        let stamp = fixture::stamp(self.index, shared.epoch.elapsed().as_micros() as u64);
        if now >= self.next_audio {
            self.next_audio += AUDIO_EVERY;
            if let Some(writer) = self.rtc.writer(self.audio) {
                let pt = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Opus)
                    .map(|p| p.pt());
                if let Some(pt) = pt {
                    let clip = &shared.fixture.audio;
                    let packet = &clip[self.audio_frames as usize % clip.len()];
                    let frame = fixture::stamped_opus(packet, stamp);
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
                let clip = &shared.fixture.layers[layer].frames;
                let index = self.next_frame[layer] % clip.len();
                let frame = fixture::stamped_vp8(&clip[index], stamp);
                if writer
                    .rid(Rid::from(*rid))
                    .write(pt, now, time, frame)
                    .is_ok()
                {
                    // Frame by frame; a frame not written is written next time (a
                    // keyframe too), so the decoder never misses one.
                    self.next_frame[layer] = index + 1;
                    sent = true;
                }
            }
            if sent {
                self.video_frames += 1;
                shared.totals.video_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A frame reached a participant: counted, and its delay kept while measuring.
fn received(frame: &[u8], video: bool, shared: &Shared) {
    let Some(sent_at) = fixture::sent_at(frame) else {
        return;
    };
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
    let delay = (shared.epoch.elapsed().as_micros() as u64).saturating_sub(sent_at);
    let delay = delay.min(u64::from(u32::MAX)) as u32;
    let mut delays = shared.delays.lock().unwrap_or_else(|e| e.into_inner());
    if video {
        delays.1.push(delay);
    } else {
        delays.0.push(delay);
    }
}

/// A loopback UDP socket with 1 MiB buffers: the media of a meeting of 25 overflows
/// the kernel's default when the machine is busy, and a participant that loses its
/// STUN answers loses its connection.
fn bind_with_buffers() -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(1024 * 1024);
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    UdpSocket::from_std(socket.into())
}

async fn send(ws: &mut Ws, message: &ClientMessage) -> Result<(), ()> {
    let text = serde_json::to_string(message).map_err(|_| ())?;
    ws.send(Message::Text(text.into())).await.map_err(|_| ())
}
