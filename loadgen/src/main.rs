//! parley-load: opens many signaling clients against a running Parley, has them
//! exchange offer-, answer- and candidate-sized messages at a set rate, and prints
//! what the server held up to: connections, relayed messages per second, relay
//! latency, delivery errors, and the server's memory and CPU time per message.
//!
//! With `--media`, the clients are instead participants sending and receiving media
//! through the server's media port (see `media`).
//!
//! Every message carries its sender's sequence number and send time, so each
//! receiver checks exactly-once, in-order delivery and measures latency itself.

mod client;
mod media;
mod server_process;

use app::protocol::PeerId;
use app::room_code::RoomCode;
use clap::Parser;
use client::{connect_and_join, read_loop, write_loop, Schedule};
use futures_util::stream;
use futures_util::{SinkExt, StreamExt};
use server_process::{cpu_time, resident_kib};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Parser, Debug)]
#[command(
    name = "parley-load",
    about = "Load generator for Parley's signaling service"
)]
struct Args {
    /// The Parley to load, as its base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Signaling clients to open.
    #[arg(long, default_value_t = 2000)]
    clients: usize,
    /// Clients per meeting.
    #[arg(long, default_value_t = 4)]
    room_size: usize,
    /// Messages per second sent by all clients together.
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
    /// Seconds of traffic.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds to hold the connections idle before the traffic, for the memory figure.
    #[arg(long, default_value_t = 3)]
    idle_seconds: u64,
    /// The server's process id, to report its resident memory and CPU time (from /proc).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Participants send media through the server's media port instead of signaling
    /// messages (the server needs its media port, on an address this machine reaches,
    /// and a `--mesh-limit` under the meeting's size); `--clients` is then the number
    /// of participants, `--room-size` the size of each meeting.
    #[arg(long)]
    media: bool,
    /// With `--media`: seconds to let every connection settle before measuring.
    #[arg(long, default_value_t = 5)]
    warmup_seconds: u64,
    /// With `--media`: how tall each participant shows every other camera, in pixels.
    #[arg(long, default_value_t = 200)]
    tile_height: u32,
    /// With `--media`: the server's metrics (its `--metrics-listen`), for what it sent.
    #[arg(long)]
    metrics_url: Option<String>,
    /// With `--media`: every participant joins this meeting (by its code, which may
    /// have people in it already) instead of meetings of their own.
    #[arg(long)]
    meeting: Option<RoomCode>,
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("could not create a meeting: {0}")]
    CreateRoom(String),
    #[error("could not connect client {client}: {reason}")]
    Connect { client: usize, reason: String },
    #[error("the media fixture: {0}")]
    Fixture(#[from] media::FixtureError),
}

/// Counters shared by every client.
#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    received: AtomicU64,
    /// Duplicated, reordered or missing messages, and unexpected server errors.
    errors: AtomicU64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = if args.media {
        media::run(media::MediaLoad {
            url: args.url,
            participants: args.clients,
            room_size: args.room_size,
            seconds: args.seconds,
            warmup_seconds: args.warmup_seconds,
            tile_height: args.tile_height,
            server_pid: args.server_pid,
            metrics_url: args.metrics_url,
            meeting: args.meeting,
        })
        .await
    } else {
        run(args).await
    };
    match result {
        Ok(clean) => {
            if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("parley-load: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<bool, LoadError> {
    let rss_start = args.server_pid.and_then(resident_kib);
    let room_size = args.room_size.max(2);
    let rooms = args.clients.div_ceil(room_size);
    println!(
        "parley-load: {} clients in {rooms} meetings of {room_size}, {} msg/s for {} s",
        args.clients, args.rate, args.seconds
    );
    let codes = create_rooms(&args.url, rooms).await?;

    // Connect and join, a hundred at a time.
    let ws_url = format!("{}/ws", args.url.replacen("http", "ws", 1));
    let started = Instant::now();
    let joined: Vec<Result<(usize, Ws, PeerId), LoadError>> = stream::iter(0..args.clients)
        .map(|client| {
            let ws_url = ws_url.clone();
            let code = codes[client / room_size].clone();
            async move { connect_and_join(client, &ws_url, &code).await }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    let mut clients = Vec::with_capacity(args.clients);
    for result in joined {
        clients.push(result?);
    }
    clients.sort_by_key(|(client, _, _)| *client);
    println!(
        "connected and joined {} clients in {:.1} s",
        clients.len(),
        started.elapsed().as_secs_f64()
    );

    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let rss_idle = args.server_pid.and_then(resident_kib);

    // Peer ids per room, so each client knows whom to send to.
    let ids: Vec<PeerId> = clients.iter().map(|(_, _, id)| *id).collect();
    let totals = Arc::new(Totals::default());
    let stop = Arc::new(AtomicBool::new(false));
    let epoch = Instant::now();
    let cpu_start = args.server_pid.and_then(cpu_time);
    let interval = Duration::from_secs_f64(args.clients as f64 / args.rate.max(1) as f64);
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (client, ws, _) in clients {
        let room = client / room_size;
        let mates: Vec<PeerId> = ids[room * room_size..((room + 1) * room_size).min(ids.len())]
            .iter()
            .copied()
            .filter(|id| *id != ids[client])
            .collect();
        let (sink, stream) = ws.split();
        // What the reader handled, acknowledged by the writer, as browsers do.
        let seen = Arc::new(AtomicU64::new(0));
        readers.push(tokio::spawn(read_loop(
            stream,
            epoch,
            totals.clone(),
            seen.clone(),
        )));
        // Spread the clients' send times evenly over one interval.
        let offset = interval.mul_f64(client as f64 / args.clients as f64);
        let schedule = Schedule {
            epoch,
            offset,
            interval,
        };
        writers.push(tokio::spawn(write_loop(
            sink,
            mates,
            schedule,
            stop.clone(),
            totals.clone(),
            seen,
        )));
    }

    let mut last = 0;
    for second in 1..=args.seconds {
        tokio::time::sleep_until((epoch + Duration::from_secs(second)).into()).await;
        let received = totals.received.load(Ordering::Relaxed);
        if second % 5 == 0 || second == args.seconds {
            println!("  {second:>3} s: {} msg/s relayed", received - last);
        }
        last = received;
    }
    stop.store(true, Ordering::Relaxed);
    let traffic = epoch.elapsed();
    let mut sinks = Vec::new();
    for writer in writers {
        if let Ok(sink) = writer.await {
            sinks.push(sink);
        }
    }
    // Let the last messages arrive, then close everything.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu_end = args.server_pid.and_then(cpu_time);
    let rss_busy = args.server_pid.and_then(resident_kib);
    for mut sink in sinks {
        let _ = sink.close().await;
    }
    let mut latencies = Vec::new();
    for reader in readers {
        if let Ok(Ok(mut seen)) = tokio::time::timeout(Duration::from_secs(5), reader).await {
            latencies.append(&mut seen);
        }
    }

    let sent = totals.sent.load(Ordering::Relaxed);
    let received = totals.received.load(Ordering::Relaxed);
    let mut errors = totals.errors.load(Ordering::Relaxed);
    errors += sent.abs_diff(received);
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let at = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[at] as f64 / 1000.0
    };
    println!("connections held:      {}", ids.len());
    println!(
        "messages relayed:      {received} of {sent} sent ({:.0} msg/s over {:.1} s)",
        received as f64 / traffic.as_secs_f64(),
        traffic.as_secs_f64()
    );
    println!(
        "relay latency:         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(0.50),
        percentile(0.99),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!("delivery errors:       {errors} (lost, duplicated or out of order)");
    match (rss_start, rss_idle, rss_busy) {
        (Some(start), Some(idle), Some(busy)) => {
            println!("server memory (RSS):   {start} KiB before, {idle} KiB idle with all connected, {busy} KiB after the traffic");
            println!(
                "per idle connection:   {:.1} KiB",
                (idle as f64 - start as f64) / ids.len().max(1) as f64
            );
        }
        _ => println!("server memory (RSS):   not measured (give --server-pid)"),
    }
    match (cpu_start, cpu_end) {
        (Some(start), Some(end)) => {
            let cpu = end - start;
            let total = cpu.user + cpu.system;
            // Pings and acknowledgements are part of the load, but the figure is per
            // relayed signal, as in the comparison with other servers.
            let per_message = |seconds: f64| seconds * 1e6 / received.max(1) as f64;
            println!(
                "server CPU:            {total:.2} s over the traffic, {:.2} us per relayed message \
                 ({:.2} us user, {:.2} us system)",
                per_message(total),
                per_message(cpu.user),
                per_message(cpu.system)
            );
        }
        _ => println!("server CPU:            not measured (give --server-pid)"),
    }
    Ok(errors == 0)
}

async fn create_rooms(base: &str, count: usize) -> Result<Vec<RoomCode>, LoadError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| LoadError::CreateRoom(e.to_string()))?;
    let mut codes = Vec::with_capacity(count);
    for i in 0..count {
        let response = http
            .post(format!("{base}/api/rooms/create"))
            .header("accept", "text/html")
            .form(&[("name", format!("Load test {i}"))])
            .send()
            .await
            .map_err(|e| LoadError::CreateRoom(e.to_string()))?;
        let code = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| RoomCode::parse(l.trim_start_matches("/r/")).ok())
            .ok_or_else(|| LoadError::CreateRoom(format!("answer {}", response.status())))?;
        codes.push(code);
    }
    Ok(codes)
}
