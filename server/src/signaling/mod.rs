//! The signaling service at `/ws`: participants join a room, learn who else is there,
//! and pass WebRTC offers, answers and ICE candidates to one named peer. The protocol
//! is in `app::protocol` (see app/src/PROTOCOL.md).

mod chat;
pub(crate) mod connection;
pub mod forwarded;
pub mod hub;
pub mod ids;
pub mod limits;
mod media_port;
mod messages;
mod moderation;
pub mod origin;
pub mod resume;
mod waiting;
mod writer;

use crate::cluster::Cluster;
use crate::config::SignalingConfig;
use crate::hosts::{HostKeys, Visitor};
use crate::ice::IceServers;
use crate::monitoring::{self, RelayedCounters};
use crate::store::{RoomStore, StoreError};
use app::protocol::SessionLimits;
use app::room_code::RoomCode;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use forwarded::TrustedProxies;
use hub::transport::MeshLimit;
use hub::{HeldBytes, Hub};
use ids::PeerIds;
use limits::{AddressQuota, ConnectionsPerIp};
use origin::OriginPolicy;
use resume::ResumeTokens;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// Bytes the WebSocket reads from the network at a time. Signaling messages are
/// small, and a small buffer keeps idle connections cheap.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Everything the signaling connections share.
pub struct Signaling {
    pub hub: Hub,
    pub store: RoomStore,
    pub ice: IceServers,
    pub limits: SignalingConfig,
    ids: PeerIds,
    tokens: ResumeTokens,
    /// When this server started: a session it does not know, whose token is older,
    /// was begun before a restart and may be taken up again.
    started_at: SystemTime,
    /// Numbers the connections, so that news from one that was replaced is ignored.
    next_connection: AtomicU64,
    /// Set when the server stops: every connection closes, asking clients to come back.
    pub(crate) stopping: watch::Sender<bool>,
    origins: OriginPolicy,
    proxies: TrustedProxies,
    connections: ConnectionsPerIp,
    chat_quota: AddressQuota,
    /// Knocks (asking to join) per address.
    knock_quota: AddressQuota,
    /// Checks host cookies.
    pub hosts: Arc<HostKeys>,
    /// The media port, when the server forwards media.
    pub sfu: Option<crate::sfu::Sfu>,
    pub relayed: RelayedCounters,
    /// The other nodes, when this is one of several (`--cluster`).
    pub cluster: Option<Arc<Cluster>>,
}

/// Meetings of more people than this go through the media port, unless configured
/// otherwise: past four, a mesh has each browser encode its camera four times or more
/// at a fifth of the upload budget or less.
pub const DEFAULT_MESH_LIMIT: usize = 4;

/// People a meeting holds unless configured otherwise, while the media port is open:
/// a little past the meetings of 25 it was measured with. (A browser's connection to
/// the server does not grow with the meeting past its pool of slots.)
pub const DEFAULT_MAX_PARTICIPANTS: usize = 30;
/// People a meeting holds unless configured otherwise with the media port off: each
/// browser sends its camera to every other one.
pub const DEFAULT_MAX_PARTICIPANTS_MESH: usize = 8;

/// How many people a meeting holds: as configured, else as the media port allows.
pub fn max_participants(configured: Option<usize>, media_port: bool) -> usize {
    configured.unwrap_or(if media_port {
        DEFAULT_MAX_PARTICIPANTS
    } else {
        DEFAULT_MAX_PARTICIPANTS_MESH
    })
}

/// Names the resume-token key in the database.
const RESUME_KEY: &str = "resume-token-key";

impl Signaling {
    /// Sets up signaling, with the resume key and a block of peer ids from `store`.
    pub async fn open(
        limits: SignalingConfig,
        ice: IceServers,
        store: RoomStore,
        sfu: Option<crate::sfu::Sfu>,
        cluster: Option<Arc<Cluster>>,
    ) -> Result<Self, StoreError> {
        let key = store.secret(RESUME_KEY, resume::new_key).await?;
        let host_key = store
            .secret(crate::hosts::HOST_KEY, crate::hosts::new_key)
            .await?;
        let mesh_limit = match (&sfu, limits.mesh_limit) {
            (None, _) => MeshLimit::NoMediaPort,
            (Some(_), limit) => MeshLimit::AtMost(limit.map_or(DEFAULT_MESH_LIMIT, |l| l as usize)),
        };
        let max = max_participants(limits.max_participants, sfu.is_some());
        let hub = Hub::new(max, limits.outgoing_queue)
            .with_byte_budgets(
                limits.max_held_bytes_per_participant,
                HeldBytes::with_budget(limits.max_held_bytes),
            )
            .with_mesh_limit(mesh_limit);
        Ok(Self {
            hub,
            ids: PeerIds::open(store.clone()).await?,
            tokens: ResumeTokens::new(key),
            started_at: SystemTime::now(),
            next_connection: AtomicU64::new(1),
            stopping: watch::channel(false).0,
            origins: OriginPolicy::new(&limits.public_origins),
            proxies: TrustedProxies::new(&limits.trusted_proxies),
            connections: ConnectionsPerIp::new(limits.max_connections_per_ip),
            chat_quota: AddressQuota::new(
                limits.max_chat_bytes_per_hour,
                Duration::from_secs(3600),
            ),
            knock_quota: AddressQuota::new(limits.max_knocks_per_minute, Duration::from_secs(60)),
            hosts: Arc::new(HostKeys::new(host_key)),
            sfu,
            cluster,
            relayed: RelayedCounters::new(),
            store,
            ice,
            limits,
        })
    }

    /// Open signaling connections.
    pub fn connections(&self) -> usize {
        self.connections.total()
    }

    /// Meetings with someone in them, and participants in all of them.
    pub fn census(&self) -> (usize, usize) {
        self.hub.census()
    }

    /// Bytes held for participants now: waiting to be sent and kept for resumes.
    pub fn held_bytes(&self) -> usize {
        self.hub.held().get()
    }

    /// Keeps what the server holds for its participants within its budget: each time
    /// it goes over, those holding the most are disconnected. Runs as long as the
    /// signaling service does.
    pub fn keep_within_budget(self: &Arc<Self>) {
        let held = self.hub.held().clone();
        let signaling: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                held.went_over().await;
                let Some(signaling) = signaling.upgrade() else {
                    return;
                };
                let dropped = signaling.hub.shed();
                if dropped > 0 {
                    metrics::counter!(monitoring::SHED).increment(dropped as u64);
                }
            }
        });
    }

    /// Every second, settles meetings' moves between the mesh and the media port and
    /// returns small meetings to the mesh (`hub::transport`). Runs as long as the
    /// signaling service does.
    pub fn review_transports(self: &Arc<Self>) {
        if self.sfu.is_none() {
            return;
        }
        let signaling: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let Some(signaling) = signaling.upgrade() else {
                    return;
                };
                for settled in signaling.hub.review_transports(std::time::Instant::now()) {
                    media_port::close_old_way(signaling.sfu.as_ref(), &settled);
                }
            }
        });
    }

    /// What the client is told of its limits.
    fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            messages_per_second: self.limits.max_messages_per_second,
            resume_grace_ms: self.limits.resume_grace.as_millis() as u64,
            video_upload_kbps: self.limits.video_upload_kbps,
        }
    }

    /// Closes every signaling connection with "restarting, come back", and waits (a
    /// little) for the close frames to go out.
    pub async fn stop(&self) {
        // Other nodes take this one's meetings before anyone is asked to come back.
        if let Some(cluster) = &self.cluster {
            cluster.leave(self).await;
        }
        self.stopping.send_replace(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A session of meeting `code` this server does not know may be taken up afresh
    /// when its token was issued before this: before the server started, or before
    /// this node became the meeting's home (its former home stopped or died).
    fn restorable_before(&self, code: &RoomCode) -> SystemTime {
        let homed_at = self.cluster.as_ref().and_then(|c| c.homed_at(code));
        homed_at.map_or(self.started_at, |at| at.max(self.started_at))
    }

    /// Takes `amount` from `client`'s allowance `quota` (named `kind`): over all nodes
    /// when this is one of several and Redis answers, else on this node.
    async fn take_allowance(
        &self,
        quota: &AddressQuota,
        kind: &str,
        client: std::net::IpAddr,
        amount: usize,
    ) -> bool {
        if let Some(cluster) = &self.cluster {
            match cluster
                .take_allowance(kind, client, quota.amount(), quota.period(), amount)
                .await
            {
                Ok(taken) => return taken.is_ok(),
                Err(error) => {
                    tracing::warn!(%error, kind, "could not count an allowance in Redis; counting here")
                }
            }
        }
        quota.take(client, amount)
    }

    /// Records activity in a room; a failure is logged, not fatal to the call.
    async fn touch(&self, code: &RoomCode) {
        if let Err(error) = self.store.touch(code).await {
            tracing::warn!(%error, room = %code, "could not record room activity");
        }
    }
}

/// `GET /ws`: checks the page's origin and the caller's connection count (the caller
/// being the client behind a trusted proxy), then upgrades to a signaling WebSocket.
pub async fn upgrade(
    State(signaling): State<Arc<Signaling>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let client = signaling.proxies.client_ip(peer.ip(), &headers);
    let visitor = Visitor::from_headers(&headers);
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !signaling.origins.allows(origin, host) {
        tracing::warn!(?origin, %client, "refused a signaling connection from a foreign page");
        metrics::counter!(monitoring::UPGRADES_REFUSED, "reason" => "origin").increment(1);
        return (
            StatusCode::FORBIDDEN,
            "this page may not open Parley's signaling connection (Origin not allowed)\n",
        )
            .into_response();
    }
    let Some(slot) = signaling.connections.acquire(client) else {
        tracing::warn!(%client, "too many signaling connections from one address");
        metrics::counter!(monitoring::UPGRADES_REFUSED, "reason" => "connections_per_address")
            .increment(1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many signaling connections from your address\n",
        )
            .into_response();
    };
    // Frames up to a few times the limit are read whole and refused with an error and a
    // clean close; only far larger ones are cut off mid-frame by the WebSocket layer.
    let hard_cap = signaling.limits.max_frame_bytes.saturating_mul(4);
    ws.max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            match signaling.cluster.clone() {
                None => connection::serve(socket, None, signaling, client, visitor, slot).await,
                Some(cluster) => {
                    crate::cluster::route(cluster, socket, signaling, client, visitor, slot).await
                }
            }
        })
}
