//! More than one Parley node (`--cluster redis://…`): every node serves every meeting.
//! A meeting lives on one node at a time, its home (`homes`); a participant whose
//! WebSocket reaches another node, an edge, is relayed to the home over Redis
//! (`relay` at the edge, `remote` at the home), frame by frame, so that the home's
//! signaling serves them exactly as a local connection: the same numbering, replay
//! and resume, the same limits.
//!
//! The bus is Redis publish/subscribe, one channel a node: in order, but lost when a
//! node's connection to Redis breaks. So when it breaks every link through it ends, as
//! a dropped WebSocket does, and its participants resume (what they missed is
//! replayed by the home, as after any drop).

mod commands;
mod envelope;
pub mod homes;
mod quotas;
mod relay;
mod remote;

pub use envelope::NodeId;
use envelope::{Body, Envelope, LinkId};

use crate::signaling::Signaling;
use app::room_code::RoomCode;
use axum::extract::ws::Message;
use commands::{Commands, REDIS_TIMEOUT};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch};

/// Envelopes waiting to be published, at most.
const PUBLISH_QUEUE: usize = 8192;
/// Envelopes published in one round trip, at most.
const PUBLISH_BATCH: usize = 256;
/// Frames waiting for one link, at most: past it the link is too slow and ends.
const LINK_QUEUE: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid Redis URL {0:?}")]
    InvalidUrl(String),
    #[error("could not reach Redis at {url}: {source}")]
    Connect {
        url: String,
        source: Box<ClusterError>,
    },
    #[error("Redis failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {} s", REDIS_TIMEOUT.as_secs())]
    Timeout,
}

/// Where a meeting lives.
#[derive(Debug, PartialEq, Eq)]
pub enum Home {
    Here,
    There(NodeId),
}

pub struct Cluster {
    node: NodeId,
    client: redis::Client,
    commands: Arc<Commands>,
    publisher: mpsc::Sender<(String, String)>,
    /// Links whose WebSocket is here and whose meeting is elsewhere, by number, with
    /// the home they go to.
    edge_links: Mutex<HashMap<u64, (NodeId, mpsc::Sender<Body>)>>,
    /// Links whose meeting is here and whose WebSocket is elsewhere.
    home_links: Mutex<HashMap<LinkId, mpsc::Sender<Message>>>,
    next_link: AtomicU64,
    /// When this node became the home of each meeting it claimed: a session begun
    /// before that, which this node does not know, may be taken up here (its home
    /// died or stopped).
    homed_at: Mutex<HashMap<RoomCode, SystemTime>>,
    /// Changes whenever the bus broke: every link through it ends.
    broken: watch::Sender<u64>,
    /// Whether Redis answered the last check (to log changes only).
    reachable: AtomicBool,
}

impl Cluster {
    /// Connects to Redis at `url`; nothing is relayed until [`Cluster::start`].
    pub async fn open(url: &str) -> Result<Arc<Self>, ClusterError> {
        // (Errors and logs name the server, never its password.)
        let shown = crate::store::redacted(url);
        let client =
            redis::Client::open(url).map_err(|_| ClusterError::InvalidUrl(shown.clone()))?;
        let commands = Arc::new(Commands::new(client.clone()));
        commands
            .run(|mut redis| async move { redis::cmd("PING").query_async::<String>(&mut redis).await })
            .await
            .map_err(|error| ClusterError::Connect {
                url: shown.clone(),
                source: Box::new(error),
            })?;
        let (publisher, queue) = mpsc::channel(PUBLISH_QUEUE);
        let cluster = Arc::new(Self {
            node: NodeId::random(),
            client,
            commands: commands.clone(),
            publisher,
            edge_links: Mutex::default(),
            home_links: Mutex::default(),
            next_link: AtomicU64::new(1),
            homed_at: Mutex::default(),
            broken: watch::channel(0).0,
            reachable: AtomicBool::new(true),
        });
        tokio::spawn(publish_loop(Arc::downgrade(&cluster), queue));
        tracing::info!(node = %cluster.node, redis = %shown, "joined the cluster");
        Ok(cluster)
    }

    /// Starts listening for links and keeping this node's meetings.
    pub fn start(self: &Arc<Self>, signaling: &Arc<Signaling>) {
        tokio::spawn(listen(Arc::downgrade(self), Arc::downgrade(signaling)));
        tokio::spawn(keep_alive(Arc::downgrade(self), Arc::downgrade(signaling)));
    }

    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Where meeting `code` lives, claiming it for this node when nobody alive has it.
    pub async fn home_of(&self, code: &RoomCode) -> Result<Home, ClusterError> {
        let key = homes::room_key(code);
        let node = self.node.0.clone();
        let (home, claimed): (String, i64) = self
            .commands
            .run(|mut redis| async move {
                redis::Script::new(homes::HOME_OF)
                    .key(key)
                    .arg(node)
                    .arg(homes::HOME_LEASE.as_millis() as u64)
                    .arg(homes::ALIVE_PREFIX)
                    .arg(homes::ALIVE_FOR.as_millis() as u64)
                    .invoke_async(&mut redis)
                    .await
            })
            .await?;
        if home != self.node.0 {
            return Ok(Home::There(NodeId(home)));
        }
        if claimed == 1 {
            tracing::info!(room = %code, node = %self.node, "this node hosts the meeting now");
            lock(&self.homed_at).insert(code.clone(), SystemTime::now());
        }
        Ok(Home::Here)
    }

    /// Sessions of meeting `code` begun before this may be taken up here without being
    /// known: this node became its home then.
    pub fn homed_at(&self, code: &RoomCode) -> Option<SystemTime> {
        lock(&self.homed_at).get(code).copied()
    }

    /// Whether Redis answers now; logs when that changed.
    pub async fn check(&self) -> bool {
        let ping =
            self.commands
                .run(|mut redis| async move {
                    redis::cmd("PING").query_async::<String>(&mut redis).await
                })
                .await;
        let up = ping.is_ok();
        if self.reachable.swap(up, Ordering::Relaxed) != up {
            if up {
                tracing::info!("Redis answers again");
            } else {
                tracing::warn!(
                    "Redis does not answer: meetings hosted by other nodes cannot be joined until it does"
                );
            }
        }
        up
    }

    /// Gives up this node's meetings and says it is gone, so that other nodes take
    /// its participants at once (before they are asked to come back).
    pub async fn leave(&self, signaling: &Signaling) {
        let mut pipe = redis::pipe();
        for code in signaling.hub.room_codes() {
            // EVAL, not the script's hash: a pipeline cannot load a script Redis lacks.
            pipe.cmd("EVAL")
                .arg(homes::RELEASE)
                .arg(1)
                .arg(homes::room_key(&code))
                .arg(&self.node.0)
                .ignore();
        }
        pipe.del(homes::alive_key(&self.node)).ignore();
        let left = self
            .commands
            .run(|mut redis| async move { pipe.query_async::<()>(&mut redis).await })
            .await;
        match left {
            Ok(()) => tracing::info!(node = %self.node, "left the cluster"),
            Err(error) => tracing::warn!(%error, "could not tell the cluster this node is leaving"),
        }
    }

    /// Queues `body` for the other end of `link`, on node `to`.
    async fn publish(&self, to: &NodeId, link: &LinkId, body: Body) {
        let envelope = Envelope {
            link: link.clone(),
            body,
        };
        let _ = self.publisher.send((to.channel(), envelope.encode())).await;
    }

    /// Ends every link: what was in flight on the bus may be lost.
    fn break_links(&self) {
        lock(&self.edge_links).clear();
        lock(&self.home_links).clear();
        self.broken.send_modify(|n| *n += 1);
    }

    /// An envelope from the bus, to the link it belongs to.
    fn deliver(self: &Arc<Self>, payload: &[u8], signaling: &Weak<Signaling>) {
        let Some(Envelope { link, body }) = Envelope::decode(payload) else {
            tracing::warn!("ignored a malformed message on the cluster bus");
            return;
        };
        if link.edge == self.node {
            let mut links = lock(&self.edge_links);
            let Some((_, sender)) = links.get(&link.number) else {
                return;
            };
            if sender.try_send(body).is_err() {
                // Too slow to take what its home sends: it ends, and resumes.
                links.remove(&link.number);
            }
            return;
        }
        if let Body::Open { client, visitor } = body {
            if let Some(signaling) = signaling.upgrade() {
                remote::serve(self.clone(), signaling, link, client, visitor);
            }
            return;
        }
        let mut links = lock(&self.home_links);
        let Some(sender) = links.get(&link) else {
            return;
        };
        let message = match body {
            Body::Text { text } => Message::Text(text.into()),
            Body::Binary { len } => Message::Binary(vec![0; len].into()),
            Body::Ping => Message::Ping(Default::default()),
            Body::Pong => Message::Pong(Default::default()),
            Body::Close { .. } => Message::Close(None),
            Body::Open { .. } => return,
        };
        if sender.try_send(message).is_err() {
            links.remove(&link);
        }
    }
}

/// Publishes what is queued, in order, a batch per round trip.
async fn publish_loop(cluster: Weak<Cluster>, mut queue: mpsc::Receiver<(String, String)>) {
    while let Some((channel, payload)) = queue.recv().await {
        let mut pipe = redis::pipe();
        pipe.publish(channel, payload).ignore();
        for _ in 1..PUBLISH_BATCH {
            match queue.try_recv() {
                Ok((channel, payload)) => {
                    pipe.publish(channel, payload).ignore();
                }
                Err(_) => break,
            }
        }
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let published = cluster
            .commands
            .run(|mut redis| async move { pipe.query_async::<()>(&mut redis).await })
            .await;
        if let Err(error) = published {
            tracing::debug!(%error, "could not publish on the cluster bus; links through it end");
            cluster.break_links();
        }
    }
}

/// Listens on this node's channel, subscribing again whenever the subscription breaks.
async fn listen(cluster: Weak<Cluster>, signaling: Weak<Signaling>) {
    // Whether the last attempt failed (to log an outage once, not every retry).
    let mut failing = false;
    loop {
        let Some((client, channel)) = cluster
            .upgrade()
            .map(|c| (c.client.clone(), c.node.channel()))
        else {
            return;
        };
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match subscribed.await {
            Ok(pubsub) => {
                if failing {
                    tracing::info!(%channel, "listening on the cluster bus again");
                }
                failing = false;
                let mut messages = pubsub.into_on_message();
                while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
                    let Some(cluster) = cluster.upgrade() else {
                        return;
                    };
                    cluster.deliver(message.get_payload_bytes(), &signaling);
                }
                tracing::warn!("lost the cluster bus; participants relayed through it come back");
            }
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "cannot listen on the cluster bus; trying again");
            }
            Err(_) => {}
        }
        if let Some(cluster) = cluster.upgrade() {
            cluster.break_links();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every half second: says this node is alive, renews its meetings, and ends the links to
/// homes that are not alive any more (their participants resume, and the meeting
/// moves to the first node they reach).
async fn keep_alive(cluster: Weak<Cluster>, signaling: Weak<Signaling>) {
    let mut every = tokio::time::interval(homes::RENEW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let (Some(cluster), Some(signaling)) = (cluster.upgrade(), signaling.upgrade()) else {
            return;
        };
        if *signaling.stopping.borrow() {
            return;
        }
        if let Err(error) = cluster.renew(&signaling).await {
            // (The outage itself is logged once, by the check.)
            tracing::debug!(%error, "could not renew this node's meetings");
            cluster.check().await;
        }
    }
}

impl Cluster {
    async fn renew(&self, signaling: &Signaling) -> Result<(), ClusterError> {
        let lease = homes::HOME_LEASE.as_millis() as u64;
        let mut pipe = redis::pipe();
        pipe.set_options(
            homes::alive_key(&self.node),
            1,
            redis::SetOptions::default()
                .with_expiration(redis::SetExpiry::PX(homes::ALIVE_FOR.as_millis() as u64)),
        )
        .ignore();
        let codes = signaling.hub.room_codes();
        for code in &codes {
            pipe.cmd("EVAL")
                .arg(homes::RENEW)
                .arg(1)
                .arg(homes::room_key(code))
                .arg(&self.node.0)
                .arg(lease);
        }
        let homes: Vec<NodeId> = {
            let links = lock(&self.edge_links);
            let mut homes: Vec<NodeId> = links.values().map(|(home, _)| home.clone()).collect();
            homes.sort_by(|a, b| a.0.cmp(&b.0));
            homes.dedup();
            homes
        };
        for home in &homes {
            pipe.exists(homes::alive_key(home));
        }
        let replies: Vec<i64> = self
            .commands
            .run(|mut redis| async move { pipe.query_async(&mut redis).await })
            .await?;
        let (renewed, alive) = replies.split_at(codes.len().min(replies.len()));
        for (code, renewed) in codes.iter().zip(renewed) {
            if *renewed == 0 {
                // Two nodes took the meeting while Redis was away: this one gives way.
                let people = signaling.hub.hand_over(code);
                if let Some(sfu) = &signaling.sfu {
                    for peer in &people {
                        sfu.close(*peer);
                    }
                }
                tracing::warn!(room = %code, people = people.len(), "another node hosts this meeting now; its participants move there");
            }
        }
        let dead: Vec<&NodeId> = homes
            .iter()
            .zip(alive)
            .filter(|(_, alive)| **alive == 0)
            .map(|(home, _)| home)
            .collect();
        if !dead.is_empty() {
            let mut links = lock(&self.edge_links);
            links.retain(|_, (home, _)| !dead.contains(&&*home));
            for home in dead {
                tracing::warn!(node = %home, "a node hosting meetings is gone; its participants move");
            }
        }
        // (A meeting just claimed may have nobody in it yet: its first join is on its way.)
        lock(&self.homed_at).retain(|code, at| {
            codes.contains(code) || at.elapsed().unwrap_or_default() < homes::HOME_LEASE
        });
        self.check().await;
        Ok(())
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node", &self.node).finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves a new signaling WebSocket where its meeting lives: here, or relayed to the
/// node that hosts it. Its first frame names the meeting (`join` and `resume` carry
/// it); a connection that names none is served here, which answers it as usual.
pub async fn route(
    cluster: Arc<Cluster>,
    mut socket: axum::extract::ws::WebSocket,
    signaling: Arc<Signaling>,
    client: std::net::IpAddr,
    visitor: crate::hosts::Visitor,
    slot: crate::signaling::limits::ConnectionSlot,
) {
    use crate::signaling::connection;
    let wait = signaling.limits.heartbeat_timeout;
    let first = match tokio::time::timeout(wait, socket.recv()).await {
        Ok(Some(Ok(frame))) => frame,
        _ => return,
    };
    let room = match &first {
        Message::Text(text) => addressed(text.as_str()),
        _ => None,
    };
    let home = match &room {
        Some(room) => cluster.home_of(room).await,
        None => Ok(Home::Here),
    };
    match home {
        Ok(Home::Here) => {
            connection::serve(socket, Some(first), signaling, client, visitor, slot).await
        }
        Ok(Home::There(home)) => {
            let stopping = signaling.stopping.subscribe();
            relay::relay(cluster, socket, first, home, client, visitor, stopping).await;
            drop(slot);
        }
        Err(error) => {
            // Where the meeting lives is unknown: the browser tries again shortly, as
            // after a restart.
            tracing::warn!(%error, "could not look up which node hosts a meeting");
            cluster.check().await;
            let frame = axum::extract::ws::CloseFrame {
                code: app::protocol::CLOSE_RESTARTING,
                reason: "the server cannot reach its cluster: come back".into(),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
    }
}

/// The meeting a client message names, if it names one.
fn addressed(text: &str) -> Option<RoomCode> {
    #[derive(serde::Deserialize)]
    struct Addressed {
        room: RoomCode,
    }
    serde_json::from_str::<Addressed>(text).ok().map(|a| a.room)
}
