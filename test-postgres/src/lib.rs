//! A throwaway PostgreSQL server for Parley's tests, made from the system's PostgreSQL
//! (Debian's `postgresql` package) in a temporary directory, run as an unprivileged
//! account (PostgreSQL refuses to run as root) on a free loopback port.
//!
//! [`fresh_database`] gives a new database on one server shared by a test process;
//! [`TestPostgres::start`] a server of one's own, for tests that stop and start it.
//! Every server goes when the test process ends, however it ends: a small shell,
//! spawned with a parent-death signal, stops it and deletes its directory. A
//! directory left behind all the same is deleted by the next run.

use sqlx::{Connection, Executor, PgConnection};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
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
/// The prefix of a server's directory in the system's temporary directory (then the
/// test process's id).
const DIR_PREFIX: &str = "parley-postgres-";

/// Waits, as long as the test process lives, to stop the server and delete its
/// directory (on SIGTERM, which the kernel sends when the process ends).
const SUPERVISOR: &str = r#"dir=$1
stop() {
  pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
  if [ -n "$pid" ]; then
    kill -QUIT "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$dir"
  kill "$sleeper" 2>/dev/null
  exit 0
}
trap stop TERM INT HUP
while :; do sleep 3600 & sleeper=$!; wait "$sleeper"; done"#;

static SHARED: OnceLock<TestPostgres> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);
static SERVERS: AtomicU32 = AtomicU32::new(0);

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
        sweep_stale_directories();
        let dir = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("make the test PostgreSQL's directory");
        let server = Self {
            port: free_port(),
            as_account: unprivileged(&dir),
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
        server.supervise();
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

    /// Spawns the supervisor from a thread that lives as long as the process: the
    /// parent-death signal follows the thread that spawned, not the process.
    fn supervise(&self) {
        let dir = self.dir.clone();
        let (spawned, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let child = Command::new("setpriv")
                .args(["--pdeathsig", "TERM", "--", "sh", "-c", SUPERVISOR, "sh"])
                .arg(&dir)
                .stdin(Stdio::null())
                .spawn();
            let _ = spawned.send(child.map(|_| ()));
            loop {
                std::thread::park();
            }
        });
        outcome
            .recv()
            .expect("the thread that supervises PostgreSQL")
            .expect("start the supervisor (setpriv, from util-linux)");
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

/// The command prefix that runs a program as an unprivileged account, which is given
/// `dir`: none (`env`) when the tests do not run as root.
fn unprivileged(dir: &Path) -> Vec<String> {
    let running_as_root = std::fs::metadata(dir)
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if !running_as_root {
        return vec!["env".into()];
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, SYSTEM_ACCOUNT])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no {SYSTEM_ACCOUNT} account to run PostgreSQL as"))
    };
    std::os::unix::fs::chown(dir, Some(id("-u")), Some(id("-g")))
        .expect("give the test PostgreSQL's directory to its account");
    vec![
        "setpriv".into(),
        format!("--reuid={SYSTEM_ACCOUNT}"),
        format!("--regid={SYSTEM_ACCOUNT}"),
        "--clear-groups".into(),
        "--".into(),
    ]
}

/// Deletes the directories of test servers whose process is gone.
fn sweep_stale_directories() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
