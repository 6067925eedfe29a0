//! parley-load: opens many signaling clients against a running Parley, has them
//! exchange offer-, answer- and candidate-sized messages at a set rate, and prints
//! what the server held up to: connections, relayed messages per second, relay
//! latency, delivery errors, and the server's memory and CPU time per message.
//!
//! Every message carries its sender's sequence number and send time, so each
//! receiver checks exactly-once, in-order delivery and measures latency itself.

mod server_process;

use app::protocol::{
    ClientMessage, Delivery, MediaState, PeerId, ServerMessage, Signal, PROTOCOL_VERSION,
};
use app::room_code::RoomCode;
use clap::Parser;
use futures_util::stream::{self, SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use server_process::{cpu_seconds, resident_kib};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
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
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How often each client acknowledges what it received (browsers: every 3 s).
const ACK_EVERY: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("could not create a meeting: {0}")]
    CreateRoom(String),
    #[error("could not connect client {client}: {reason}")]
    Connect { client: usize, reason: String },
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
    match run(args).await {
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
    let cpu_start = args.server_pid.and_then(cpu_seconds);
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
    let cpu_end = args.server_pid.and_then(cpu_seconds);
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
            // Pings and acknowledgements are part of the load, but the figure is per
            // relayed signal, as in the comparison with other servers.
            println!(
                "server CPU:            {cpu:.2} s over the traffic, {:.2} us per relayed message",
                cpu * 1e6 / received.max(1) as f64
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

async fn connect_and_join(
    client: usize,
    url: &str,
    room: &RoomCode,
) -> Result<(usize, Ws, PeerId), LoadError> {
    let fail = |reason: String| LoadError::Connect { client, reason };
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let join = ClientMessage::Join {
        version: PROTOCOL_VERSION,
        room: room.clone(),
        name: format!("load {client}"),
        media: MediaState::default(),
    };
    ws.send(Message::Text(serde_json::to_string(&join).unwrap().into()))
        .await
        .map_err(|e| fail(e.to_string()))?;
    while let Some(frame) = ws.next().await {
        if let Message::Text(text) = frame.map_err(|e| fail(e.to_string()))? {
            match serde_json::from_str::<ServerMessage>(text.as_str()) {
                Ok(ServerMessage::Welcome { you, .. }) => return Ok((client, ws, you)),
                Ok(ServerMessage::Error { message, .. }) => return Err(fail(message)),
                _ => continue,
            }
        }
    }
    Err(fail("closed before the welcome".into()))
}

/// When one client sends: every `interval` from `epoch + offset`.
struct Schedule {
    epoch: Instant,
    offset: Duration,
    interval: Duration,
}

/// Sends to each room mate in turn: mostly candidates, with an offer and an answer
/// every ten messages, sized like real ones.
async fn write_loop(
    mut sink: SplitSink<Ws, Message>,
    mates: Vec<PeerId>,
    Schedule {
        epoch,
        offset,
        interval,
    }: Schedule,
    stop: Arc<AtomicBool>,
    totals: Arc<Totals>,
    seen: Arc<AtomicU64>,
) -> SplitSink<Ws, Message> {
    let mut ticks = tokio::time::interval_at((epoch + offset).into(), interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut seq: HashMap<PeerId, u64> = HashMap::new();
    let mut n: usize = 0;
    let sdp_padding = "a=x-padding:".to_owned() + &"v".repeat(2400);
    let mut acked_at = Instant::now();
    while !stop.load(Ordering::Relaxed) && !mates.is_empty() {
        ticks.tick().await;
        // A ping with an acknowledgement every few seconds, as a browser sends it, so
        // the server can forget what was delivered.
        if acked_at.elapsed() >= ACK_EVERY {
            acked_at = Instant::now();
            let ping = ClientMessage::Ping {
                seen: seen.load(Ordering::Relaxed),
            };
            let text = serde_json::to_string(&ping).unwrap();
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let to = mates[n % mates.len()];
        let next = seq.entry(to).or_default();
        *next += 1;
        let stamp = format!("seq={} t={} ", *next, epoch.elapsed().as_micros());
        let signal = match n % 10 {
            0 => Signal::Offer {
                sdp: stamp + &sdp_padding,
            },
            5 => Signal::Answer {
                sdp: stamp + &sdp_padding,
            },
            _ => Signal::Candidate {
                candidate: stamp
                    + "candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 192.168.1.20 rport 61234 generation 0 ufrag Xy9z network-cost 999",
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
        };
        n += 1;
        let message = ClientMessage::Signal {
            to,
            epoch: Default::default(),
            signal,
        };
        let text = serde_json::to_string(&message).unwrap();
        if sink.send(Message::Text(text.into())).await.is_err() {
            totals.errors.fetch_add(1, Ordering::Relaxed);
            break;
        }
        totals.sent.fetch_add(1, Ordering::Relaxed);
    }
    sink
}

/// Reads until the connection ends; checks sequence numbers per sender and returns
/// the latencies seen, in microseconds.
async fn read_loop(
    mut stream: SplitStream<Ws>,
    epoch: Instant,
    totals: Arc<Totals>,
    seen: Arc<AtomicU64>,
) -> Vec<u32> {
    let mut latencies = Vec::new();
    let mut expected: HashMap<PeerId, u64> = HashMap::new();
    while let Some(Ok(frame)) = stream.next().await {
        let Message::Text(text) = frame else { continue };
        let now = epoch.elapsed().as_micros() as u64;
        let delivery = serde_json::from_str::<Delivery>(text.as_str());
        if let Ok(Delivery { seq: Some(seq), .. }) = &delivery {
            seen.store(*seq, Ordering::Relaxed);
        }
        match delivery.map(|d| d.message) {
            Ok(ServerMessage::Signal { from, signal, .. }) => {
                let body = match &signal {
                    Signal::Offer { sdp } | Signal::Answer { sdp } => sdp,
                    Signal::Candidate { candidate, .. } => candidate,
                    Signal::Rebuild => continue,
                };
                let Some((seq, sent_at)) = parse_stamp(body) else {
                    totals.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let next = expected.entry(from).or_insert(1);
                if seq != *next {
                    totals.errors.fetch_add(1, Ordering::Relaxed);
                }
                *next = seq + 1;
                latencies.push(now.saturating_sub(sent_at).min(u32::MAX as u64) as u32);
                totals.received.fetch_add(1, Ordering::Relaxed);
            }
            Ok(ServerMessage::Error { .. }) | Err(_) => {
                totals.errors.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
        }
    }
    latencies
}

fn parse_stamp(body: &str) -> Option<(u64, u64)> {
    let mut parts = body.split(' ');
    let seq = parts.next()?.strip_prefix("seq=")?.parse().ok()?;
    let t = parts.next()?.strip_prefix("t=")?.parse().ok()?;
    Some((seq, t))
}
