//! What the servers share: their directories, the supervisor that stops them with the
//! test process, an unprivileged account, a free port.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The prefix of a server's directory in the system's temporary directory (then the
/// test process's id, the kind of server and a number).
const DIR_PREFIX: &str = "parley-test-server-";

/// Waits, as long as the test process lives, to stop the server whose pid file is `$2`
/// and delete its directory `$1` (on SIGTERM, which the kernel sends when the process
/// ends).
const SUPERVISOR: &str = r#"dir=$1 pidfile=$2
stop() {
  pid=$(head -n 1 "$pidfile" 2>/dev/null)
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

static SERVERS: AtomicU32 = AtomicU32::new(0);

/// A new, empty directory for a server of `kind`, after deleting those of test
/// processes that are gone.
pub(crate) fn new_directory(kind: &str) -> PathBuf {
    sweep_stale_directories();
    let dir = std::env::temp_dir().join(format!(
        "{DIR_PREFIX}{}-{kind}-{}",
        std::process::id(),
        SERVERS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("make a test server's directory");
    dir
}

/// Spawns the supervisor of the server in `dir` (its pid in `pid_file`), from a thread
/// that lives as long as the process: the parent-death signal follows the thread that
/// spawned, not the process.
pub(crate) fn supervise(dir: &Path, pid_file: &Path) {
    let (dir, pid_file) = (dir.to_owned(), pid_file.to_owned());
    let (spawned, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "TERM", "--", "sh", "-c", SUPERVISOR, "sh"])
            .arg(&dir)
            .arg(&pid_file)
            .stdin(Stdio::null())
            .spawn();
        let _ = spawned.send(child.map(|_| ()));
        loop {
            std::thread::park();
        }
    });
    outcome
        .recv()
        .expect("the thread that supervises a test server")
        .expect("start the supervisor (setpriv, from util-linux)");
}

/// The command prefix that runs a program as the unprivileged `account`, which is
/// given `dir`: none (`env`) when the tests do not run as root.
pub(crate) fn unprivileged(dir: &Path, account: &str) -> Vec<String> {
    let running_as_root = std::fs::metadata(dir)
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if !running_as_root {
        return vec!["env".into()];
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, account])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no {account} account to run a test server as"))
    };
    std::os::unix::fs::chown(dir, Some(id("-u")), Some(id("-g")))
        .expect("give a test server's directory to its account");
    vec![
        "setpriv".into(),
        format!("--reuid={account}"),
        format!("--regid={account}"),
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

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
