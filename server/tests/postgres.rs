//! Parley on PostgreSQL (a server of the test's own, from `test-services`): what the
//! store's tests check per query, here through a running server, and what happens
//! while the database is down.

mod common;

use app::protocol::{ClientMessage, Epoch, ErrorCode, ServerMessage, Signal};
use common::{http, TestServer};
use std::time::{Duration, Instant};
use test_services::TestPostgres;
use tokio::task::block_in_place;

async fn health(server: &TestServer) -> (u16, String) {
    let response = http().get(server.url("/healthz")).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn offer(to: app::protocol::PeerId, sdp: &str) -> ClientMessage {
    ClientMessage::Signal {
        to,
        epoch: Epoch(0),
        signal: Signal::Offer { sdp: sdp.into() },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_while_postgresql_is_down_for_10_s_and_joining_comes_back_by_itself() {
    let postgres = block_in_place(TestPostgres::start);
    let server = TestServer::start_with(postgres.create_database().await).await;
    assert_eq!(
        health(&server).await,
        (200, "ok\ndatabase: ok (PostgreSQL)\n".to_owned())
    );
    let room = server.create_room("Outage").await;
    let mut ada = server.connect().await;
    let ada_id = ada.join(&room, "Ada").await.you;
    let mut bob = server.connect().await;
    let bob_id = bob.join(&room, "Bob").await.you;
    ada.recv().await; // Bob joined
    ada.send(&ClientMessage::Chat {
        text: "before".into(),
    })
    .await;
    assert!(matches!(bob.recv().await, ServerMessage::Chat { .. }));
    assert!(
        matches!(ada.recv().await, ServerMessage::Chat { .. }),
        "her own"
    );

    block_in_place(|| postgres.stop());
    let stopped = Instant::now();
    let (status, body) = health(&server).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("database: unreachable (PostgreSQL)"),
        "{body}"
    );
    // The call goes on: what passes between the two needs no database.
    ada.send(&offer(bob_id, "during")).await;
    assert_eq!(
        bob.recv().await,
        ServerMessage::Signal {
            epoch: Epoch(0),
            from: ada_id,
            signal: Signal::Offer {
                sdp: "during".into()
            }
        }
    );
    // Joining needs it: a clear error, soon, rather than a wait.
    let mut cy = server.connect().await;
    let asked = Instant::now();
    cy.send_join(&room, "Cy").await;
    let message = cy.expect_error(ErrorCode::Internal).await;
    assert!(message.contains("try again"), "{message}");
    println!("a join was refused {:?} after asking", asked.elapsed());

    // Down for 10 s in all, then back.
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed())).await;
    block_in_place(|| postgres.start_again());
    // Back by itself, without a restart of Parley.
    let back = Instant::now();
    while health(&server).await.0 != 200 {
        assert!(back.elapsed() < Duration::from_secs(15), "health stays 503");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut cy = server.connect().await;
    let cy_id = cy.join(&room, "Cy").await.you;
    assert!(matches!(ada.recv().await, ServerMessage::PeerJoined { peer } if peer.id == cy_id));
    let history = server.connect().await.join(&room, "Dan").await.chat;
    assert_eq!(history.len(), 1, "the chat from before the outage");
    assert_eq!(history[0].text, "before");
    server.stop().await;
}
