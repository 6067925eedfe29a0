//! The signaling service over real WebSockets against the real server.

mod common;

use app::protocol::{
    ClientMessage, ErrorCode, IceTransportPolicy, LeaveReason, MediaState, PeerId, ServerMessage,
    Signal, StreamId,
};
use common::client::Client;
use common::TestServer;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const QUIET: Duration = Duration::from_millis(300);

fn offer(sdp: &str) -> Signal {
    Signal::Offer { sdp: sdp.into() }
}

#[tokio::test]
async fn joins_and_leaves_are_told_to_the_room() {
    let server =
        TestServer::fresh_tuned(|c| c.signaling.resume_grace = Duration::from_millis(300)).await;
    let room = server.create_room("Standup").await;

    let mut ada = server.connect().await;
    let ada_welcome = ada.join(&room, "Ada").await;
    assert!(ada_welcome.peers.is_empty());

    let mut bob = server.connect().await;
    let bob_welcome = bob.join(&room, "  Bob ").await;
    assert_eq!(bob_welcome.peers.len(), 1);
    assert_eq!(bob_welcome.peers[0].id, ada_welcome.you);
    assert_eq!(bob_welcome.peers[0].name, "Ada");
    assert_ne!(bob_welcome.you, ada_welcome.you);
    match ada.recv().await {
        ServerMessage::PeerJoined { peer } => {
            assert_eq!(peer.id, bob_welcome.you);
            assert_eq!(peer.name, "Bob", "names are trimmed");
        }
        other => panic!("{other:?}"),
    }

    // Leaving on purpose.
    bob.send(&ClientMessage::Leave).await;
    assert_eq!(bob.expect_close().await, Some(CloseCode::Normal));
    assert_eq!(
        ada.recv().await,
        ServerMessage::PeerLeft {
            id: bob_welcome.you,
            reason: LeaveReason::Left
        }
    );

    // Closing the tab without a word: the socket just goes away. Cy may come back
    // within the grace period; when she does not, she has left.
    let mut cy = server.connect().await;
    let cy_welcome = cy.join(&room, "Cy").await;
    assert_eq!(cy_welcome.peers.len(), 1, "Bob is gone");
    ada.recv().await; // Cy joined
    drop(cy);
    assert_eq!(
        ada.recv().await,
        ServerMessage::PeerReconnecting { id: cy_welcome.you }
    );
    assert_eq!(
        ada.recv().await,
        ServerMessage::PeerLeft {
            id: cy_welcome.you,
            reason: LeaveReason::TimedOut
        }
    );
    server.stop().await;
}

#[tokio::test]
async fn signals_reach_exactly_the_named_peer_stamped_with_the_real_sender() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Relay").await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let mut c = server.connect().await;
    let a_id = a.join(&room, "A").await.you;
    let b_id = b.join(&room, "B").await.you;
    a.recv().await; // B joined
    let c_id = c.join(&room, "C").await.you;
    a.recv().await; // C joined
    b.recv().await; // C joined

    // A claims to be C; the server says who really sent it.
    a.send_json(json!({
        "type": "signal", "to": b_id.0, "from": c_id.0,
        "signal": {"kind": "offer", "sdp": "v=0 from A"}
    }))
    .await;
    assert_eq!(
        b.recv().await,
        ServerMessage::Signal {
            epoch: Default::default(),
            from: a_id,
            signal: offer("v=0 from A")
        }
    );
    let candidate = Signal::Candidate {
        candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    b.send(&ClientMessage::Signal {
        epoch: Default::default(),
        to: a_id,
        signal: candidate.clone(),
    })
    .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::Signal {
            epoch: Default::default(),
            from: b_id,
            signal: candidate
        }
    );
    c.expect_silence(QUIET).await;
    a.expect_silence(QUIET).await;
    b.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn nothing_crosses_between_rooms() {
    let server = TestServer::fresh().await;
    let one = server.create_room("One").await;
    let two = server.create_room("Two").await;
    let mut a = server.connect().await;
    let mut x = server.connect().await;
    a.join(&one, "A").await;
    let x_welcome = x.join(&two, "X").await;
    assert!(x_welcome.peers.is_empty(), "rooms do not share members");

    a.send(&ClientMessage::Signal {
        epoch: Default::default(),
        to: x_welcome.you,
        signal: offer("v=0"),
    })
    .await;
    let message = a.expect_error(ErrorCode::UnknownPeer).await;
    assert!(message.contains(&x_welcome.you.to_string()), "{message}");
    a.send(&ClientMessage::Media {
        media: MediaState {
            audio: false,
            video: true,
            screen: None,
        },
    })
    .await;
    x.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn media_state_is_broadcast_and_remembered_for_newcomers() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Media").await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let a_id = a.join(&room, "A").await.you;
    b.join(&room, "B").await;
    let muted = MediaState {
        audio: false,
        video: true,
        screen: None,
    };
    a.send(&ClientMessage::Media {
        media: muted.clone(),
    })
    .await;
    assert_eq!(
        b.recv().await,
        ServerMessage::Media {
            from: a_id,
            media: muted.clone()
        }
    );
    let mut c = server.connect().await;
    let c_welcome = c.join(&room, "C").await;
    let seen_a = c_welcome.peers.iter().find(|p| p.id == a_id).unwrap();
    assert_eq!(seen_a.media, muted);
    server.stop().await;
}

#[tokio::test]
async fn presenting_names_the_stream_and_newcomers_see_it_while_a_bad_stream_id_is_refused() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Presenting").await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let a_id = a.join(&room, "A").await.you;
    b.join(&room, "B").await;
    let presenting = MediaState {
        screen: StreamId::new("{0b6f9c2e-5a1d-4c3b-9e8f-1a2b3c4d5e6f}"),
        ..MediaState::default()
    };
    assert!(presenting.screen.is_some());
    a.send(&ClientMessage::Media {
        media: presenting.clone(),
    })
    .await;
    assert_eq!(
        b.recv().await,
        ServerMessage::Media {
            from: a_id,
            media: presenting.clone()
        }
    );
    let mut c = server.connect().await;
    let c_welcome = c.join(&room, "C").await;
    let seen_a = c_welcome.peers.iter().find(|p| p.id == a_id).unwrap();
    assert_eq!(seen_a.media, presenting);
    for joined in ["B", "C"] {
        assert!(
            matches!(a.recv().await, ServerMessage::PeerJoined { peer } if peer.name == joined)
        );
    }
    assert!(matches!(b.recv().await, ServerMessage::PeerJoined { .. }));

    // A stream id that is too long, or could be markup, is refused; nobody hears of it.
    for bad in ["x".repeat(65), "<img src=x onerror=alert(1)>".to_string()] {
        a.send_json(json!({
            "type": "media",
            "media": { "audio": true, "video": true, "screen": bad }
        }))
        .await;
        let message = a.expect_error(ErrorCode::BadMessage).await;
        assert!(message.contains("stream id"), "{message}");
    }
    b.expect_silence(QUIET).await;
    c.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn raised_hands_reach_everyone_in_order_and_newcomers_see_them() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Hands").await;
    let mut stranger = server.connect().await;
    stranger.send(&ClientMessage::Hand { raised: true }).await;
    stranger.expect_error(ErrorCode::NotJoined).await;

    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let a_id = a.join(&room, "A").await.you;
    let b_id = b.join(&room, "B").await.you;
    a.recv().await; // B joined
    b.send(&ClientMessage::Hand { raised: true }).await;
    let ServerMessage::Hand {
        from,
        hand: Some(b_place),
    } = a.recv().await
    else {
        panic!("A is told that B raised a hand");
    };
    assert_eq!(from, b_id);
    // B hears its own place in the line.
    assert_eq!(
        b.recv().await,
        ServerMessage::Hand {
            from: b_id,
            hand: Some(b_place)
        }
    );
    a.send(&ClientMessage::Hand { raised: true }).await;
    let ServerMessage::Hand {
        from,
        hand: Some(a_place),
    } = b.recv().await
    else {
        panic!("B is told that A raised a hand");
    };
    assert_eq!(from, a_id);
    assert!(b_place < a_place);
    // Raising again changes nothing, and says nothing.
    a.recv().await;
    a.send(&ClientMessage::Hand { raised: true }).await;
    b.expect_silence(QUIET).await;

    let mut c = server.connect().await;
    let welcome = c.join(&room, "C").await;
    let hand_of = |id| welcome.peers.iter().find(|p| p.id == id).unwrap().hand;
    assert_eq!(hand_of(b_id), Some(b_place));
    assert_eq!(hand_of(a_id), Some(a_place));

    b.send(&ClientMessage::Hand { raised: false }).await;
    a.recv().await; // C joined
    assert_eq!(
        a.recv().await,
        ServerMessage::Hand {
            from: b_id,
            hand: None
        }
    );
    server.stop().await;
}

/// Every bad input gets its error, the connection survives where it should, and a
/// call in another room carries on undisturbed throughout.
#[tokio::test]
async fn bad_input_is_refused_clearly_and_harms_no_one_else() {
    let server = TestServer::fresh_tuned(|c| c.signaling.max_frame_bytes = 4096).await;
    let room = server.create_room("Target").await;
    let other_room = server.create_room("Bystanders").await;
    let mut p = server.connect().await;
    let mut q = server.connect().await;
    let p_id = p.join(&other_room, "P").await.you;
    let q_id = q.join(&other_room, "Q").await.you;
    p.recv().await; // Q joined
    let mut round = 0;
    let mut bad = server.connect().await;
    bad.send_text("{not json").await;
    bad.expect_error(ErrorCode::BadMessage).await;
    bad.send_text(r#"{"type":"teleport"}"#).await;
    let message = bad.expect_error(ErrorCode::BadMessage).await;
    assert!(message.contains("teleport"), "{message}");
    bad.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    bad.expect_error(ErrorCode::BadMessage).await;
    bad.send(&ClientMessage::Signal {
        epoch: Default::default(),
        to: p_id,
        signal: offer("v=0"),
    })
    .await;
    bad.expect_error(ErrorCode::NotJoined).await;
    bad.send_json(json!({"type": "join", "version": 5, "room": "../../etc", "name": "x"}))
        .await;
    bad.expect_error(ErrorCode::BadMessage).await;
    bad.send_json(json!({"type": "join", "version": 5, "room": "zzz-zzzz-zzz", "name": "x"}))
        .await;
    bad.expect_error(ErrorCode::RoomNotFound).await;
    bad.send_json(json!({"type": "join", "version": 99, "room": room, "name": "x"}))
        .await;
    bad.expect_error(ErrorCode::UnsupportedVersion).await;
    bad.send_json(json!({"type": "join", "version": 5, "room": room, "name": " \n "}))
        .await;
    bad.expect_error(ErrorCode::BadName).await;
    bystanders_still_talk(&mut p, &mut q, p_id, q_id, &mut round).await;

    // After all that, the same connection can still join properly...
    let me = bad.join(&room, "Mallory").await.you;
    bad.send_json(json!({"type": "join", "version": 5, "room": room, "name": "again"}))
        .await;
    bad.expect_error(ErrorCode::AlreadyJoined).await;
    bad.send(&ClientMessage::Signal {
        epoch: Default::default(),
        to: me,
        signal: offer("to myself"),
    })
    .await;
    bad.expect_error(ErrorCode::UnknownPeer).await;
    bad.send(&ClientMessage::Signal {
        epoch: Default::default(),
        to: PeerId(u64::MAX),
        signal: offer("to nobody"),
    })
    .await;
    bad.expect_error(ErrorCode::UnknownPeer).await;
    bystanders_still_talk(&mut p, &mut q, p_id, q_id, &mut round).await;

    // ...and an oversized frame ends it with 1009 after saying why.
    bad.send(&ClientMessage::Signal {
        epoch: Default::default(),
        to: p_id,
        signal: offer(&"x".repeat(10_000)),
    })
    .await;
    let message = bad.expect_error(ErrorCode::FrameTooLarge).await;
    assert!(message.contains("4096"), "{message}");
    assert_eq!(bad.expect_close().await, Some(CloseCode::Size));
    bystanders_still_talk(&mut p, &mut q, p_id, q_id, &mut round).await;

    // A frame far beyond the limit is cut off before it is read whole.
    let mut huge = server.connect().await;
    huge.try_send_text(&"y".repeat(1 << 20)).await;
    huge.expect_close().await;
    bystanders_still_talk(&mut p, &mut q, p_id, q_id, &mut round).await;
    p.expect_silence(QUIET).await;
    server.stop().await;
}

/// P's signal still reaches Q, unchanged and from P.
async fn bystanders_still_talk(
    p: &mut Client,
    q: &mut Client,
    p_id: PeerId,
    q_id: PeerId,
    round: &mut u32,
) {
    *round += 1;
    let sdp = format!("round {round}");
    p.send(&ClientMessage::Signal {
        epoch: Default::default(),
        to: q_id,
        signal: offer(&sdp),
    })
    .await;
    assert_eq!(
        q.recv().await,
        ServerMessage::Signal {
            epoch: Default::default(),
            from: p_id,
            signal: offer(&sdp)
        }
    );
}

#[tokio::test]
async fn a_full_room_refuses_the_next_participant() {
    let server = TestServer::fresh_tuned(|c| c.signaling.max_participants = Some(3)).await;
    let room = server.create_room("Small").await;
    let mut inside = Vec::new();
    for name in ["A", "B", "C"] {
        let mut client = server.connect().await;
        client.join(&room, name).await;
        inside.push(client);
    }
    let mut late = server.connect().await;
    late.send_json(json!({"type": "join", "version": 5, "room": room, "name": "D"}))
        .await;
    let message = late.expect_error(ErrorCode::RoomFull).await;
    assert!(message.contains('3'), "{message}");
    // Once someone leaves there is room again.
    inside.pop().unwrap().send(&ClientMessage::Leave).await;
    inside[0].recv().await; // C left
    late.join(&room, "D").await;
    server.stop().await;
}

#[tokio::test]
async fn floods_are_rate_limited_without_ending_the_call() {
    let server = TestServer::fresh_tuned(|c| c.signaling.max_messages_per_second = 10).await;
    let room = server.create_room("Flood").await;
    let mut flooder = server.connect().await;
    let mut victim = server.connect().await;
    flooder.join(&room, "Flooder").await;
    let victim_id = victim.join(&room, "Victim").await.you;
    flooder.recv().await; // Victim joined

    for i in 0..200 {
        flooder
            .send(&ClientMessage::Signal {
                epoch: Default::default(),
                to: victim_id,
                signal: offer(&format!("{i}")),
            })
            .await;
    }
    let message = flooder.expect_error(ErrorCode::RateLimited).await;
    assert!(message.contains("10"), "{message}");
    // Only about one burst (twice the rate, minus the join) got through.
    let mut relayed = 0;
    while let Ok(ServerMessage::Signal { .. }) = tokio::time::timeout(QUIET, victim.recv()).await {
        relayed += 1;
    }
    assert!((10..=30).contains(&relayed), "{relayed} relayed");
    flooder.expect_silence(Duration::from_millis(100)).await;

    // A second later the flooder may speak again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    flooder
        .send(&ClientMessage::Signal {
            epoch: Default::default(),
            to: victim_id,
            signal: offer("calm"),
        })
        .await;
    assert!(matches!(victim.recv().await, ServerMessage::Signal { .. }));
    server.stop().await;
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_connections() {
    let server = TestServer::fresh_tuned(|c| c.signaling.max_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.connect().await);
    }
    match Client::try_connect(&server.ws_url(), None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected HTTP 429, got {:?}", other.map(|_| ())),
    }
    drop(held.pop());
    // The server notices the closed socket and frees its slot.
    let mut reconnected = None;
    for _ in 0..50 {
        if let Ok(client) = Client::try_connect(&server.ws_url(), None).await {
            reconnected = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reconnected.is_some(), "a freed slot can be used again");
    server.stop().await;
}

/// Connects as a reverse proxy would, naming `client` in X-Forwarded-For; returns the
/// HTTP status of a refusal, or None when the connection was accepted.
async fn connect_forwarded(server: &TestServer, client: &str) -> Option<u16> {
    match Client::try_connect_with(&server.ws_url(), &[("x-forwarded-for", client)]).await {
        Ok(connection) => {
            // Held open (leaked into a task) so that it keeps counting against the limit.
            tokio::spawn(async move {
                let _held = connection;
                std::future::pending::<()>().await
            });
            None
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Some(response.status().as_u16())
        }
        Err(other) => panic!("unexpected connection error: {other}"),
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    // The test client plays the proxy on 127.0.0.1.
    let server = TestServer::fresh_tuned(|c| {
        c.signaling.max_connections_per_ip = 1;
        c.signaling.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(connect_forwarded(&server, "203.0.113.1").await, None);
    assert_eq!(connect_forwarded(&server, "203.0.113.2").await, None);
    assert_eq!(connect_forwarded(&server, "203.0.113.1").await, Some(429));
    server.stop().await;

    // From an address nobody listed, the header is ignored: it cannot dodge the limit.
    let server = TestServer::fresh_tuned(|c| c.signaling.max_connections_per_ip = 1).await;
    assert_eq!(connect_forwarded(&server, "203.0.113.1").await, None);
    assert_eq!(connect_forwarded(&server, "203.0.113.2").await, Some(429));
    server.stop().await;
}

#[tokio::test]
async fn pages_from_other_origins_may_not_connect() {
    let server = TestServer::fresh().await;
    let own = format!("http://{}", server.addr);
    assert!(Client::try_connect(&server.ws_url(), Some(&own))
        .await
        .is_ok());
    match Client::try_connect(&server.ws_url(), Some("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected HTTP 403, got {:?}", other.map(|_| ())),
    }
    server.stop().await;

    let server = TestServer::fresh_tuned(|c| {
        c.signaling.public_origins = vec!["https://meet.example.org".into()]
    })
    .await;
    assert!(
        Client::try_connect(&server.ws_url(), Some("https://meet.example.org"))
            .await
            .is_ok()
    );
    let own = format!("http://{}", server.addr);
    assert!(Client::try_connect(&server.ws_url(), Some(&own))
        .await
        .is_err());
    server.stop().await;
}

#[tokio::test]
async fn a_dead_peer_is_found_by_heartbeat_and_the_room_told() {
    let server = TestServer::fresh_tuned(|c| {
        c.signaling.heartbeat_interval = Duration::from_millis(100);
        c.signaling.heartbeat_timeout = Duration::from_millis(600);
    })
    .await;
    let room = server.create_room("Heartbeat").await;
    let mut alive = server.connect().await;
    let mut dead = server.connect().await;
    alive.join(&room, "Alive").await;
    let dead_id = dead.join(&room, "Dead").await.you;
    assert!(matches!(
        alive.recv().await,
        ServerMessage::PeerJoined { .. }
    ));

    // The dead client keeps its socket open but never reads, so never answers pings.
    let _frozen = dead.into_inner();
    // The live one keeps reading (and so answering pings) and stays.
    assert_eq!(
        alive.recv().await,
        ServerMessage::PeerLeft {
            id: dead_id,
            reason: LeaveReason::TimedOut
        }
    );
    alive.expect_silence(Duration::from_millis(1500)).await;
    let mut newcomer = server.connect().await;
    assert_eq!(newcomer.join(&room, "New").await.peers.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn joining_records_room_activity() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Activity").await;
    let pool = sqlx::SqlitePool::connect(&server.database_url)
        .await
        .unwrap();
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    // An hour ago: long enough to see the join move it, well within the meeting
    // expiry (a meeting idle since 1970 could be swept away before the join).
    sqlx::query("UPDATE rooms SET last_active_at = ? WHERE code = ?")
        .bind(unix_now() - 3600)
        .bind(room.as_str())
        .execute(&pool)
        .await
        .unwrap();
    let mut client = server.connect().await;
    client.join(&room, "A").await;
    let last: i64 = sqlx::query_scalar("SELECT last_active_at FROM rooms WHERE code = ?")
        .bind(room.as_str())
        .fetch_one(&pool)
        .await
        .unwrap();
    let now = unix_now();
    assert!((now - 5..=now).contains(&last), "{last} vs {now}");
    pool.close().await;
    server.stop().await;
}

#[tokio::test]
async fn without_turn_the_welcome_offers_only_stun() {
    let server = TestServer::fresh().await;
    let room = server.create_room("No ICE").await;
    let mut client = server.connect().await;
    let welcome = client.join(&room, "A").await;
    assert!(welcome.ice_servers.is_empty());
    assert_eq!(welcome.ice_transport_policy, IceTransportPolicy::All);
    server.stop().await;

    let server =
        TestServer::fresh_tuned(|c| c.ice.stun_urls = vec!["stun:stun.example.org:3478".into()])
            .await;
    let room = server.create_room("STUN").await;
    let mut client = server.connect().await;
    let welcome = client.join(&room, "A").await;
    assert_eq!(welcome.ice_servers.len(), 1);
    assert_eq!(welcome.ice_servers[0].urls, ["stun:stun.example.org:3478"]);
    assert_eq!(welcome.ice_servers[0].credential, None);
    server.stop().await;
}

#[tokio::test]
async fn turn_credentials_verify_with_an_independent_hmac() {
    let secret = "correct horse battery staple";
    let server = TestServer::fresh_tuned(|c| {
        c.ice.turn_urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        c.ice.turn_secret = Some(secret.into());
        c.ice.turn_credential_lifetime = Duration::from_secs(3600);
        c.ice.relay_only = true;
    })
    .await;
    let room = server.create_room("TURN").await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let a_welcome = a.join(&room, "A").await;
    let b_welcome = b.join(&room, "B").await;
    assert_eq!(a_welcome.ice_transport_policy, IceTransportPolicy::Relay);

    let mut passwords = Vec::new();
    for welcome in [&a_welcome, &b_welcome] {
        let turn = &welcome.ice_servers[0];
        assert_eq!(turn.urls, ["turn:127.0.0.1:3478?transport=udp"]);
        let username = turn.username.as_deref().unwrap();
        let (expiry, peer) = username.split_once(':').unwrap();
        assert_eq!(peer, welcome.you.to_string());
        let expiry: u64 = expiry.parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((now + 3590..=now + 3610).contains(&expiry));
        assert_eq!(
            turn.credential.as_deref().unwrap(),
            independent_hmac_sha1_base64(secret.as_bytes(), username.as_bytes())
        );
        passwords.push(turn.credential.clone().unwrap());
    }
    assert_ne!(passwords[0], passwords[1], "each participant has their own");
    assert!(
        !passwords.iter().any(|p| p.contains(secret)),
        "the secret itself never leaves the server"
    );
    server.stop().await;
}

/// HMAC-SHA1 written out from RFC 2104 over the plain SHA-1 digest, so the test does
/// not trust the `hmac` crate the server uses.
fn independent_hmac_sha1_base64(key: &[u8], message: &[u8]) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block_key.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = block_key.iter().map(|b| b ^ 0x5c).collect();
    let inner_hash = Sha1::new()
        .chain_update(&inner)
        .chain_update(message)
        .finalize();
    let mac = Sha1::new()
        .chain_update(&outer)
        .chain_update(inner_hash)
        .finalize();
    base64::engine::general_purpose::STANDARD.encode(mac)
}
