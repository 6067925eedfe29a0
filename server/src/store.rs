//! Meetings kept in a database: SQLite (one file, the default) or PostgreSQL (which
//! several Parley nodes can share). One set of queries serves both, through sqlx's
//! `Any` driver: `$1` placeholders (both read them), integers for flags (0 or 1),
//! nothing else engine-specific. Each engine has its own migrations, kept in step
//! (migrations/sqlite and migrations/postgres, file for file).

use app::protocol::{Access, MeetingSettings};
use app::room_code::RoomCode;
use app::rooms::RoomInfo;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::AnyPool;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod chat;
mod meetings;
#[cfg(test)]
mod test_databases;
pub use chat::unix_millis;

/// How often creating a room retries after drawing a code that is already taken.
const CODE_ATTEMPTS: usize = 5;
/// Connections a node keeps open at most.
const MAX_CONNECTIONS: u32 = 8;
/// How long a query waits for a connection (so that a lost database server fails a
/// join with an error instead of holding it).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("could not open the database {url:?}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("could not apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("no free room code after {CODE_ATTEMPTS} attempts")]
    NoFreeCode,
}

/// The database engines Parley keeps meetings in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a database URL names, by its scheme.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// The meetings' tables, behind a connection pool.
#[derive(Clone, Debug)]
pub struct RoomStore {
    pool: AnyPool,
    engine: Engine,
}

impl RoomStore {
    /// Opens the database at `url` (a SQLite file is created if missing) and brings
    /// its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let shown = redacted(url);
        let invalid = |reason: String| StoreError::InvalidUrl {
            url: shown.clone(),
            reason,
        };
        // sqlx would read "mysql://x" as something else: say what is supported instead.
        let engine = Engine::of(url).ok_or_else(|| {
            invalid(
                "Parley keeps meetings in SQLite (sqlite:PATH) or PostgreSQL \
                 (postgres://USER:PASSWORD@HOST/DATABASE)"
                    .to_owned(),
            )
        })?;
        let url = match engine {
            Engine::Sqlite => {
                // Checked by the SQLite driver itself, for its clearer message.
                SqliteConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
                create_if_missing(url)
            }
            Engine::Postgres => url.to_owned(),
        };
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(&url)
            .await
            .map_err(|source| StoreError::Open {
                url: shown.clone(),
                source,
            })?;
        let migrations = match engine {
            Engine::Sqlite => {
                // Readers do not wait for the writer (kept by the file once set).
                sqlx::query("PRAGMA journal_mode = WAL")
                    .fetch_all(&pool)
                    .await?;
                &SQLITE_MIGRATIONS
            }
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        // (On PostgreSQL under a lock: nodes starting together migrate once.)
        migrations.run(&pool).await?;
        Ok(Self { pool, engine })
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Whether the database answers a trivial query within `within`.
    pub async fn reachable(&self, within: Duration) -> bool {
        let ping = sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool);
        matches!(tokio::time::timeout(within, ping).await, Ok(Ok(1)))
    }

    /// Creates a room with a fresh random code.
    pub async fn create(
        &self,
        name: &str,
        settings: MeetingSettings,
    ) -> Result<RoomInfo, StoreError> {
        let now = unix_now();
        for _ in 0..CODE_ATTEMPTS {
            let code = RoomCode::generate();
            let inserted = sqlx::query(
                "INSERT INTO rooms (code, name, created_at, last_active_at, access,
                                    everyone_may_present, everyone_may_chat)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (code) DO NOTHING",
            )
            .bind(code.as_str())
            .bind(name)
            .bind(now)
            .bind(now)
            .bind(settings.access.as_str())
            .bind(i64::from(settings.everyone_may_present))
            .bind(i64::from(settings.everyone_may_chat))
            .execute(&self.pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(RoomInfo {
                    code,
                    name: name.to_owned(),
                    access: settings.access,
                    hosting: false,
                });
            }
            tracing::warn!(%code, "room code collision, drawing another");
        }
        Err(StoreError::NoFreeCode)
    }

    /// Finds a room by code.
    pub async fn find(&self, code: &RoomCode) -> Result<Option<RoomInfo>, StoreError> {
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT name, access FROM rooms WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.map(|(name, access)| RoomInfo {
            code: code.clone(),
            name,
            access: Access::parse(&access).unwrap_or_default(),
            hosting: false,
        }))
    }

    /// Records that someone joined or left the room now. `false` when there is no
    /// such room, so a join needs only this one query to both check and record.
    pub async fn touch(&self, code: &RoomCode) -> Result<bool, StoreError> {
        let updated = sqlx::query("UPDATE rooms SET last_active_at = $1 WHERE code = $2")
            .bind(unix_now())
            .bind(code.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated == 1)
    }

    /// Deletes every room nobody has joined or left since `before`, with its chat;
    /// returns how many rooms went.
    pub async fn forget_rooms_idle_since(&self, before: SystemTime) -> Result<u64, StoreError> {
        let before = unix_seconds(before);
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM chat_messages WHERE room_code IN
               (SELECT code FROM rooms WHERE last_active_at < $1)",
        )
        .bind(before)
        .execute(&mut *transaction)
        .await?;
        for table in ["meeting_removals", "meeting_co_hosts"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE room_code IN
                   (SELECT code FROM rooms WHERE last_active_at < $1)"
            ))
            .bind(before)
            .execute(&mut *transaction)
            .await?;
        }
        let rooms = sqlx::query("DELETE FROM rooms WHERE last_active_at < $1")
            .bind(before)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        transaction.commit().await?;
        Ok(rooms)
    }

    /// Reserves `count` peer ids that no one has had before and returns the first.
    pub async fn reserve_peer_ids(&self, count: u64) -> Result<u64, StoreError> {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        // fetch_all steps the statement to its end, so its write is committed at once
        // (a statement left half-stepped would keep the database locked).
        let ends: Vec<i64> = sqlx::query_scalar(
            "UPDATE peer_ids SET next = next + $1 WHERE only_row = 1 RETURNING next",
        )
        .bind(count)
        .fetch_all(&self.pool)
        .await?;
        let end = ends.first().copied().ok_or(sqlx::Error::RowNotFound)?;
        Ok((end - count).max(0) as u64)
    }

    /// The secret named `name`, made by `make` and stored the first time it is asked for.
    pub async fn secret(
        &self,
        name: &str,
        make: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(make())
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Closes the pool (flushing SQLite's write-ahead log).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn unix_now() -> i64 {
    unix_seconds(SystemTime::now())
}

/// Seconds since 1970, as the rooms table keeps its times.
fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `url` with its password, if it has one, hidden (for logs and errors).
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_owned(),
    }
}

/// A SQLite URL that creates its file if missing (`mode=rwc`), unless it names a mode.
fn create_if_missing(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests;
