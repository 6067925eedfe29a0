//! `parley-load --media`: synthetic participants whose media goes through Parley's
//! media port, as browsers' does once a meeting moves there. Each is a str0m `Rtc` on
//! a UDP socket of its own: it sends Opus-sized audio frames and a VP8 camera in the
//! three simulcast layers a browser sends (a real VP8 keyframe header, so the server
//! measures each layer's size; made-up contents), says which tiles it shows
//! (`tiles_shown`), answers the server's offers, and counts what reaches it.
//!
//! Every frame carries its sender and its send time, so the forwarding delay (from the
//! sender's `write` to the receiver's frame, through the server, on loopback) is
//! measured per frame. The server's CPU time and memory come from /proc (`--server-pid`),
//! what it sent from its metrics (`--metrics-url`).

use crate::client::connect_and_join;
use crate::server_process::{cpu_time, resident_kib};
use crate::{create_rooms, LoadError, Ws};
use app::protocol::{
    simulcast_layer, ClientMessage, Delivery, PeerId, ServerMessage, ShownTile, SIMULCAST_LAYERS,
};
use futures_util::{stream, SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::Message;

/// Video frames a second, every layer.
const VIDEO_FPS: u64 = 15;
/// Each layer's picture (lowest first, as `SIMULCAST_LAYERS`) and bytes a frame.
const LAYER_WIDTH: [u16; 3] = [320, 640, 1280];
const LAYER_HEIGHT: [u16; 3] = [180, 360, 720];
const LAYER_FRAME_BYTES: [usize; 3] = [250, 700, 2_000];
/// Audio: a 20 ms Opus frame of about 32 kbit/s.
const AUDIO_EVERY: Duration = Duration::from_millis(20);
const AUDIO_FRAME_BYTES: usize = 80;
/// Marks a frame from parley-load, before its sender and send time.
const MAGIC: &[u8; 4] = b"PLd1";
/// In each meeting this many speak (their audio level that of speech); the others are
/// silent (the level of silence): a large meeting forwards only the loudest few.
const SPEAKERS_PER_MEETING: usize = 3;
const SPEECH_LEVEL: i8 = 30;
const SILENCE_LEVEL: i8 = 127;
/// How often each participant pings the signaling server (browsers: every few s).
const PING_EVERY: Duration = Duration::from_secs(5);

/// What a media load run is asked to do.
pub struct MediaLoad {
    pub url: String,
    pub participants: usize,
    pub room_size: usize,
    pub seconds: u64,
    pub warmup_seconds: u64,
    pub tile_height: u32,
    pub server_pid: Option<u32>,
    pub metrics_url: Option<String>,
}

/// Counters every participant adds to.
#[derive(Default)]
struct Totals {
    audio_sent: AtomicU64,
    /// Audio frames sent by those who speak.
    speech_sent: AtomicU64,
    /// Video frame times (each sent in every layer).
    video_sent: AtomicU64,
    audio_received: AtomicU64,
    video_received: AtomicU64,
    bytes_received: AtomicU64,
    errors: AtomicU64,
}

impl Totals {
    fn snapshot(&self) -> [u64; 6] {
        [
            &self.audio_sent,
            &self.speech_sent,
            &self.video_sent,
            &self.audio_received,
            &self.video_received,
            &self.bytes_received,
        ]
        .map(|counter| counter.load(Ordering::Relaxed))
    }
}

/// Shared by every participant: when to record, when to stop, what was measured.
struct Shared {
    epoch: Instant,
    totals: Totals,
    measuring: AtomicBool,
    stop: AtomicBool,
    /// Forwarding delays in microseconds, audio and video.
    delays: Mutex<(Vec<u32>, Vec<u32>)>,
}

pub async fn run(load: MediaLoad) -> Result<bool, LoadError> {
    let room_size = load.room_size.max(2);
    let rooms = load.participants.div_ceil(room_size);
    println!(
        "parley-load --media: {} participants in {rooms} meetings of {room_size}, {} s measured after {} s to settle",
        load.participants, load.seconds, load.warmup_seconds
    );
    println!(
        "  each sends VP8 in 3 layers ({}/{}/{} high, {VIDEO_FPS} fps, {}/{}/{} B a frame) and audio ({} B every 20 ms), and shows every other camera {} px high",
        LAYER_HEIGHT[0], LAYER_HEIGHT[1], LAYER_HEIGHT[2],
        LAYER_FRAME_BYTES[0], LAYER_FRAME_BYTES[1], LAYER_FRAME_BYTES[2],
        AUDIO_FRAME_BYTES, load.tile_height
    );
    let rss_start = load.server_pid.and_then(resident_kib);
    let codes = create_rooms(&load.url, rooms).await?;
    let ws_url = format!("{}/ws", load.url.replacen("http", "ws", 1));
    let joined: Vec<Result<(usize, Ws, PeerId), LoadError>> = stream::iter(0..load.participants)
        .map(|client| {
            let ws_url = ws_url.clone();
            let code = codes[client / room_size].clone();
            async move { connect_and_join(client, &ws_url, &code).await }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let mut clients = Vec::with_capacity(load.participants);
    for result in joined {
        clients.push(result?);
    }
    clients.sort_by_key(|(client, _, _)| *client);
    let ids: Vec<PeerId> = clients.iter().map(|(_, _, id)| *id).collect();

    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        totals: Totals::default(),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        delays: Mutex::new((Vec::new(), Vec::new())),
    });
    let mut tasks = Vec::new();
    for (client, ws, _) in clients {
        let room = client / room_size;
        let mates: Vec<ShownTile> = ids[room * room_size..((room + 1) * room_size).min(ids.len())]
            .iter()
            .filter(|id| **id != ids[client])
            .map(|id| ShownTile {
                id: *id,
                height: load.tile_height,
            })
            .collect();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let speaking = client % room_size < SPEAKERS_PER_MEETING;
            match Participant::new(client as u32, speaking).await {
                Ok(participant) => participant.run(ws, mates, shared).await,
                Err(error) => {
                    eprintln!("participant {client}: {error}");
                    shared.totals.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    // Everyone connects and every connection renegotiates for each newcomer: settle.
    tokio::time::sleep(Duration::from_secs(load.warmup_seconds)).await;
    let before = shared.totals.snapshot();
    let sent_before = media_sent(load.metrics_url.as_deref()).await;
    let cpu_before = load.server_pid.and_then(cpu_time);
    let own_before = cpu_time(std::process::id());
    shared.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(load.seconds)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let window = started.elapsed().as_secs_f64();
    let after = shared.totals.snapshot();
    let sent_after = media_sent(load.metrics_url.as_deref()).await;
    let cpu_after = load.server_pid.and_then(cpu_time);
    let own_after = cpu_time(std::process::id());
    let rss_busy = load.server_pid.and_then(resident_kib);
    shared.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }

    let [audio_sent, speech_sent, video_sent, audio_received, video_received, bytes_received] =
        [0, 1, 2, 3, 4, 5].map(|i| after[i] - before[i]);
    let receivers = (room_size - 1) as u64;
    let report = |what: &str, received: u64, expected: u64| {
        let lost = expected.saturating_sub(received);
        println!(
            "{what:<22} {received} of {expected} expected ({:.2}% not delivered)",
            lost as f64 * 100.0 / expected.max(1) as f64
        );
    };
    println!(
        "audio:                 {SPEAKERS_PER_MEETING} speak in each meeting, the others are silent: {speech_sent} of the {audio_sent} frames sent were speech"
    );
    report(
        "audio frames of speech:",
        audio_received,
        speech_sent * receivers,
    );
    report("video frames:", video_received, video_sent * receivers);
    println!(
        "received:              {:.1} Mbit/s of frames by all participants together",
        bytes_received as f64 * 8.0 / window / 1e6
    );
    let (audio_delays, video_delays) = {
        let mut delays = shared.delays.lock().unwrap_or_else(|e| e.into_inner());
        (std::mem::take(&mut delays.0), std::mem::take(&mut delays.1))
    };
    for (what, mut delays) in [("audio", audio_delays), ("video", video_delays)] {
        delays.sort_unstable();
        let at = |p: f64| {
            let index = ((delays.len().max(1) - 1) as f64 * p).round() as usize;
            delays.get(index).copied().unwrap_or(0) as f64 / 1000.0
        };
        println!(
            "forwarding delay {what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} frames; send to receive, through the server, loopback)",
            at(0.5),
            at(0.99),
            at(1.0),
            delays.len()
        );
    }
    let sent = match (sent_before, sent_after) {
        (Some(before), Some(after)) => {
            let datagrams = after.0 - before.0;
            let megabits = (after.1 - before.1) * 8.0 / 1e6;
            println!(
                "server sent:           {datagrams:.0} datagrams, {:.1} Mbit/s ({:.0} datagrams/s); {:.0} could not be sent (socket buffer full)",
                megabits / window,
                datagrams / window,
                after.2 - before.2
            );
            Some((datagrams, megabits))
        }
        _ => {
            println!("server sent:           not measured (give --metrics-url)");
            None
        }
    };
    match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => {
            let seconds = (after.user + after.system) - (before.user + before.system);
            print!(
                "server CPU:            {seconds:.2} s over {window:.1} s ({:.0}% of a core)",
                seconds * 100.0 / window
            );
            match sent {
                Some((datagrams, megabits)) => println!(
                    ", {:.2} us per datagram sent, {:.2} ms per Mbit sent",
                    seconds * 1e6 / datagrams.max(1.0),
                    seconds * 1e3 / megabits.max(f64::MIN_POSITIVE)
                ),
                None => println!(),
            }
        }
        _ => println!("server CPU:            not measured (give --server-pid)"),
    }
    if let (Some(before), Some(after)) = (own_before, own_after) {
        let seconds = (after.user + after.system) - (before.user + before.system);
        println!(
            "parley-load's own CPU: {seconds:.2} s ({:.0}% of a core: it shares the machine)",
            seconds * 100.0 / window
        );
    }
    if let (Some(start), Some(busy)) = (rss_start, rss_busy) {
        println!(
            "server memory (RSS):   {start} KiB before, {busy} KiB with every participant sending"
        );
    }
    let errors = shared.totals.errors.load(Ordering::Relaxed);
    println!("errors:                {errors}");
    Ok(errors == 0 && video_received > 0)
}

/// Datagrams and bytes the server's media port has sent, and datagrams it could not
/// send, from its metrics.
async fn media_sent(url: Option<&str>) -> Option<(f64, f64, f64)> {
    let text = reqwest::get(url?).await.ok()?.text().await.ok()?;
    let value = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().last())
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Some((
        value("parley_media_datagrams_sent_total"),
        value("parley_media_bytes_sent_total"),
        value("parley_media_datagrams_unsent_total"),
    ))
}

/// One synthetic participant's media side.
struct Participant {
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
    async fn new(index: u32, speaking: bool) -> Result<Self, String> {
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
    async fn run(mut self, mut ws: Ws, mates: Vec<ShownTile>, shared: Arc<Shared>) {
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
