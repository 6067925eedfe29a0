//! The Parley server: renders the pages, serves the browser app and keeps meetings in
//! SQLite or PostgreSQL.
// Leptos view types nest deeply; without erased components the room page needs more
// than the default depth to compile.
#![recursion_limit = "256"]

pub mod accept;
pub mod cluster;
pub mod config;
pub mod health;
pub mod hosts;
pub mod ice;
pub mod monitoring;
pub mod new_meetings;
pub mod routes;
pub mod security;
pub mod sfu;
pub mod signaling;
pub mod site;
pub mod store;

use accept::Acceptor;
use config::Config;
use health::Health;
use ice::IceServers;
use signaling::forwarded::TrustedProxies;
use signaling::Signaling;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use store::{RoomStore, StoreError};
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not open the media port on {addr}: {source}")]
    MediaPort {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "--mesh-limit sends meetings through the media port, which --sfu-listen off turns off"
    )]
    NoMediaPort,
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// A server that is listening and ready for requests.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    /// The metrics listener (`--metrics-listen`), apart from the public one.
    metrics: Option<(TcpListener, SocketAddr)>,
    router: axum::Router,
    acceptor: Acceptor,
    store: RoomStore,
    signaling: Arc<Signaling>,
    health: Arc<Health>,
    retention: Retention,
}

/// How long what people leave behind is kept.
#[derive(Debug, Clone, Copy)]
struct Retention {
    chat: Duration,
    idle_meetings: Duration,
}

/// Housekeeping runs at most this far apart (more often when a retention period is
/// short, so it is kept to within half of it).
const HOUSEKEEPING_AT_MOST_EVERY: Duration = Duration::from_secs(3600);

impl Server {
    /// Opens the database (running migrations) and binds the listening socket.
    pub async fn bind(config: &Config) -> Result<Self, ServerError> {
        monitoring::install();
        let store = RoomStore::open(&config.database_url).await?;
        let (listener, addr) = bind(config.listen).await?;
        let metrics = match config.metrics_listen {
            Some(at) => Some(bind(at).await?),
            None => None,
        };
        let media_port = config.signaling.sfu_listen.address();
        if config.signaling.mesh_limit.is_some() && media_port.is_none() {
            return Err(ServerError::NoMediaPort);
        }
        let sfu = match media_port {
            Some(addr) => Some(
                sfu::Sfu::bind(addr, config.signaling.sfu_public_ip)
                    .await
                    .map_err(|source| ServerError::MediaPort { addr, source })?,
            ),
            None => None,
        };
        let cluster = match &config.cluster {
            Some(url) => Some(cluster::Cluster::open(url).await?),
            None => None,
        };
        let signaling = Arc::new(
            Signaling::open(
                config.signaling.clone(),
                IceServers::new(&config.ice),
                store.clone(),
                sfu,
                cluster.clone(),
            )
            .await?,
        );
        if let Some(cluster) = &cluster {
            cluster.start(&signaling);
        }
        signaling.keep_within_budget();
        signaling.review_transports();
        let health = Health::new(store.clone(), cluster);
        let router = routes::router(
            config,
            addr,
            store.clone(),
            signaling.clone(),
            health.clone(),
        );
        let acceptor = Acceptor::new(
            &config.http,
            TrustedProxies::new(&config.signaling.trusted_proxies),
        );
        Ok(Self {
            listener,
            addr,
            metrics,
            router,
            acceptor,
            store,
            signaling,
            health,
            retention: Retention {
                chat: config.chat_retention,
                idle_meetings: config.meeting_expiry,
            },
        })
    }

    /// The address actually bound (useful when the configured port was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The media port's address as browsers are given it, when the server forwards
    /// media.
    pub fn media_addr(&self) -> Option<SocketAddr> {
        self.signaling.sfu.as_ref().map(sfu::Sfu::advertised_addr)
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// Serves until `shutdown` resolves, then asks every signaling client to come back
    /// (the calls go on meanwhile) and closes the database cleanly.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let Self {
            listener,
            router,
            acceptor,
            store,
            signaling,
            retention,
            metrics,
            health,
            ..
        } = self;
        let sweeper = tokio::spawn(housekeeping(store.clone(), retention));
        let watcher = tokio::spawn(health.watch());
        let metrics = metrics.map(|(listener, _)| {
            let router = monitoring::router(signaling.clone());
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            })
        });
        let result = acceptor
            .serve(listener, router, async move {
                shutdown.await;
                signaling.stop().await;
            })
            .await
            .map_err(ServerError::Serve);
        sweeper.abort();
        watcher.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        store.close().await;
        result
    }
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServerError> {
    let bind_error = |source| ServerError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    Ok((listener, bound))
}

/// Deletes chat past its retention period and meetings idle past theirs (with their
/// chat), now and then regularly.
async fn housekeeping(store: RoomStore, retention: Retention) {
    let shortest = retention.chat.min(retention.idle_meetings);
    let period = (shortest / 2).clamp(Duration::from_millis(100), HOUSEKEEPING_AT_MOST_EVERY);
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match store.forget_chat_before(ago(retention.chat)).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "deleted chat messages past the retention period"),
            Err(error) => tracing::warn!(%error, "could not delete old chat messages"),
        }
        match store
            .forget_rooms_idle_since(ago(retention.idle_meetings))
            .await
        {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(
                    count,
                    "deleted meetings nobody joined within the expiry period"
                );
                metrics::counter!(monitoring::MEETINGS_EXPIRED).increment(count);
            }
            Err(error) => tracing::warn!(%error, "could not delete expired meetings"),
        }
    }
}

fn ago(period: Duration) -> SystemTime {
    SystemTime::now()
        .checked_sub(period)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}
