//! What one participant can make the server hold or pass on is bounded: each part of
//! a signal has a size, each connection a byte rate, each participant a budget of
//! bytes held for them, and the server a budget for everyone. Real WebSocket clients
//! against the real server.

mod common;

use app::protocol::{ClientMessage, ErrorCode, LeaveReason, ServerMessage, Signal};
use common::client::Client;
use common::{metric, TestServer};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const QUIET: Duration = Duration::from_millis(300);

fn candidate(bytes: usize) -> Signal {
    Signal::Candidate {
        candidate: format!("candidate:{}", "1".repeat(bytes.saturating_sub(10))),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}

fn to(peer: app::protocol::PeerId, signal: Signal) -> ClientMessage {
    ClientMessage::Signal {
        to: peer,
        epoch: Default::default(),
        signal,
    }
}

#[tokio::test]
async fn oversized_candidates_sdps_names_and_stream_ids_are_refused_and_reach_no_one() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Sizes").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    let bob_id = bob.join(&room, "Bob").await.you;
    ada.recv().await; // Bob joined

    let refusals = [
        (
            candidate(app::protocol::MAX_CANDIDATE_BYTES + 1),
            "ICE candidate",
        ),
        (
            Signal::Offer {
                sdp: "v".repeat(app::protocol::MAX_SDP_BYTES + 1),
            },
            "SDP",
        ),
        (
            Signal::Answer {
                sdp: "v".repeat(60_000),
            },
            "SDP",
        ),
        (
            Signal::Candidate {
                candidate: "candidate:1".into(),
                sdp_mid: Some("m".repeat(100)),
                sdp_m_line_index: None,
            },
            "sdp_mid",
        ),
    ];
    for (signal, what) in refusals {
        ada.send(&to(bob_id, signal)).await;
        let message = ada.expect_error(ErrorCode::TooLarge).await;
        assert!(message.contains(what), "{message}");
    }
    // A name of 10 KB, and a stream id of 100 characters.
    let mut eve = server.connect().await;
    eve.send_json(json!({"type": "join", "version": 5, "room": room, "name": "e".repeat(10_000)}))
        .await;
    eve.expect_error(ErrorCode::BadName).await;
    ada.send_json(json!({"type": "media", "media": {"audio": true, "video": true, "screen": "s".repeat(100)}}))
        .await;
    ada.expect_error(ErrorCode::BadMessage).await;
    bob.expect_silence(QUIET).await;

    // The largest of each still passes.
    let largest = [
        candidate(app::protocol::MAX_CANDIDATE_BYTES),
        Signal::Offer {
            sdp: "v".repeat(app::protocol::MAX_SDP_BYTES),
        },
    ];
    for signal in largest {
        ada.send(&to(bob_id, signal.clone())).await;
        match bob.recv().await {
            ServerMessage::Signal { signal: got, .. } => assert_eq!(got, signal),
            other => panic!("{other:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_connection_may_send_only_so_many_bytes_a_second() {
    let server = TestServer::fresh_tuned(|c| c.signaling.max_bytes_per_second = 20_000).await;
    let room = server.create_room("Bytes").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    let bob_id = bob.join(&room, "Bob").await.you;
    ada.recv().await;
    // Bursts pass up to four frames of the largest size (4 x 64 KiB); 30 KB offers
    // sent at once pass that many and no more, well under the message rate.
    let offer = Signal::Offer {
        sdp: "v".repeat(30_000),
    };
    for _ in 0..12 {
        ada.send(&to(bob_id, offer.clone())).await;
    }
    let message = ada.expect_error(ErrorCode::RateLimited).await;
    assert!(message.contains("bytes a second"), "{message}");
    let mut relayed = 0;
    while let Ok(ServerMessage::Signal { .. }) = tokio::time::timeout(QUIET, bob.recv()).await {
        relayed += 1;
    }
    assert_eq!(relayed, 8, "256 KiB of 30 KB offers");
    // A second later, 20 KB more have come back: small messages pass again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ada.send(&to(bob_id, candidate(200))).await;
    assert!(matches!(bob.recv().await, ServerMessage::Signal { .. }));
    server.stop().await;
}

/// Reads what comes until the connection closes (acknowledging nothing); returns the
/// close code and how many messages came.
async fn read_until_closed(client: &mut Client) -> (Option<CloseCode>, usize) {
    let mut count = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.next_frame()).await {
            Ok(Some(Ok(_))) => count += 1,
            Ok(Some(Err(code))) => return (code, count),
            Ok(None) => return (None, count),
            Err(_) => panic!("still open after 5 s, {count} messages read"),
        }
    }
}

#[tokio::test]
async fn one_who_acknowledges_nothing_is_dropped_when_their_budget_fills_and_rejoins() {
    let budget = 64 * 1024;
    let server =
        TestServer::fresh_tuned(|c| c.signaling.max_held_bytes_per_participant = budget).await;
    let room = server.create_room("Budget").await;
    let mut ada = server.connect().await;
    let ada_welcome = ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    ada.recv().await;

    // Ada reads every message but acknowledges none: what is kept for her resume
    // grows until her budget is full, then she is disconnected as too slow.
    let reader = tokio::spawn(async move {
        let outcome = read_until_closed(&mut ada).await;
        (ada, outcome)
    });
    for _ in 0..100 {
        bob.send(&to(ada_welcome.you, candidate(1000))).await;
        tokio::time::sleep(Duration::from_millis(12)).await;
    }
    let (_ada, (code, read)) = reader.await.unwrap();
    assert_eq!(code, Some(CloseCode::Policy), "closed as too slow");
    assert!(
        (50..=66).contains(&read),
        "dropped once about 64 KB was held ({read} messages of about 1 KB read)"
    );
    // Bob hears she was dropped; his own sends are answered until then.
    loop {
        match bob.recv().await {
            ServerMessage::PeerLeft { id, reason } => {
                assert_eq!((id, reason), (ada_welcome.you, LeaveReason::Dropped));
                break;
            }
            ServerMessage::Error {
                code: ErrorCode::UnknownPeer,
                ..
            } => {}
            other => panic!("{other:?}"),
        }
    }

    // Coming back: the session is over (as for anyone too slow), so she joins again,
    // and now acknowledging, she stays however much comes.
    let mut ada = server.connect().await;
    match ada.resume(&room, &ada_welcome.token, 0, "Ada").await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::ResumeRefused),
        other => panic!("{other:?}"),
    }
    let ada_id = ada.join(&room, "Ada").await.you;
    // (Bob's sends to the Ada that was dropped were refused meanwhile.)
    loop {
        match bob.recv().await {
            ServerMessage::PeerJoined { peer } => break assert_eq!(peer.id, ada_id),
            ServerMessage::Error {
                code: ErrorCode::UnknownPeer,
                ..
            } => {}
            other => panic!("{other:?}"),
        }
    }
    for n in 0..200 {
        bob.send(&to(ada_id, candidate(1000))).await;
        let delivery = ada.recv_numbered().await;
        assert!(
            matches!(delivery.message, ServerMessage::Signal { .. }),
            "message {n}"
        );
        ada.send(&ClientMessage::Ping {
            seen: delivery.seq.unwrap(),
        })
        .await;
        assert_eq!(ada.recv().await, ServerMessage::Pong);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.stop().await;
}

/// Sends `count` candidates of about 1 KB to `peer`, within the message rate.
async fn send_candidates(sender: &mut Client, peer: app::protocol::PeerId, count: usize) {
    for _ in 0..count {
        sender.send(&to(peer, candidate(1000))).await;
        tokio::time::sleep(Duration::from_millis(11)).await;
    }
}

async fn held_bytes(server: &TestServer) -> f64 {
    let addr = server.metrics_addr.expect("metrics");
    let text = common::http()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metric(&text, "parley_held_bytes").expect("the server reports the bytes it holds")
}

#[tokio::test]
async fn past_the_server_budget_joins_wait_and_the_largest_holder_goes_while_calls_go_on() {
    let budget = 200 * 1024;
    let server = TestServer::fresh_tuned(|c| {
        c.signaling.max_held_bytes = budget;
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let call = server.create_room("Call").await;
    let mut ada = server.connect().await;
    let ada_id = ada.join(&call, "Ada").await.you;
    let mut bob = server.connect().await;
    let bob_id = bob.join(&call, "Bob").await.you;
    ada.recv().await;

    // Elsewhere, Mallory's second connection reads everything and acknowledges
    // nothing, while the first sends it candidates.
    let other = server.create_room("Elsewhere").await;
    let mut sender = server.connect().await;
    sender.join(&other, "Mallory").await;
    let mut hoarder = server.connect().await;
    let hoarder_id = hoarder.join(&other, "Mallory too").await.you;
    sender.recv().await;
    let hoard = tokio::spawn(async move { read_until_closed(&mut hoarder).await });

    // Past three quarters of the budget: a newcomer is told the server is busy.
    send_candidates(&mut sender, hoarder_id, 165).await;
    tokio::time::sleep(QUIET).await;
    let held = held_bytes(&server).await;
    assert!(
        held > budget as f64 * 0.75 && held < budget as f64,
        "{held} bytes held"
    );
    let mut dan = server.connect().await;
    dan.send_json(json!({"type": "join", "version": 5, "room": call, "name": "Dan"}))
        .await;
    let message = dan.expect_error(ErrorCode::ServerBusy).await;
    assert!(message.contains("busy"), "{message}");
    // The call goes on.
    ada.send(&to(bob_id, candidate(300))).await;
    assert!(matches!(bob.recv().await, ServerMessage::Signal { from, .. } if from == ada_id));

    // Past the budget: the one holding the most is disconnected, nobody else.
    send_candidates(&mut sender, hoarder_id, 60).await;
    let (code, _) = hoard.await.unwrap();
    assert_eq!(code, Some(CloseCode::Policy));
    match sender.recv().await {
        ServerMessage::PeerLeft { id, reason } => {
            assert_eq!((id, reason), (hoarder_id, LeaveReason::Dropped))
        }
        other => panic!("{other:?}"),
    }
    assert!(held_bytes(&server).await < budget as f64 * 0.75);
    bob.send(&to(ada_id, candidate(300))).await;
    assert!(matches!(ada.recv().await, ServerMessage::Signal { from, .. } if from == bob_id));
    // And newcomers are welcome again.
    let mut dan = server.connect().await;
    dan.join(&call, "Dan").await;
    server.stop().await;
}
