//! Accepting the public listener's connections, with bounds on what one address can
//! make the server hold open: at most `--max-http-connections-per-ip` connections at
//! once (trusted proxies excepted: their clients are the proxy's to limit), and
//! `--header-timeout` to send a request's headers, which is also how long an idle
//! keep-alive connection waits for its next request. A signaling WebSocket leaves
//! this count once upgraded; it has a limit of its own (`--max-connections-per-ip`).
//!
//! HTTP/1.1 only: browsers reach Parley through a proxy or directly over HTTP/1.1,
//! and WebSockets need it.

use crate::config::HttpConfig;
use crate::monitoring;
use crate::signaling::forwarded::TrustedProxies;
use crate::signaling::limits::ConnectionsPerIp;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::Service;

/// How long connections may take to finish once the server stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The public listener's connection rules.
pub struct Acceptor {
    per_address: ConnectionsPerIp,
    proxies: TrustedProxies,
    header_timeout: Duration,
}

impl Acceptor {
    pub fn new(config: &HttpConfig, proxies: TrustedProxies) -> Self {
        Self {
            per_address: ConnectionsPerIp::new(config.max_http_connections_per_ip),
            proxies,
            header_timeout: config.header_timeout,
        }
    }

    /// Serves `router` on `listener` until `shutdown` resolves, then lets the open
    /// connections finish (for a few seconds at most).
    pub async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        let builder = Arc::new(builder);
        let graceful = GracefulShutdown::new();
        let mut shutdown = pin!(shutdown);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, say: wait instead of spinning.
                        tracing::warn!(%error, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let ip = remote.ip().to_canonical();
            let slot = if self.proxies.trusts(ip) {
                None
            } else {
                match self.per_address.acquire(ip) {
                    Some(slot) => Some(slot),
                    None => {
                        tracing::debug!(%ip, "too many connections from one address: closed");
                        metrics::counter!(monitoring::CONNECTIONS_REFUSED).increment(1);
                        continue;
                    }
                }
            };
            let connection = self.connection(&builder, &graceful, stream, remote, router.clone());
            tokio::spawn(async move {
                connection.await;
                drop(slot);
            });
        }
        drop(listener);
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::info!("some connections were still open when the server stopped");
        }
        Ok(())
    }

    /// Serves one connection, which must bring its first request's headers within
    /// the header timeout.
    fn connection(
        &self,
        builder: &Arc<auto::Builder<TokioExecutor>>,
        graceful: &GracefulShutdown,
        stream: TcpStream,
        remote: SocketAddr,
        router: Router,
    ) -> impl Future<Output = ()> + Send + 'static {
        // Signaling messages are small and latency matters: send them at once instead
        // of letting Nagle's algorithm hold them back waiting for an ACK.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let first_request = Arc::new(Notify::new());
        let service = {
            let first_request = first_request.clone();
            hyper::service::service_fn(move |mut request: Request<Incoming>| {
                first_request.notify_one();
                request.extensions_mut().insert(ConnectInfo(remote));
                router.clone().call(request)
            })
        };
        let builder = builder.clone();
        let watcher: Watcher = graceful.watcher();
        let header_timeout = self.header_timeout;
        async move {
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let mut connection = pin!(watcher.watch(connection));
            // hyper times the headers of each request once it has begun reading them;
            // a client that sends nothing at all is timed here.
            tokio::select! {
                result = &mut connection => return ended(result),
                () = first_request.notified() => {}
                () = tokio::time::sleep(header_timeout) => {
                    tracing::debug!(%remote, "no request within the header timeout: closed");
                    return;
                }
            }
            ended(connection.await);
        }
    }
}

fn ended(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::debug!(%error, "HTTP connection ended with an error");
    }
}
