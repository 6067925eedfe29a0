//! Meetings moving between the mesh and the media port as they grow and shrink
//! (`--mesh-limit`), over signaling: who is told what, and when. (The browsers'
//! side, pictures that keep moving through it, is end2end/tests/moves.spec.ts.)

mod common;

use app::protocol::{
    ClientMessage, ErrorCode, LeaveReason, PeerId, ServerMessage, ShownTile, Transport,
    MAX_SHOWN_TILES,
};
use common::client::Client;
use common::TestServer;
use server::config::SfuListen;
use std::net::SocketAddr;
use std::time::Duration;

async fn server_with_mesh_limit(limit: u32) -> TestServer {
    TestServer::fresh_tuned(|config| {
        config.signaling.sfu_listen = SfuListen::At(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.signaling.mesh_limit = Some(limit);
    })
    .await
}

/// Reads until `wanted` matches a message (skipping others), within `wait`.
async fn expect_within(
    client: &mut Client,
    wait: Duration,
    wanted: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.try_recv(left).await {
            Some(message) if wanted(&message) => return message,
            Some(_) => {}
            None => panic!("nothing wanted arrived within {wait:?}"),
        }
    }
}

fn changed_to(transport: Transport) -> impl Fn(&ServerMessage) -> bool {
    move |m| matches!(m, ServerMessage::TransportChanged { transport: t } if *t == transport)
}

fn settled_on(transport: Transport) -> impl Fn(&ServerMessage) -> bool {
    move |m| matches!(m, ServerMessage::TransportSettled { transport: t } if *t == transport)
}

#[tokio::test]
async fn a_meeting_moves_to_the_server_past_the_limit_and_back_once_small_again() {
    let server = server_with_mesh_limit(2).await;
    let room = server.create_room("Growing").await;
    let mut ada = server.connect().await;
    assert_eq!(ada.join(&room, "Ada").await.transport, Transport::Mesh);
    let mut bob = server.connect().await;
    assert_eq!(bob.join(&room, "Bob").await.transport, Transport::Mesh);

    // The third person takes the meeting past two: welcomed onto the server, the
    // others told to move.
    let mut cat = server.connect().await;
    let welcome = cat.join(&room, "Cat").await;
    assert_eq!(welcome.transport, Transport::Sfu);
    let wait = Duration::from_secs(2);
    for client in [&mut ada, &mut bob] {
        expect_within(client, wait, changed_to(Transport::Sfu)).await;
    }

    // Not settled until everyone says they are ready.
    for client in [&mut ada, &mut bob] {
        client
            .send(&ClientMessage::TransportReady {
                transport: Transport::Sfu,
            })
            .await;
    }
    assert!(
        cat.try_recv(Duration::from_millis(300)).await.is_none(),
        "nothing settles while Cat still moves"
    );
    // Readiness for the wrong transport does not count.
    cat.send(&ClientMessage::TransportReady {
        transport: Transport::Mesh,
    })
    .await;
    cat.expect_silence(Duration::from_millis(300)).await;
    cat.send(&ClientMessage::TransportReady {
        transport: Transport::Sfu,
    })
    .await;
    for client in [&mut ada, &mut bob, &mut cat] {
        expect_within(client, wait, settled_on(Transport::Sfu)).await;
    }

    // Cat leaves: two again. The meeting returns to the mesh only after staying
    // small for 3 s.
    cat.send(&ClientMessage::Leave).await;
    let left_at = tokio::time::Instant::now();
    expect_within(&mut ada, wait, |m| {
        matches!(
            m,
            ServerMessage::PeerLeft {
                reason: LeaveReason::Left,
                ..
            }
        )
    })
    .await;
    expect_within(
        &mut ada,
        Duration::from_secs(6),
        changed_to(Transport::Mesh),
    )
    .await;
    assert!(
        left_at.elapsed() >= Duration::from_millis(2_900),
        "back to the mesh after {:?}: too soon",
        left_at.elapsed()
    );
    expect_within(&mut bob, wait, changed_to(Transport::Mesh)).await;
    for client in [&mut ada, &mut bob] {
        client
            .send(&ClientMessage::TransportReady {
                transport: Transport::Mesh,
            })
            .await;
    }
    for client in [&mut ada, &mut bob] {
        expect_within(client, wait, settled_on(Transport::Mesh)).await;
    }
    // A third person moves it again, at once.
    let mut dan = server.connect().await;
    assert_eq!(dan.join(&room, "Dan").await.transport, Transport::Sfu);
}

#[tokio::test]
async fn someone_who_never_says_ready_holds_a_move_for_10_seconds_at_most() {
    let server = server_with_mesh_limit(1).await;
    let room = server.create_room("Stuck").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    assert_eq!(bob.join(&room, "Bob").await.transport, Transport::Sfu);
    expect_within(&mut ada, Duration::from_secs(2), changed_to(Transport::Sfu)).await;
    ada.send(&ClientMessage::TransportReady {
        transport: Transport::Sfu,
    })
    .await;
    // Bob says nothing.
    let asked = tokio::time::Instant::now();
    expect_within(
        &mut ada,
        Duration::from_secs(12),
        settled_on(Transport::Sfu),
    )
    .await;
    assert!(asked.elapsed() >= Duration::from_secs(8));
    expect_within(&mut bob, Duration::from_secs(1), settled_on(Transport::Sfu)).await;
}

#[tokio::test]
async fn without_a_media_port_meetings_stay_a_mesh_and_ready_is_answered_for_one() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Small").await;
    let mut clients = Vec::new();
    for name in ["A", "B", "C", "D", "E", "F"] {
        let mut client = server.connect().await;
        assert_eq!(client.join(&room, name).await.transport, Transport::Mesh);
        clients.push(client);
    }
    let ada = &mut clients[0];
    // Nothing is moving: saying ready is answered to Ada alone.
    ada.send(&ClientMessage::TransportReady {
        transport: Transport::Mesh,
    })
    .await;
    expect_within(ada, Duration::from_secs(2), settled_on(Transport::Mesh)).await;
    let bob = &mut clients[1];
    let mut others_heard = false;
    while let Some(message) = bob.try_recv(Duration::from_millis(300)).await {
        others_heard |= matches!(message, ServerMessage::TransportSettled { .. });
    }
    assert!(!others_heard);
}

#[tokio::test]
async fn tiles_shown_is_bounded_and_harmless_on_a_mesh() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Tiles").await;
    let tiles = |count: u64| ClientMessage::TilesShown {
        tiles: (0..count)
            .map(|id| ShownTile {
                id: PeerId(id),
                height: 240,
            })
            .collect(),
    };
    let mut early = server.connect().await;
    early.send(&tiles(1)).await;
    early.expect_error(ErrorCode::NotJoined).await;

    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    expect_within(&mut ada, Duration::from_secs(2), |m| {
        matches!(m, ServerMessage::PeerJoined { .. })
    })
    .await;
    ada.send(&tiles(MAX_SHOWN_TILES as u64 + 1)).await;
    let message = ada.expect_error(ErrorCode::TooLarge).await;
    assert!(message.contains("tiles"), "{message}");
    // Within the bound, on a mesh: nothing to size, no error, nobody else hears.
    ada.send(&tiles(MAX_SHOWN_TILES as u64)).await;
    ada.send(&ClientMessage::Ping { seen: 0 }).await;
    expect_within(&mut ada, Duration::from_secs(2), |m| {
        assert!(!matches!(m, ServerMessage::Error { .. }), "{m:?}");
        matches!(m, ServerMessage::Pong)
    })
    .await;
    assert!(bob.try_recv(Duration::from_millis(300)).await.is_none());
}
