//! What one address can make the server hold open before it has sent a request: a
//! bounded number of connections, each for at most the header timeout, while pages
//! keep loading for everyone else.

mod common;

use common::TestServer;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection from `source` that sends half a request's headers and then nothing.
async fn half_a_request(source: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let mut stream = socket.connect(server).await.expect("connects");
    let _ = stream
        .write_all(b"GET / HTTP/1.1\r\nHost: parley\r\nUser-Agent: slo")
        .await;
    stream
}

/// Whether the server has closed `stream` (read end or reset), waiting up to `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 256];
    match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => panic!("the server answered half a request"),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_headers_are_capped_and_timed_out() {
    let header_timeout = Duration::from_secs(4);
    let server = TestServer::fresh_tuned(|c| c.http.header_timeout = header_timeout).await;
    let cap = server::config::Config::for_tests(String::new())
        .http
        .max_http_connections_per_ip;
    // The attacker is 127.0.0.2; everyone else 127.0.0.1 (loopback, both).
    let attacker = [127, 0, 0, 2];
    let opened = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..2000 {
        streams.push(half_a_request(attacker, server.addr).await);
    }
    println!("2000 connections opened in {:?}", opened.elapsed());

    // Those over the cap are closed at once.
    let mut refused = 0;
    let mut held = Vec::new();
    for mut stream in streams {
        if closed_within(&mut stream, Duration::from_millis(5)).await {
            refused += 1;
        } else {
            held.push(stream);
        }
    }
    let settle = Instant::now();
    // Some of the last may have been on their way to being closed: look again.
    let mut still_open = Vec::new();
    for mut stream in held {
        if !closed_within(&mut stream, Duration::from_millis(1)).await {
            still_open.push(stream);
        }
    }
    println!(
        "{refused} closed at once, {} held (cap {cap}), checked in {:?}",
        still_open.len(),
        settle.elapsed()
    );
    assert_eq!(still_open.len(), cap, "the cap's worth stay open");
    assert!(refused >= 2000 - cap);
    assert!(
        opened.elapsed() < header_timeout,
        "checked before any timed out"
    );

    // Pages load for everyone else meanwhile.
    let page = common::http().get(server.url("/")).send().await.unwrap();
    assert!(page.status().is_success());

    // The rest are closed once the header timeout has passed.
    let deadline = opened + header_timeout + Duration::from_secs(2);
    for mut stream in still_open {
        let wait = deadline.saturating_duration_since(Instant::now());
        assert!(
            closed_within(&mut stream, wait).await,
            "closed after the header timeout"
        );
    }
    // And the address may connect again.
    let mut again = half_a_request(attacker, server.addr).await;
    assert!(!closed_within(&mut again, Duration::from_millis(200)).await);
    let page = common::http().get(server.url("/")).send().await.unwrap();
    assert!(page.status().is_success());
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server =
        TestServer::fresh_tuned(|c| c.http.header_timeout = Duration::from_millis(500)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: parley\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 4096];
    let n = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then closed when no next request comes.
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(400));
    // A connection that sends nothing at all goes the same way.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    server.stop().await;
}
