//! Parley as its own process (the binary cargo built for these tests, or the one
//! `PARLEY_TEST_BIN` names, to measure another build), for tests that measure the
//! server's memory apart from their clients'.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct ParleyProcess {
    child: Child,
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub database: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ParleyProcess {
    /// Starts Parley on loopback ports with a fresh database, metrics on, and `args`.
    pub fn start(args: &[&str]) -> Self {
        Self::start_on(None, args)
    }

    /// Starts Parley as [`ParleyProcess::start`] does, on the database `database_url`
    /// when given.
    pub fn start_on(database_url: Option<&str>, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let database = dir.path().join("parley.db");
        let database_url = database_url
            .map(str::to_owned)
            .unwrap_or_else(|| super::database_url(database.clone()));
        let binary = std::env::var("PARLEY_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_parley").into());
        let mut child = Command::new(&binary)
            .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            .args(["--database-url", &database_url])
            .args(["--log", "info"])
            // No media port: tests run side by side, and the default one is fixed.
            .args(["--sfu-listen", "off"])
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        // The addresses are in its first lines; the rest of its log is passed on.
        let (lines_tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line.clone()).is_err() {
                    println!("parley: {line}");
                }
            }
        });
        let (mut addr, mut metrics_addr) = (None, None);
        while addr.is_none() || metrics_addr.is_none() {
            let line = lines
                .recv_timeout(Duration::from_secs(20))
                .expect("Parley says where it serves within 20 s");
            let after = |marker: &str| -> Option<SocketAddr> {
                let rest = &line[line.find(marker)? + marker.len()..];
                rest.split(['/', ' ']).next()?.parse().ok()
            };
            addr = addr.or(after("serving at http://"));
            metrics_addr = metrics_addr.or(after("metrics at http://"));
        }
        Self {
            child,
            addr: addr.unwrap(),
            metrics_addr: metrics_addr.unwrap(),
            database,
            _dir: dir,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Kills the process at once (SIGKILL), as a crash or a power cut would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM), as systemd does, and waits until it has.
    pub fn terminate(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    /// The process's resident memory, in bytes.
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the process's status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .expect("VmRSS");
        kib * 1024
    }

    /// The metrics as Prometheus text.
    pub async fn scrape(&self) -> String {
        super::http()
            .get(format!("http://{}/metrics", self.metrics_addr))
            .send()
            .await
            .expect("scrape the metrics")
            .text()
            .await
            .expect("the metrics")
    }
}

impl Drop for ParleyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
