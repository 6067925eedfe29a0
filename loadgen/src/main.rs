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
//!
//! Given several nodes of one cluster (`--url A,B`), each meeting's participants are
//! spread over them in turn: the first of each meeting joins through the first node
//! (which so hosts the meeting), and the figures are given apart for messages that
//! stay on the meeting's node and those relayed between nodes once or twice.

mod client;
mod media;
mod server_process;

use app::protocol::PeerId;
use app::room_code::RoomCode;
use clap::Parser;
use client::{connect_and_join, read_loop, write_loop, Placement, Schedule};
use futures_util::stream;
use futures_util::{SinkExt, StreamExt};
use server_process::{cpu_time, resident_kib};
use std::collections::HashMap;
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
    /// The Parley to load, as its base URL; several (comma-separated) for the nodes of
    /// one cluster, over which each meeting's participants are spread.
    #[arg(long, default_value = "http://127.0.0.1:3000", value_delimiter = ',')]
    url: Vec<String>,
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
    /// The server's process id, to report its resident memory and CPU time (from
    /// /proc); several (comma-separated) for the nodes of a cluster, added up.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
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
            url: args.url[0].clone(),
            participants: args.clients,
            room_size: args.room_size,
            seconds: args.seconds,
            warmup_seconds: args.warmup_seconds,
            tile_height: args.tile_height,
            server_pid: args.server_pid.first().copied(),
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
    let pids = &args.server_pid;
    let rss_start = resident_sum(pids);
    let room_size = args.room_size.max(2);
    let rooms = args.clients.div_ceil(room_size);
    let nodes = args.url.len();
    println!(
        "parley-load: {} clients in {rooms} meetings of {room_size}, {} msg/s for {} s, over {nodes} node(s)",
        args.clients, args.rate, args.seconds
    );
    let codes = create_rooms(&args.url[0], rooms).await?;

    // Connect and join, a hundred at a time: first everyone who opens a meeting,
    // through the first node (which so hosts it), then the others, each meeting's
    // spread over the nodes in turn.
    let node_of = |client: usize| (client % room_size) % nodes;
    let ws_urls: Vec<String> = args
        .url
        .iter()
        .map(|url| format!("{}/ws", url.replacen("http", "ws", 1)))
        .collect();
    let started = Instant::now();
    let mut clients = Vec::with_capacity(args.clients);
    for openers in [true, false] {
        let wave = (0..args.clients).filter(|client| (client % room_size == 0) == openers);
        let joined: Vec<Result<(usize, Ws, PeerId), LoadError>> = stream::iter(wave)
            .map(|client| {
                let ws_url = ws_urls[node_of(client)].clone();
                let code = codes[client / room_size].clone();
                async move { connect_and_join(client, &ws_url, &code).await }
            })
            .buffer_unordered(100)
            .collect()
            .await;
        for result in joined {
            clients.push(result?);
        }
    }
    clients.sort_by_key(|(client, _, _)| *client);
    println!(
        "connected and joined {} clients in {:.1} s",
        clients.len(),
        started.elapsed().as_secs_f64()
    );
    let relayed: Arc<HashMap<PeerId, bool>> = Arc::new(
        clients
            .iter()
            .map(|(client, _, id)| (*id, node_of(*client) != 0))
            .collect(),
    );

    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let rss_idle = resident_sum(pids);

    // Peer ids per room, so each client knows whom to send to.
    let ids: Vec<PeerId> = clients.iter().map(|(_, _, id)| *id).collect();
    let totals = Arc::new(Totals::default());
    let stop = Arc::new(AtomicBool::new(false));
    let epoch = Instant::now();
    let cpu_start = cpu_sum(pids);
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
        let placement = Placement {
            relayed: relayed.clone(),
            me_relayed: node_of(client) != 0,
        };
        readers.push(tokio::spawn(read_loop(
            stream,
            epoch,
            totals.clone(),
            seen.clone(),
            placement,
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
    let cpu_end = cpu_sum(pids);
    let rss_busy = resident_sum(pids);
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
    let all: Vec<u32> = latencies.iter().map(|(_, latency)| *latency).collect();
    println!("connections held:      {}", ids.len());
    println!(
        "messages relayed:      {received} of {sent} sent ({:.0} msg/s over {:.1} s)",
        received as f64 / traffic.as_secs_f64(),
        traffic.as_secs_f64()
    );
    println!("relay latency:         {}", latency_figures(all));
    if nodes > 1 {
        for (crossings, what) in [
            (0, "on the meeting's node"),
            (1, "crossing nodes once"),
            (2, "crossing nodes twice"),
        ] {
            let class: Vec<u32> = latencies
                .iter()
                .filter(|(c, _)| *c == crossings)
                .map(|(_, latency)| *latency)
                .collect();
            println!(
                "  {what:<21} {} messages: {}",
                class.len(),
                latency_figures(class)
            );
        }
    }
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

/// "p50 …, p99 …, max …" of `latencies` (microseconds), in milliseconds.
fn latency_figures(mut latencies: Vec<u32>) -> String {
    if latencies.is_empty() {
        return "none".to_owned();
    }
    latencies.sort_unstable();
    let at =
        |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        at(0.50),
        at(0.99),
        at(1.0)
    )
}

/// The resident memory of all the servers, in KiB.
fn resident_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| resident_kib(*pid)).sum()
}

/// The CPU time of all the servers.
fn cpu_sum(pids: &[u32]) -> Option<server_process::CpuTime> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| cpu_time(*pid)).try_fold(
        server_process::CpuTime::default(),
        |total, cpu| {
            let cpu = cpu?;
            Some(server_process::CpuTime {
                user: total.user + cpu.user,
                system: total.system + cpu.system,
            })
        },
    )
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
