//! Whether this node can do its work. `/healthz` answers 200 when the database (and,
//! for one of several nodes, Redis) answers and 503 when not (a load balancer then sends new people to another node),
//! with a line per dependency; the log says when the database goes away and when it
//! is back. Calls in progress are not touched either way: the database is needed to
//! join, not to talk.

use crate::cluster::Cluster;
use crate::store::{Engine, RoomStore};
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a check waits for the database's answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How often the database is checked when nobody asks.
const CHECK_EVERY: Duration = Duration::from_secs(5);

pub struct Health {
    store: RoomStore,
    /// The bus between nodes, when this is one of several.
    cluster: Option<Arc<Cluster>>,
    /// What the last check found (to log changes only).
    database_up: AtomicBool,
}

impl Health {
    pub fn new(store: RoomStore, cluster: Option<Arc<Cluster>>) -> Arc<Self> {
        Arc::new(Self {
            store,
            cluster,
            database_up: AtomicBool::new(true),
        })
    }

    /// Asks the database now; logs when the answer changed. Whether it answered.
    pub async fn check_database(&self) -> bool {
        let up = self.store.reachable(ANSWER_WITHIN).await;
        let engine = engine_name(self.store.engine());
        if self.database_up.swap(up, Ordering::Relaxed) != up {
            if up {
                tracing::info!(engine, "the database answers again");
            } else {
                tracing::warn!(
                    engine,
                    "the database does not answer: nobody can join or chat until it does"
                );
            }
        }
        up
    }

    /// Checks now and then, so that the log tells of an outage nobody asked about.
    pub async fn watch(self: Arc<Self>) {
        let mut every = tokio::time::interval(CHECK_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            self.check_database().await;
        }
    }
}

/// `GET /healthz`: `ok` or `unavailable`, then a line per dependency.
pub async fn endpoint(State(health): State<Arc<Health>>) -> (StatusCode, String) {
    let engine = engine_name(health.store.engine());
    let database = health.check_database().await;
    let mut lines = vec![match database {
        true => format!("database: ok ({engine})"),
        false => format!("database: unreachable ({engine})"),
    }];
    let mut healthy = database;
    if let Some(cluster) = &health.cluster {
        let redis = cluster.check().await;
        healthy &= redis;
        lines.push(match redis {
            true => format!("redis: ok (node {})", cluster.node()),
            false => "redis: unreachable".to_owned(),
        });
    }
    let (status, word) = match healthy {
        true => (StatusCode::OK, "ok"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    (status, format!("{word}\n{}\n", lines.join("\n")))
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    }
}
