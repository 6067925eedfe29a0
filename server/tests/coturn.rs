//! A real coturn, started on loopback with a shared secret, accepts the TURN
//! credentials Parley hands out and refuses expired or forged ones.
//!
//! Needs `turnserver` and `turnutils_uclient` (Debian's coturn package; scripts/setup.sh
//! --test installs it).

mod common;

use common::client::Client;
use common::turn::{Allocation, Refusal};
use common::TestServer;
use server::ice::TurnCredentials;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const SECRET: &str = "parley-test-shared-secret";

/// A coturn process, stopped when dropped.
struct Coturn {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Coturn {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let config = dir.join("turnserver.conf");
        let log = dir.join("turnserver.log");
        // The hardened configuration self-hosters install (logging to the test's file
        // instead of the system log), then what a test on one machine needs: loopback
        // listeners, the test secret, no TLS certificate, and loopback peers allowed
        // (127.0.0.1 only, where the relay check sends its packets). Test-only: never
        // allow loopback peers on a real server.
        let hardened = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/turnserver.conf"),
        )
        .expect("deploy/turnserver.conf");
        let hardened: Vec<&str> = hardened
            .lines()
            .filter(|line| !matches!(*line, "syslog" | "no-stdout-log"))
            .collect();
        std::fs::write(
            &config,
            format!(
                "{}\n# --- test-only overrides ---\n\
                 listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nrelay-ip=::1\n\
                 listening-port={port}\nstatic-auth-secret={SECRET}\nrealm=parley.test\n\
                 no-tls\nno-dtls\nallow-loopback-peers\nallowed-peer-ip=127.0.0.1\n\
                 log-file=stdout\n",
                hardened.join("\n")
            ),
        )
        .unwrap();
        let child = Command::new("turnserver")
            .arg("-c")
            .arg(&config)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver runs (install Debian's coturn: scripts/setup.sh --test)");
        let coturn = Self { child, port, log };
        coturn.wait_until_answering();
        coturn
    }

    /// Sends STUN binding requests until coturn answers one.
    fn wait_until_answering(&self) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        // A binding request: type 0x0001, length 0, the magic cookie, a transaction id.
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(b"parley-test!");
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut answer = [0u8; 512];
        while Instant::now() < deadline {
            socket.send_to(&request, ("127.0.0.1", self.port)).unwrap();
            if socket.recv(&mut answer).is_ok() {
                return;
            }
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        panic!(
            "coturn did not answer on port {}; its log ends:\n{tail}",
            self.port
        );
    }
}

/// Allocates a relay on coturn with `turnutils_uclient` and sends a few packets through it.
fn allocate(port: u16, username: &str, password: &str) -> Output {
    Command::new("turnutils_uclient")
        .args(["-y", "-c", "-n", "2", "-m", "1", "-L", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-u", username, "-w", password])
        .arg("127.0.0.1")
        .output()
        .expect("turnutils_uclient runs")
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for coturn's listener: UDP and TCP on it and on the next one (its
/// alternate listener), below the range the kernel hands out to outgoing connections
/// (32768 and up), where another test's client socket could take it meanwhile.
fn free_port() -> u16 {
    let start = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u16
        % 10_000;
    (0..10_000u16)
        .map(|i| 20_000 + (start + i) % 10_000)
        .find(|&port| {
            [port, port + 1].iter().all(|&p| {
                UdpSocket::bind(("127.0.0.1", p)).is_ok()
                    && TcpListener::bind(("127.0.0.1", p)).is_ok()
            })
        })
        .expect("a free port for coturn")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn coturn_accepts_parley_credentials_and_refuses_expired_ones() {
    let dir = tempfile::tempdir().unwrap();
    let coturn = Coturn::start(dir.path());
    let turn_url = format!("turn:127.0.0.1:{}?transport=udp", coturn.port);
    let server = TestServer::start_tuned(&dir, |c| {
        c.ice.turn_urls = vec![turn_url.clone()];
        c.ice.turn_secret = Some(SECRET.into());
        c.ice.turn_credential_lifetime = Duration::from_secs(600);
    })
    .await;
    let room = server.create_room("Through the relay").await;
    let mut client = Client::connect(&server.ws_url()).await;
    let welcome = client.join(&room, "Relayed").await;
    let turn = welcome
        .ice_servers
        .iter()
        .find(|s| s.urls.contains(&turn_url))
        .expect("the welcome names the TURN server");
    let username = turn.username.clone().unwrap();
    let password = turn.credential.clone().unwrap();

    // turnutils_uclient takes seconds; keep it off the server's runtime.
    let port = coturn.port;
    let allocate = move |username: String, password: String| {
        tokio::task::spawn_blocking(move || allocate(port, &username, &password))
    };
    let output = allocate(username, password).await.unwrap();
    let report = describe(&output);
    assert!(
        output.status.success(),
        "allocation with Parley's credentials: {report}"
    );
    assert!(
        report.contains("tot_recv_msgs=4"),
        "packets came back through the relay: {report}"
    );

    // The same scheme with an expiry a minute ago: coturn refuses.
    let expired = TurnCredentials::new(
        SECRET,
        &welcome.you.to_string(),
        SystemTime::now() - Duration::from_secs(60),
    );
    let output = allocate(expired.username, expired.password).await.unwrap();
    let report = describe(&output);
    assert!(
        !output.status.success(),
        "expired credentials must fail: {report}"
    );
    assert!(report.contains("Cannot complete Allocation"), "{report}");

    // Credentials made with another secret: refused too.
    let forged = TurnCredentials::new(
        "not-the-secret",
        "1",
        SystemTime::now() + Duration::from_secs(600),
    );
    let output = allocate(forged.username, forged.password).await.unwrap();
    assert!(
        !output.status.success(),
        "forged credentials must fail: {}",
        describe(&output)
    );
    server.stop().await;
}

/// The hardened configuration refuses to relay to the server's own networks: private,
/// link-local (the cloud metadata address), unique-local IPv6, and still relays to
/// public addresses, IPv4 and IPv6. Only Allocate and
/// CreatePermission requests go to the coturn on loopback; nothing is sent anywhere else.
#[test]
fn hardened_coturn_refuses_relaying_to_private_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let coturn = Coturn::start(dir.path());
    let server = std::net::SocketAddr::from(([127, 0, 0, 1], coturn.port));
    let credentials =
        TurnCredentials::new(SECRET, "7", SystemTime::now() + Duration::from_secs(600));
    let forbidden = |refusal: Result<(), Refusal>| match refusal {
        Err(refusal) => refusal.code,
        Ok(()) => 200,
    };

    let ipv4 = Allocation::new(server, &credentials.username, &credentials.password, false)
        .expect("an IPv4 relay with Parley's credentials");
    for peer in [
        "10.0.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "172.16.5.4",
        "100.64.0.1",
    ] {
        let code = forbidden(ipv4.create_permission(peer.parse().unwrap()));
        assert_eq!(code, 403, "permission for {peer}");
    }
    // The test-only exception: loopback 127.0.0.1, which the relay check uses.
    assert_eq!(
        forbidden(ipv4.create_permission("127.0.0.1".parse().unwrap())),
        200
    );
    // What a relay is for: people's public addresses stay allowed.
    for peer in ["1.2.3.4", "93.184.216.34", "203.0.114.7", "100.128.0.1"] {
        let code = forbidden(ipv4.create_permission(peer.parse().unwrap()));
        assert_eq!(code, 200, "permission for the public address {peer}");
    }

    let ipv6 = Allocation::new(server, &credentials.username, &credentials.password, true)
        .expect("an IPv6 relay with Parley's credentials");
    for peer in ["fc00::1", "fe80::1", "::ffff:10.0.0.1", "::1"] {
        let code = forbidden(ipv6.create_permission(peer.parse().unwrap()));
        assert_eq!(code, 403, "permission for {peer}");
    }
    for peer in ["2a00:1450:4001::1", "2606:4700::1111"] {
        let code = forbidden(ipv6.create_permission(peer.parse().unwrap()));
        assert_eq!(code, 200, "permission for the public address {peer}");
    }
}
