//! A throwaway PostgreSQL server, made from the system's PostgreSQL (Debian's
//! `postgresql` package), run as an unprivileged account (PostgreSQL refuses to run
//! as root).
//!
//! [`fresh_database`] gives a new database on one server shared by a test process;
//! [`TestPostgres::start`] a server of one's own, for tests that stop and start it.

use sqlx::{Connection, Executor, PgConnection};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The superuser the servers are made with (trust authentication: loopback only).
pub const USER: &str = "parley";
/// The unprivileged account PostgreSQL runs as when the tests run as root.
const SYSTEM_ACCOUNT: &str = "postgres";
/// How long a server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);

static SHARED: OnceLock<TestPostgres> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database on the test process's shared server (started on
/// first use).
pub async fn fresh_database() -> String {
    SHARED
        .get_or_init(TestPostgres::start)
        .create_database()
        .await
}

/// A PostgreSQL server of a test's own; stopped and deleted when dropped.
pub struct TestPostgres {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    /// The command prefix that runs a program as the server's account.
    as_account: Vec<String>,
}

impl TestPostgres {
    /// Makes a server and starts it.
    pub fn start() -> Self {
        let bin = binaries();
        let dir = crate::process::new_directory("postgres");
        let server = Self {
            port: crate::process::free_port(),
            as_account: crate::process::unprivileged(&dir, SYSTEM_ACCOUNT),
            dir,
            bin,
        };
        server.run_as_account(
            "initdb",
            &[
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
                &format!("--username={USER}"),
                "-D",
                &server.data().display().to_string(),
            ],
        );
        crate::process::supervise(&server.dir, &server.data().join("postmaster.pid"));
        server.start_again();
        server
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a new, empty database; returns its URL.
    pub async fn create_database(&self) -> String {
        let name = format!("parley_test_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
        let mut admin = connect(&self.url("postgres")).await;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create a test database");
        admin.close().await.ok();
        self.url(&name)
    }

    /// Stops the server (a fast shutdown: connections are closed, as when an
    /// administrator stops it); returns once it is down.
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// Starts the server (again); returns once it accepts connections.
    pub fn start_again(&self) {
        let options = [
            format!("-p {}", self.port),
            "-c listen_addresses=127.0.0.1".to_owned(),
            format!("-c unix_socket_directories={}", self.dir.display()),
            // Test data need not survive a power cut.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off".to_owned(),
            "-c shared_buffers=16MB".to_owned(),
        ]
        .join(" ");
        let log = self.dir.join("postgres.log").display().to_string();
        self.pg_ctl(&["-l", &log, "-o", &options, "start"]);
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data().display().to_string();
        let timeout = READY_WITHIN.as_secs().to_string();
        let mut all = vec!["-D", &data, "-w", "-t", &timeout];
        all.extend_from_slice(args);
        self.run_as_account("pg_ctl", &all);
    }

    fn run_as_account(&self, program: &str, args: &[&str]) {
        let out = Command::new(&self.as_account[0])
            .args(&self.as_account[1..])
            .arg(self.bin.join(program))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = Command::new(&self.as_account[0])
            .args(&self.as_account[1..])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects, waiting for a server that is still starting.
async fn connect(url: &str) -> PgConnection {
    let started = Instant::now();
    loop {
        match PgConnection::connect(url).await {
            Ok(connection) => return connection,
            Err(error) if started.elapsed() > READY_WITHIN => {
                panic!("the test PostgreSQL did not accept connections: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The directory of PostgreSQL's programs: `PARLEY_POSTGRES_BIN`, else the newest
/// under Debian's /usr/lib/postgresql.
fn binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os("PARLEY_POSTGRES_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL is not installed (Parley's tests run against it): \
         scripts/setup.sh --test installs Debian's postgresql",
    )
}
