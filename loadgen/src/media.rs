//! `parley-load --media`: synthetic participants whose media goes through Parley's
//! media port, as browsers' does once a meeting moves there. Each is a str0m `Rtc` on
//! a UDP socket of its own: it sends a short real clip, looped (`fixture`): Opus audio
//! and a VP8 camera in the three simulcast layers a browser sends, says which tiles it
//! shows (`tiles_shown`), answers the server's offers, and counts what reaches it.
//! Browsers in the same meeting play what it sends.
//!
//! Every frame carries its sender and its send time, so the forwarding delay (from the
//! sender's `write` to the receiver's frame, through the server, on loopback) is
//! measured per frame. The server's CPU time and memory come from /proc (`--server-pid`),
//! what it sent from its metrics (`--metrics-url`).

mod fixture;
mod participant;

use crate::client::connect_and_join_with_peers;
use crate::server_process::{cpu_time, resident_kib};
use crate::{create_rooms, LoadError, Ws};
use app::protocol::{PeerId, ShownTile};
use app::room_code::RoomCode;
pub use fixture::FixtureError;
use fixture::{Fixture, VIDEO_FPS};
use futures_util::{stream, StreamExt};
use participant::{Participant, SPEAKERS_PER_MEETING};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// A meeting to join (everyone in one), instead of creating meetings.
    pub meeting: Option<RoomCode>,
}

/// A participant joined: its index, its signaling, its id, and who was there before.
type Joined = (usize, Ws, PeerId, Vec<PeerId>);

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
    fixture: Fixture,
    totals: Totals,
    measuring: AtomicBool,
    stop: AtomicBool,
    /// Forwarding delays in microseconds, audio and video.
    delays: Mutex<(Vec<u32>, Vec<u32>)>,
}

pub async fn run(load: MediaLoad) -> Result<bool, LoadError> {
    let fixture = Fixture::built_in()?;
    let room_size = match load.meeting {
        Some(_) => load.participants.max(1),
        None => load.room_size.max(2),
    };
    let rooms = load.participants.div_ceil(room_size);
    println!(
        "parley-load --media: {} participants in {rooms} meetings of {room_size}, {} s measured after {} s to settle",
        load.participants, load.seconds, load.warmup_seconds
    );
    let [q, h, f] = fixture
        .layers
        .each_ref()
        .map(|layer| format!("{}x{}", layer.width, layer.height));
    let (video_rates, audio_rate) = fixture.rates();
    let [q_rate, h_rate, f_rate] = video_rates.map(|rate| rate * 8 / 1000);
    println!(
        "  each sends a VP8 clip in 3 layers ({q}, {h}, {f} at {VIDEO_FPS} fps: {q_rate}, {h_rate}, {f_rate} kbit/s) and Opus ({} kbit/s), and shows every other camera {} px high",
        audio_rate * 8 / 1000,
        load.tile_height
    );
    let rss_start = load.server_pid.and_then(resident_kib);
    let codes = match &load.meeting {
        Some(code) => vec![code.clone()],
        None => create_rooms(&load.url, rooms).await?,
    };
    let ws_url = format!("{}/ws", load.url.replacen("http", "ws", 1));
    let joined: Vec<Result<Joined, LoadError>> = stream::iter(0..load.participants)
        .map(|client| {
            let ws_url = ws_url.clone();
            let code = codes[client / room_size].clone();
            async move { connect_and_join_with_peers(client, &ws_url, &code).await }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let mut clients = Vec::with_capacity(load.participants);
    for result in joined {
        clients.push(result?);
    }
    clients.sort_by_key(|(client, ..)| *client);
    let ids: Vec<PeerId> = clients.iter().map(|(_, _, id, _)| *id).collect();

    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        fixture,
        totals: Totals::default(),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        delays: Mutex::new((Vec::new(), Vec::new())),
    });
    let mut tasks = Vec::new();
    for (client, ws, _, present) in clients {
        let room = client / room_size;
        // Everyone else in its meeting: the other synthetic ones, and whoever was there
        // before it (people in browsers, with --meeting), each at the same height.
        let mut others: Vec<PeerId> = ids
            [room * room_size..((room + 1) * room_size).min(ids.len())]
            .iter()
            .copied()
            .filter(|id| *id != ids[client])
            .collect();
        for id in present {
            if !others.contains(&id) {
                others.push(id);
            }
        }
        let mates: Vec<ShownTile> = others
            .iter()
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
    let shows_cameras = load.tile_height > 0;
    if shows_cameras {
        report("video frames:", video_received, video_sent * receivers);
    } else {
        println!("video frames:          none expected (each shows no camera: --tile-height 0)");
    }
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
    Ok(errors == 0 && (video_received > 0 || !shows_cameras))
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
