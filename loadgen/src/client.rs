//! One simulated participant: joins a meeting, sends signals to its room mates on a
//! schedule (acknowledging what it received, as a browser does), and reads what the
//! server relays to it, checking each sender's sequence and measuring latency.

use crate::{LoadError, Totals, Ws};
use app::protocol::{
    ClientMessage, Delivery, MediaState, PeerId, ServerMessage, Signal, PROTOCOL_VERSION,
};
use app::room_code::RoomCode;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How often each client acknowledges what it received (browsers: every 3 s).
const ACK_EVERY: Duration = Duration::from_secs(3);

pub async fn connect_and_join(
    client: usize,
    url: &str,
    room: &RoomCode,
) -> Result<(usize, Ws, PeerId), LoadError> {
    let (client, ws, you, _) = connect_and_join_with_peers(client, url, room).await?;
    Ok((client, ws, you))
}

/// Joins as [`connect_and_join`] does; also returns who was in the meeting already.
pub async fn connect_and_join_with_peers(
    client: usize,
    url: &str,
    room: &RoomCode,
) -> Result<(usize, Ws, PeerId, Vec<PeerId>), LoadError> {
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
                Ok(ServerMessage::Welcome { you, peers, .. }) => {
                    let peers = peers.iter().map(|peer| peer.id).collect();
                    return Ok((client, ws, you, peers));
                }
                Ok(ServerMessage::Error { message, .. }) => return Err(fail(message)),
                _ => continue,
            }
        }
    }
    Err(fail("closed before the welcome".into()))
}

/// When one client sends: every `interval` from `epoch + offset`.
pub struct Schedule {
    pub epoch: Instant,
    pub offset: Duration,
    pub interval: Duration,
}

/// Sends to each room mate in turn: mostly candidates, with an offer and an answer
/// every ten messages, sized like real ones.
pub async fn write_loop(
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

/// Where a client's connection is, for telling apart the messages that cross
/// nodes: whether each participant's node is other than their meeting's home (the
/// node the meeting lives on), and this client's.
pub struct Placement {
    pub relayed: Arc<HashMap<PeerId, bool>>,
    pub me_relayed: bool,
}

/// Reads until the connection ends; checks sequence numbers per sender and returns
/// the latencies seen, in microseconds, each with how many times the message crossed
/// between nodes (0 to 2).
pub async fn read_loop(
    mut stream: SplitStream<Ws>,
    epoch: Instant,
    totals: Arc<Totals>,
    seen: Arc<AtomicU64>,
    placement: Placement,
) -> Vec<(u8, u32)> {
    let mut latencies = Vec::new();
    let mut expected: HashMap<PeerId, u64> = HashMap::new();
    while let Some(Ok(frame)) = stream.next().await {
        let Message::Text(text) = frame else { continue };
        let now = epoch.elapsed().as_micros() as u64;
        let delivery = Delivery::from_json(text.as_str());
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
                let crossings = u8::from(placement.me_relayed)
                    + u8::from(placement.relayed.get(&from).copied().unwrap_or(false));
                let latency = now.saturating_sub(sent_at).min(u32::MAX as u64) as u32;
                latencies.push((crossings, latency));
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
