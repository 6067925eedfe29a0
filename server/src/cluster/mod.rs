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

mod bus;
mod commands;
mod envelope;
pub mod homes;
mod lease;
mod quotas;
mod relay;
mod remote;
mod route;

pub use route::route;

pub use envelope::NodeId;
use envelope::{Body, Envelope, LinkId};

use crate::signaling::Signaling;
use app::room_code::RoomCode;
use axum::extract::ws::Message;
use commands::{Commands, REDIS_TIMEOUT};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
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
        tokio::spawn(bus::publish_loop(Arc::downgrade(&cluster), queue));
        tracing::info!(node = %cluster.node, redis = %shown, "joined the cluster");
        Ok(cluster)
    }

    /// Starts listening for links and keeping this node's meetings.
    pub fn start(self: &Arc<Self>, signaling: &Arc<Signaling>) {
        tokio::spawn(bus::listen(Arc::downgrade(self), Arc::downgrade(signaling)));
        tokio::spawn(lease::keep_alive(
            Arc::downgrade(self),
            Arc::downgrade(signaling),
        ));
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
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node", &self.node).finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
