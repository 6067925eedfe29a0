//! A connection to Redis for commands, shared by a node's tasks, made afresh after any
//! failure: every command is bounded in time, and a connection that failed or timed
//! out is dropped, so the next command connects again (once Redis is back, the first
//! command finds it).

use super::ClusterError;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use std::future::Future;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long connecting, or a command, may take.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Commands {
    client: redis::Client,
    current: Mutex<Option<MultiplexedConnection>>,
}

impl Commands {
    pub fn new(client: redis::Client) -> Self {
        Self {
            client,
            current: Mutex::new(None),
        }
    }

    /// Runs `command` on the connection (connecting first if there is none).
    pub async fn run<T, F, Fut>(&self, command: F) -> Result<T, ClusterError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().await?;
        match tokio::time::timeout(REDIS_TIMEOUT, command(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                // A reply that is an error (a script's) leaves the connection usable.
                if error.is_io_error() || error.is_timeout() || error.is_connection_dropped() {
                    self.current.lock().await.take();
                }
                Err(error.into())
            }
            Err(_) => {
                self.current.lock().await.take();
                Err(ClusterError::Timeout)
            }
        }
    }

    async fn connection(&self) -> Result<MultiplexedConnection, ClusterError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = &*current {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(REDIS_TIMEOUT)
            .set_response_timeout(REDIS_TIMEOUT);
        let connecting = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        let connection = tokio::time::timeout(REDIS_TIMEOUT, connecting)
            .await
            .map_err(|_| ClusterError::Timeout)??;
        *current = Some(connection.clone());
        Ok(connection)
    }
}
