//! Two Parley nodes sharing one PostgreSQL and one Redis (real ones, started by
//! `test-services`): a meeting's participants on either node meet, in order and
//! exactly once, with resume across nodes, chat and the room limit held by the
//! meeting's home.

mod common;

use app::protocol::{ClientMessage, Epoch, ErrorCode, ServerMessage, Signal};
use common::{http, TestServer};
use std::sync::Arc;
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
    config.signaling.max_participants = Some(max);
    TestServer::start_configured(config).await
}

/// A Redis and a fresh database of the test's own, and two nodes sharing them.
async fn two_nodes(max: usize) -> (Arc<TestRedis>, TestServer, TestServer) {
    let redis = Arc::new(tokio::task::block_in_place(TestRedis::start));
    let database = test_services::fresh_database().await;
    let one = node(&database, &redis, max).await;
    let two = node(&database, &redis, max).await;
    (redis, one, two)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_on_two_nodes_meet_chat_and_resume_across_them() {
    let (_redis, one, two) = two_nodes(3).await;
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

/// Resumes `room` on the node at `ws_url` with `token`, trying again while the
/// meeting is on its way to a node that is alive (the browser does the same); returns
/// the id resumed with.
async fn resume_somewhere(
    ws_url: &str,
    room: &app::room_code::RoomCode,
    token: &str,
    name: &str,
) -> (common::client::Client, app::protocol::PeerId) {
    let started = std::time::Instant::now();
    loop {
        let mut client = common::client::Client::connect(ws_url).await;
        client
            .send(&ClientMessage::Resume {
                version: app::protocol::PROTOCOL_VERSION,
                room: room.clone(),
                token: token.into(),
                last_seen: 0,
                name: name.into(),
                media: Default::default(),
                transport: Default::default(),
            })
            .await;
        if let Some(ServerMessage::Resumed { you, .. }) =
            client.try_recv(Duration::from_secs(8)).await
        {
            return (client, you);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{name} could not resume"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_outlives_the_node_that_hosted_it() {
    let redis = tokio::task::block_in_place(TestRedis::start);
    let database = test_services::fresh_database().await;
    let cluster = ["--cluster", &redis.url()];
    let mut one = common::process::ParleyProcess::start_on(Some(&database), &cluster);
    let mut two = common::process::ParleyProcess::start_on(Some(&database), &cluster);
    let room = common::create_room_at(one.addr, "Resilient").await;
    let mut ada = common::client::Client::connect(&one.ws_url()).await;
    let ada_welcome = ada.join(&room, "Ada").await;
    let mut bob = common::client::Client::connect(&two.ws_url()).await;
    let bob_welcome = bob.join(&room, "Bob").await;
    assert_eq!(
        bob_welcome.peers.len(),
        1,
        "through node 2, at home on node 1"
    );

    // Node 1 dies. Bob's link to it ends once node 2 sees it gone, asking him back.
    one.kill();
    let killed = std::time::Instant::now();
    assert_eq!(
        bob.expect_close().await,
        Some(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Restart)
    );
    println!(
        "Bob was asked back {:?} after node 1 died",
        killed.elapsed()
    );
    // Both come back through node 2, which takes the meeting over: the same ids.
    let (mut bob, bob_id) = resume_somewhere(&two.ws_url(), &room, &bob_welcome.token, "Bob").await;
    assert_eq!(bob_id, bob_welcome.you);
    let (mut ada, ada_id) = resume_somewhere(&two.ws_url(), &room, &ada_welcome.token, "Ada").await;
    assert_eq!(ada_id, ada_welcome.you);
    println!("Ada resumed {:?} after node 1 died", killed.elapsed());
    ada.send(&offer(bob_id, "after")).await;
    let mut heard = false;
    while let Some(message) = bob.try_recv(Duration::from_secs(2)).await {
        if matches!(message, ServerMessage::Signal { from, .. } if from == ada_id) {
            heard = true;
            break;
        }
    }
    assert!(heard, "the call's signaling goes on on node 2");

    // A node that stops on SIGTERM hands its meetings over at once: node 3 takes this
    // one as soon as the participants come back to it.
    let three = common::process::ParleyProcess::start_on(Some(&database), &cluster);
    two.terminate();
    let stopped = std::time::Instant::now();
    assert_eq!(
        ada.expect_close().await,
        Some(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Restart)
    );
    let (_ada, ada_again) =
        resume_somewhere(&three.ws_url(), &room, &ada_welcome.token, "Ada").await;
    assert_eq!(ada_again, ada_welcome.you);
    println!(
        "Ada resumed on node 3 {:?} after node 2 stopped",
        stopped.elapsed()
    );
    drop(ada);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_on_new_meetings_holds_across_nodes() {
    let (_redis, one, two) = two_nodes(8).await;
    let client = http();
    let (mut made, mut refused) = (0, 0);
    for n in 0..500 {
        let node = if n % 2 == 0 { &one } else { &two };
        let response = client
            .post(node.url("/api/rooms/create"))
            .header("accept", "text/html")
            .form(&[("name", format!("Meeting {n}"))])
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            302 | 303 => made += 1,
            429 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    println!("{made} made, {refused} refused");
    assert_eq!(made, 20, "the default 20 an hour, over both nodes");
    assert_eq!(refused, 480);
    one.stop().await;
    two.stop().await;
}

/// Whether `client`'s connection stays open for `within` (reading what comes).
async fn stays_open(client: &mut common::client::Client, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, client.next_frame()).await {
            Err(_) => return true,
            Ok(Some(Ok(()))) => continue,
            Ok(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_while_redis_is_down_and_signaling_comes_back_by_itself() {
    let (redis, one, two) = two_nodes(8).await;
    let room = one.create_room("Outage").await;
    let mut ada = one.connect().await;
    let ada_welcome = ada.join(&room, "Ada").await;
    let mut cy = one.connect().await;
    let cy_welcome = cy.join(&room, "Cy").await;
    let mut bob = two.connect().await;
    let bob_welcome = bob.join(&room, "Bob").await;
    assert_eq!(bob_welcome.peers.len(), 2);

    tokio::task::block_in_place(|| redis.stop());
    let stopped = std::time::Instant::now();
    for node in [&one, &two] {
        let health = http().get(node.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 503);
        assert!(health.text().await.unwrap().contains("redis: unreachable"));
    }
    // Those on the meeting's own node go on talking.
    ada.send(&offer(cy_welcome.you, "during")).await;
    assert!(
        hears_from(&mut cy, ada_welcome.you).await,
        "signaling within the meeting's node goes on"
    );
    // Bob's link went with the bus: he is asked to come back.
    assert_eq!(
        bob.expect_close().await,
        Some(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Restart)
    );

    // Redis is back after 10 s; Bob, trying all along, gets back in by himself.
    let restart = {
        let redis = redis.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed())).await;
            tokio::task::spawn_blocking(move || redis.start_again())
                .await
                .unwrap();
        })
    };
    let (bob, bob_id) = resume_somewhere(&two.ws_url(), &room, &bob_welcome.token, "Bob").await;
    assert_eq!(bob_id, bob_welcome.you);
    restart.await.unwrap();
    println!("Bob resumed {:?} after Redis stopped", stopped.elapsed());

    // Whichever node took the meeting back, everyone ends in it with their ids: those
    // on a node that gave way are asked to come back, and do.
    let mut people = [
        (ada, one.ws_url(), &ada_welcome, "Ada"),
        (bob, two.ws_url(), &bob_welcome, "Bob"),
        (cy, one.ws_url(), &cy_welcome, "Cy"),
    ];
    for (client, url, welcome, name) in &mut people {
        if !stays_open(client, Duration::from_secs(2)).await {
            let (back, id) = resume_somewhere(url, &room, &welcome.token, name).await;
            assert_eq!(id, welcome.you);
            *client = back;
        }
    }
    let [(ada, ..), (bob, ..), (cy, ..)] = &mut people;
    ada.send(&offer(bob_id, "after")).await;
    ada.send(&offer(cy_welcome.you, "after")).await;
    for client in [bob, cy] {
        assert!(
            hears_from(client, ada_welcome.you).await,
            "signaling reaches everyone again"
        );
    }
    for node in [&one, &two] {
        let health = http().get(node.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }
    one.stop().await;
    two.stop().await;
}

/// Whether a signal from `from` reaches `client` within a few seconds.
async fn hears_from(client: &mut common::client::Client, from: app::protocol::PeerId) -> bool {
    while let Some(message) = client.try_recv(Duration::from_secs(3)).await {
        if matches!(message, ServerMessage::Signal { from: sender, .. } if sender == from) {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_through_one_node_runs_a_meeting_hosted_by_the_other() {
    let (_redis, one, two) = two_nodes(8).await;
    let (room, cookie) = one.create_meeting("Hosted", false).await;
    // The guest comes first, through node 1, which so hosts the meeting.
    let mut guest = one.connect().await;
    let guest_welcome = guest.join(&room, "Guest").await;
    assert_eq!(guest_welcome.role, app::protocol::Role::Participant);
    let mut host = two.connect_with_cookie(&cookie).await;
    let host_welcome = host.join(&room, "Host").await;
    assert_eq!(
        host_welcome.role,
        app::protocol::Role::Host,
        "the host cookie travels with the relayed connection"
    );
    assert!(matches!(
        guest.recv().await,
        ServerMessage::PeerJoined { .. }
    ));
    host.send(&ClientMessage::Remove {
        id: guest_welcome.you,
    })
    .await;
    assert!(matches!(
        guest.recv().await,
        ServerMessage::Dismissed { .. }
    ));
    assert!(
        matches!(host.recv().await, ServerMessage::PeerLeft { id, .. } if id == guest_welcome.you)
    );
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_names_its_meeting_late_cannot_split_it() {
    let (_redis, one, two) = two_nodes(8).await;
    let room = one.create_room("Whole").await;
    let mut ada = one.connect().await;
    ada.join(&room, "Ada").await;
    // A client whose first message names no meeting is served where it landed; its
    // join, for a meeting hosted by node 1, is refused there rather than starting a
    // second copy of the meeting on node 2.
    let mut odd = two.connect().await;
    odd.send(&ClientMessage::Ping { seen: 0 }).await;
    odd.send_join(&room, "Odd").await;
    let message = loop {
        match odd.recv().await {
            ServerMessage::Error { message, .. } => break message,
            _ => continue,
        }
    };
    assert!(message.contains("connect again"), "{message}");
    ada.expect_silence(Duration::from_millis(300)).await;
    one.stop().await;
    two.stop().await;
}
