//! A throwaway Redis server (Debian's `redis-server`), nothing saved to disk, run as
//! the `redis` account when the tests run as root. [`TestRedis::start`] gives a server
//! of one's own, which tests may stop and start.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The unprivileged account Redis runs as when the tests run as root.
const SYSTEM_ACCOUNT: &str = "redis";
/// How long the server may take to answer, and to stop.
const WITHIN: Duration = Duration::from_secs(20);

/// A Redis server of a test's own; stopped and deleted when dropped.
pub struct TestRedis {
    port: u16,
    dir: PathBuf,
    as_account: Vec<String>,
}

impl TestRedis {
    /// Starts a server; returns once it answers.
    pub fn start() -> Self {
        let dir = crate::process::new_directory("redis");
        let server = Self {
            port: crate::process::free_port(),
            as_account: crate::process::unprivileged(&dir, SYSTEM_ACCOUNT),
            dir,
        };
        crate::process::supervise(&server.dir, &server.pid_file());
        server.start_again();
        server
    }

    /// Its URL (`redis://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (as its administrator would: clients are cut off); returns
    /// once it is down.
    pub fn stop(&self) {
        let Some(pid) = self.pid() else { return };
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let started = Instant::now();
        while std::path::Path::new("/proc").join(pid.to_string()).exists() {
            assert!(started.elapsed() < WITHIN, "Redis did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server (again); returns once it answers PING.
    pub fn start_again(&self) {
        let dir = self.dir.display().to_string();
        let status = Command::new(&self.as_account[0])
            .args(&self.as_account[1..])
            .arg("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--daemonize", "yes", "--dir", &dir])
            .args(["--pidfile", &self.pid_file().display().to_string()])
            .args([
                "--logfile",
                &self.dir.join("redis.log").display().to_string(),
            ])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .status()
            .expect("run redis-server (Debian's redis-server package)");
        assert!(status.success(), "redis-server failed to start");
        let started = Instant::now();
        while !self.answers() {
            assert!(started.elapsed() < WITHIN, "Redis did not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("redis.pid")
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
