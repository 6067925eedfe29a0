//! Where the store's tests keep their data, so that each runs on both engines: a
//! SQLite file in a temporary directory, or a fresh database on the test PostgreSQL
//! server (the `test-services` crate).

use super::RoomStore;

pub(crate) struct TestDatabase {
    pub(crate) url: String,
    /// Holds the SQLite file's directory until the test ends.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            url: format!("sqlite:{}", dir.path().join("parley.db").display()),
            _dir: Some(dir),
        }
    }

    pub(crate) async fn postgres() -> Self {
        Self {
            url: test_services::fresh_database().await,
            _dir: None,
        }
    }

    /// Opens the store (again: what a restarted server or another node does).
    pub(crate) async fn open(&self) -> RoomStore {
        RoomStore::open(&self.url).await.unwrap()
    }
}

/// Runs each named `async fn(TestDatabase)` as two tests, `NAME::sqlite` and
/// `NAME::postgres`.
macro_rules! on_both_engines {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                use crate::store::test_databases::TestDatabase;

                #[tokio::test]
                async fn sqlite() {
                    super::$test(TestDatabase::sqlite().await).await
                }

                #[tokio::test]
                async fn postgres() {
                    super::$test(TestDatabase::postgres().await).await
                }
            }
        )+
    };
}
pub(crate) use on_both_engines;
