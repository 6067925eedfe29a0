//! Two Parley nodes sharing one PostgreSQL and one Redis (real ones, started by
//! `test-services`): a meeting's participants on either node meet, in order and
//! exactly once, with resume across nodes, chat and the room limit held by the
//! meeting's home.

mod common;

use app::protocol::{ClientMessage, Epoch, ErrorCode, ServerMessage, Signal};
use common::{http, TestServer};
use std::time::Duration;
use test_services::TestRedis;

fn offer(to: app::protocol::PeerId, sdp: &str) -> ClientMessage {
    ClientMessage::Signal {
        to,
        epoch: Epoch(0),
        signal: Signal::Offer { sdp: sdp.into() },
    }
}

fn chat(text: &str) -> ClientMessage {
    ClientMessage::Chat { text: text.into() }
}

/// A node on the shared database and bus, with room for `max` per meeting.
async fn node(database: &str, redis: &TestRedis, max: usize) -> TestServer {
    let mut config = server::config::Config::for_tests(database.to_owned());
    config.cluster = Some(redis.url());
    config.signaling.max_participants = max;
    TestServer::start_configured(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_on_two_nodes_meet_chat_and_resume_across_them() {
    let redis = tokio::task::block_in_place(TestRedis::start);
    let database = test_services::fresh_database().await;
    let one = node(&database, &redis, 3).await;
    let two = node(&database, &redis, 3).await;
    for node in [&one, &two] {
        let health = http().get(node.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let body = health.text().await.unwrap();
        assert!(
            body.contains("database: ok (PostgreSQL)\nredis: ok"),
            "{body}"
        );
    }
    // Made through node 1, found by node 2 (the database is shared).
    let room = one.create_room("Across").await;

    let mut ada = one.connect().await;
    let ada_id = ada.join(&room, "Ada").await.you;
    let mut bob = two.connect().await;
    let bob_welcome = bob.join(&room, "Bob").await;
    assert_eq!(
        bob_welcome.peers.iter().map(|p| p.id).collect::<Vec<_>>(),
        [ada_id],
        "Bob, on node 2, finds Ada, on node 1"
    );
    assert!(
        matches!(ada.recv().await, ServerMessage::PeerJoined { peer } if peer.id == bob_welcome.you)
    );

    // Signals both ways, in order, stamped by the server.
    for n in 0..20 {
        ada.send(&offer(bob_welcome.you, &format!("a{n}"))).await;
    }
    for n in 0..20 {
        let delivery = bob.recv_numbered().await;
        assert_eq!(
            delivery.message,
            ServerMessage::Signal {
                epoch: Epoch(0),
                from: ada_id,
                signal: Signal::Offer {
                    sdp: format!("a{n}")
                }
            }
        );
        assert_eq!(delivery.seq, Some(n + 1), "numbered as on one node");
    }
    bob.send(&offer(ada_id, "b")).await;
    assert!(
        matches!(ada.recv().await, ServerMessage::Signal { from, .. } if from == bob_welcome.you)
    );

    // Chat from node 2 reaches node 1 and stays for later joiners on either.
    bob.send(&chat("hello from two")).await;
    for client in [&mut ada, &mut bob] {
        assert!(
            matches!(client.recv().await, ServerMessage::Chat { message } if message.text == "hello from two")
        );
    }

    // The room limit counts both nodes: Cy (node 1) makes three, Dan (node 2) is one
    // too many.
    let mut cy = one.connect().await;
    let cy_welcome = cy.join(&room, "Cy").await;
    assert_eq!(cy_welcome.chat.len(), 1);
    let mut dan = two.connect().await;
    dan.send_join(&room, "Dan").await;
    dan.expect_error(ErrorCode::RoomFull).await;
    cy.send(&ClientMessage::Leave).await;
    for client in [&mut ada, &mut bob] {
        assert!(
            matches!(client.recv().await, ServerMessage::PeerJoined { peer } if peer.id == cy_welcome.you)
        );
        assert!(
            matches!(client.recv().await, ServerMessage::PeerLeft { id, .. } if id == cy_welcome.you)
        );
    }
    let mut dan = two.connect().await;
    let dan_welcome = dan.join(&room, "Dan").await;
    assert_eq!(dan_welcome.chat[0].text, "hello from two");
    for client in [&mut ada, &mut bob] {
        assert!(matches!(
            client.recv().await,
            ServerMessage::PeerJoined { .. }
        ));
    }

    // Bob's connection to node 2 drops; he comes back through node 1 with his token:
    // the same id, and what he missed, once.
    let last_seen = 21;
    drop(bob);
    assert!(matches!(
        ada.recv().await,
        ServerMessage::PeerReconnecting { .. }
    ));
    ada.send(&offer(bob_welcome.you, "missed")).await;
    let mut bob = one.connect().await;
    match bob
        .resume(&room, &bob_welcome.token, last_seen, "Bob")
        .await
    {
        ServerMessage::Resumed { you, .. } => assert_eq!(you, bob_welcome.you),
        other => panic!("expected resumed, got {other:?}"),
    }
    let mut texts = Vec::new();
    while let Some(message) = bob.try_recv(Duration::from_millis(500)).await {
        if let ServerMessage::Signal {
            signal: Signal::Offer { sdp },
            ..
        } = message
        {
            texts.push(sdp);
        }
    }
    assert_eq!(texts, ["missed"], "replayed once, across nodes");
    one.stop().await;
    two.stop().await;
}
