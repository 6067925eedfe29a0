//! Rooms in SQLite.

use app::protocol::{Access, MeetingSettings};
use app::room_code::RoomCode;
use app::rooms::RoomInfo;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod chat;
mod meetings;
pub use chat::unix_millis;

/// How often creating a room retries after drawing a code that is already taken.
const CODE_ATTEMPTS: usize = 5;

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

/// The room table, behind a connection pool.
#[derive(Clone, Debug)]
pub struct RoomStore {
    pool: SqlitePool,
}

impl RoomStore {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        // sqlx would read "postgres://x" as a SQLite file name: say what is supported instead.
        if !url.starts_with("sqlite:") {
            return Err(StoreError::InvalidUrl {
                url: url.to_owned(),
                reason: "Parley stores rooms in SQLite; use sqlite:PATH".to_owned(),
            });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| StoreError::InvalidUrl {
                url: url.to_owned(),
                reason: source.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                url: url.to_owned(),
                source,
            })?;
        sqlx::migrate!("../migrations").run(&pool).await?;
        Ok(Self { pool })
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
                 VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (code) DO NOTHING",
            )
            .bind(code.as_str())
            .bind(name)
            .bind(now)
            .bind(now)
            .bind(settings.access.as_str())
            .bind(settings.everyone_may_present)
            .bind(settings.everyone_may_chat)
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
            sqlx::query_as("SELECT name, access FROM rooms WHERE code = ?")
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
        let updated = sqlx::query("UPDATE rooms SET last_active_at = ? WHERE code = ?")
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
               (SELECT code FROM rooms WHERE last_active_at < ?)",
        )
        .bind(before)
        .execute(&mut *transaction)
        .await?;
        for table in ["meeting_removals", "meeting_co_hosts"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE room_code IN
                   (SELECT code FROM rooms WHERE last_active_at < ?)"
            ))
            .bind(before)
            .execute(&mut *transaction)
            .await?;
        }
        let rooms = sqlx::query("DELETE FROM rooms WHERE last_active_at < ?")
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
            "UPDATE peer_ids SET next = next + ? WHERE only_row = 1 RETURNING next",
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
            "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(make())
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Closes the pool, flushing SQLite's write-ahead log.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn db_url(dir: &tempfile::TempDir) -> String {
        format!("sqlite:{}", dir.path().join("parley.db").display())
    }

    #[tokio::test]
    async fn creates_and_finds_rooms_in_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = RoomStore::open(&db_url(&dir)).await.unwrap();
        assert!(
            dir.path().join("parley.db").exists(),
            "the database file is created"
        );

        let room = store
            .create("Standup", MeetingSettings::default())
            .await
            .unwrap();
        assert_eq!(room.name, "Standup");
        assert_eq!(store.find(&room.code).await.unwrap(), Some(room.clone()));

        let other = store
            .create("Retro", MeetingSettings::default())
            .await
            .unwrap();
        assert_ne!(other.code, room.code);
        assert_eq!(
            store.find(&other.code).await.unwrap().unwrap().name,
            "Retro"
        );
    }

    #[tokio::test]
    async fn unknown_rooms_are_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = RoomStore::open(&db_url(&dir)).await.unwrap();
        store
            .create("Standup", MeetingSettings::default())
            .await
            .unwrap();
        let unknown = RoomCode::parse("zzz-zzzz-zzz").unwrap();
        assert_eq!(store.find(&unknown).await.unwrap(), None);
    }

    #[tokio::test]
    async fn rooms_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = db_url(&dir);
        let room = {
            let store = RoomStore::open(&url).await.unwrap();
            let room = store
                .create("Weekly sync", MeetingSettings::default())
                .await
                .unwrap();
            store.close().await;
            room
        };
        // Opening again runs the migrations again: they must be a no-op now.
        let reopened = RoomStore::open(&url).await.unwrap();
        assert_eq!(reopened.find(&room.code).await.unwrap(), Some(room));
    }

    #[tokio::test]
    async fn peer_ids_and_secrets_outlive_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let url = db_url(&dir);
        let store = RoomStore::open(&url).await.unwrap();
        assert_eq!(store.reserve_peer_ids(100).await.unwrap(), 1);
        assert_eq!(store.reserve_peer_ids(100).await.unwrap(), 101);
        let key = store.secret("k", || vec![1, 2, 3]).await.unwrap();
        assert_eq!(key, vec![1, 2, 3]);
        assert_eq!(
            store.secret("k", || vec![9]).await.unwrap(),
            key,
            "made once"
        );
        store.close().await;
        let reopened = RoomStore::open(&url).await.unwrap();
        assert_eq!(reopened.reserve_peer_ids(100).await.unwrap(), 201);
        assert_eq!(reopened.secret("k", || vec![9]).await.unwrap(), key);
    }

    #[tokio::test]
    async fn a_bad_database_url_is_a_clear_error() {
        let err = RoomStore::open("postgres://nope").await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = format!("sqlite:{}", dir.path().join("no/such/dir/x.db").display());
        let err = RoomStore::open(&missing_dir).await.unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");
    }
}
