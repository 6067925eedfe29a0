//! The store's own rules, each run on SQLite and on PostgreSQL.

use super::test_databases::{on_both_engines, TestDatabase};
use super::*;

on_both_engines!(
    creates_and_finds_rooms,
    unknown_rooms_are_not_found,
    rooms_survive_reopening,
    peer_ids_and_secrets_outlive_the_process,
    the_database_answers,
);

async fn creates_and_finds_rooms(db: TestDatabase) {
    let store = db.open().await;
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

async fn unknown_rooms_are_not_found(db: TestDatabase) {
    let store = db.open().await;
    store
        .create("Standup", MeetingSettings::default())
        .await
        .unwrap();
    let unknown = RoomCode::parse("zzz-zzzz-zzz").unwrap();
    assert_eq!(store.find(&unknown).await.unwrap(), None);
    assert!(!store.touch(&unknown).await.unwrap());
}

async fn rooms_survive_reopening(db: TestDatabase) {
    let room = {
        let store = db.open().await;
        let room = store
            .create("Weekly sync", MeetingSettings::default())
            .await
            .unwrap();
        store.close().await;
        room
    };
    // Opening again runs the migrations again: they must be a no-op now.
    let reopened = db.open().await;
    assert_eq!(reopened.find(&room.code).await.unwrap(), Some(room));
}

async fn peer_ids_and_secrets_outlive_the_process(db: TestDatabase) {
    let store = db.open().await;
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
    let reopened = db.open().await;
    assert_eq!(reopened.reserve_peer_ids(100).await.unwrap(), 201);
    assert_eq!(reopened.secret("k", || vec![9]).await.unwrap(), key);
}

async fn the_database_answers(db: TestDatabase) {
    let store = db.open().await;
    assert!(store.reachable(Duration::from_secs(5)).await);
    store.close().await;
    assert!(
        !store.reachable(Duration::from_secs(5)).await,
        "a closed pool does not"
    );
}

#[tokio::test]
async fn the_sqlite_file_is_created() {
    let db = TestDatabase::sqlite().await;
    let path = db.url.strip_prefix("sqlite:").unwrap().to_owned();
    db.open().await;
    assert!(std::path::Path::new(&path).exists());
    assert_eq!(db.open().await.engine(), Engine::Sqlite);
}

#[tokio::test]
async fn nodes_sharing_postgres_never_hand_out_the_same_peer_ids() {
    let db = TestDatabase::postgres().await;
    let (one, two) = (db.open().await, db.open().await);
    assert_eq!(one.engine(), Engine::Postgres);
    let mut firsts = Vec::new();
    for _ in 0..20 {
        let (a, b) = tokio::join!(one.reserve_peer_ids(100), two.reserve_peer_ids(100));
        firsts.extend([a.unwrap(), b.unwrap()]);
    }
    firsts.sort();
    let expected: Vec<u64> = (0..40).map(|n| 1 + 100 * n).collect();
    assert_eq!(firsts, expected, "blocks of 100, none given twice");
}

#[tokio::test]
async fn a_bad_database_url_is_a_clear_error() {
    let err = RoomStore::open("mysql://nope").await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = format!("sqlite:{}", dir.path().join("no/such/dir/x.db").display());
    let err = RoomStore::open(&missing_dir).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    // Nobody listens on port 1: the error names the server, not the password.
    let err = RoomStore::open("postgres://ada:s3cret@127.0.0.1:1/parley")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("ada:***@127.0.0.1:1"), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn both_engines_have_the_same_migrations() {
    let list = |migrator: &Migrator| -> Vec<(i64, String)> {
        migrator
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    };
    assert_eq!(list(&SQLITE_MIGRATIONS), list(&POSTGRES_MIGRATIONS));
}

#[test]
fn urls_name_their_engine() {
    assert_eq!(Engine::of("sqlite:parley.db"), Some(Engine::Sqlite));
    assert_eq!(Engine::of("postgres://h/db"), Some(Engine::Postgres));
    assert_eq!(Engine::of("postgresql://h/db"), Some(Engine::Postgres));
    assert_eq!(Engine::of("mysql://h/db"), None);
    assert_eq!(Engine::of("parley.db"), None);
    assert_eq!(create_if_missing("sqlite:p.db"), "sqlite:p.db?mode=rwc");
    assert_eq!(
        create_if_missing("sqlite:p.db?mode=ro"),
        "sqlite:p.db?mode=ro"
    );
    assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
}
