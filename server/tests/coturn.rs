//! A real coturn, started on loopback with a shared secret, accepts the TURN
//! credentials Parley hands out and refuses expired or forged ones.
//!
//! Needs `turnserver` and `turnutils_uclient` (Debian's coturn package; scripts/setup.sh
//! --test installs it).

mod common;

use common::client::Client;
use common::TestServer;
use server::ice::TurnCredentials;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const SECRET: &str = "parley-test-shared-secret";

/// A coturn process, stopped when dropped.
struct Coturn {
    child: Child,
    port: u16,
}

impl Coturn {
    fn start(dir: &Path) -> Self {
        let port = free_udp_port();
        let config = dir.join("turnserver.conf");
        std::fs::write(
            &config,
            format!(
                "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={port}\n\
                 use-auth-secret\nstatic-auth-secret={SECRET}\nrealm=parley.test\n\
                 fingerprint\nallow-loopback-peers\nno-cli\nno-tls\nno-dtls\n\
                 no-multicast-peers\nlog-file=stdout\n"
            ),
        )
        .unwrap();
        let child = Command::new("turnserver")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver runs (install Debian's coturn: scripts/setup.sh --test)");
        let coturn = Self { child, port };
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
        panic!("coturn did not answer on port {}", self.port);
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

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
