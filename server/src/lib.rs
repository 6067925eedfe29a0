//! The Parley server: renders the pages, serves the browser app and keeps rooms in SQLite.
// Leptos view types nest deeply; without erased components the room page needs more
// than the default depth to compile.
#![recursion_limit = "256"]

pub mod config;
pub mod ice;
pub mod routes;
pub mod signaling;
pub mod store;

use axum::serve::ListenerExt;
use config::Config;
use ice::IceServers;
use signaling::Signaling;
use std::net::SocketAddr;
use std::sync::Arc;
use store::{RoomStore, StoreError};
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// A server that is listening and ready for requests.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    store: RoomStore,
    signaling: Arc<Signaling>,
}

impl Server {
    /// Opens the database (running migrations) and binds the listening socket.
    pub async fn bind(config: &Config) -> Result<Self, ServerError> {
        let store = RoomStore::open(&config.database_url).await?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let signaling = Arc::new(
            Signaling::open(
                config.signaling.clone(),
                IceServers::new(&config.ice),
                store.clone(),
            )
            .await?,
        );
        let router = routes::router(config, addr, store.clone(), signaling.clone());
        Ok(Self {
            listener,
            addr,
            router,
            store,
            signaling,
        })
    }

    /// The address actually bound (useful when the configured port was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
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
            store,
            signaling,
            ..
        } = self;
        // Signaling messages are small and latency matters: send them at once instead
        // of letting Nagle's algorithm hold them back waiting for an ACK.
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        let result = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            signaling.stop().await;
        })
        .await
        .map_err(ServerError::Serve);
        store.close().await;
        result
    }
}
