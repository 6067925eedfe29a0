//! Sessions that survive a dropped connection and a restart of the server: resume
//! tokens, replay of what was missed, and the bounds on both.

mod common;

use app::protocol::{ClientMessage, Epoch, ErrorCode, LeaveReason, ServerMessage, Signal};
use common::TestServer;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn offer(sdp: &str) -> Signal {
    Signal::Offer { sdp: sdp.into() }
}

fn signal_to(to: app::protocol::PeerId, sdp: &str) -> ClientMessage {
    ClientMessage::Signal {
        to,
        epoch: Epoch(0),
        signal: offer(sdp),
    }
}

#[tokio::test]
async fn a_dropped_connection_resumes_with_the_same_id_and_what_it_missed() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Resume").await;
    let mut ada = server.connect().await;
    let ada_id = ada.join(&room, "Ada").await.you;
    let mut bob = server.connect().await;
    let bob_welcome = bob.join(&room, "Bob").await;
    ada.recv().await; // Bob joined

    ada.send(&signal_to(bob_welcome.you, "one")).await;
    let first = bob.recv_numbered().await;
    assert_eq!(first.seq, Some(1));
    // Bob's connection drops after he handled "one"; Ada sends two more meanwhile.
    drop(bob);
    assert_eq!(
        ada.recv().await,
        ServerMessage::PeerReconnecting {
            id: bob_welcome.you
        }
    );
    ada.send(&signal_to(bob_welcome.you, "two")).await;
    ada.send(&signal_to(bob_welcome.you, "three")).await;
    ada.expect_silence(Duration::from_millis(200)).await;

    let mut bob = server.connect().await;
    match bob.resume(&room, &bob_welcome.token, 1, "Bob").await {
        ServerMessage::Resumed {
            you,
            peers,
            complete,
            token,
            ..
        } => {
            assert_eq!(you, bob_welcome.you, "the same id");
            assert_eq!(peers.len(), 1);
            assert!(complete);
            assert_ne!(token, bob_welcome.token, "a fresh token");
        }
        other => panic!("expected resumed, got {other:?}"),
    }
    for (seq, sdp) in [(2, "two"), (3, "three")] {
        let missed = bob.recv_numbered().await;
        assert_eq!(missed.seq, Some(seq));
        assert_eq!(
            missed.message,
            ServerMessage::Signal {
                from: ada_id,
                epoch: Epoch(0),
                signal: offer(sdp)
            }
        );
    }
    bob.expect_silence(Duration::from_millis(200)).await;
    assert!(matches!(
        ada.recv().await,
        ServerMessage::PeerJoined { peer } if peer.id == bob_welcome.you
    ));
    // And the call goes on both ways.
    bob.send(&signal_to(ada_id, "back")).await;
    assert!(
        matches!(ada.recv().await, ServerMessage::Signal { from, .. } if from == bob_welcome.you)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_resume_on_a_new_connection_replaces_a_half_open_one() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Half open").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    let welcome = bob.join(&room, "Bob").await;
    ada.recv().await;
    // Bob's old socket is still open as far as the server knows.
    let mut again = server.connect().await;
    assert!(matches!(
        again.resume(&room, &welcome.token, 0, "Bob").await,
        ServerMessage::Resumed { you, .. } if you == welcome.you
    ));
    assert_eq!(bob.expect_close().await, Some(CloseCode::Normal));
    // Nobody saw Bob leave: the old connection's end is not news.
    assert!(matches!(ada.recv().await, ServerMessage::PeerJoined { .. }));
    ada.expect_silence(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test]
async fn resume_tokens_are_checked() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Tokens").await;
    let other_room = server.create_room("Elsewhere").await;
    let mut ada = server.connect().await;
    let welcome = ada.join(&room, "Ada").await;

    let mut intruder = server.connect().await;
    // Another room.
    assert!(matches!(
        intruder.resume(&other_room, &welcome.token, 0, "Ada").await,
        ServerMessage::Error {
            code: ErrorCode::ResumeRefused,
            ..
        }
    ));
    // Another id: the token altered by one character.
    let mut forged = welcome.token.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(matches!(
        intruder.resume(&room, &forged, 0, "Ada").await,
        ServerMessage::Error {
            code: ErrorCode::ResumeRefused,
            ..
        }
    ));
    for junk in ["", "not-a-token", &"A".repeat(43)] {
        assert!(matches!(
            intruder.resume(&room, junk, 0, "Ada").await,
            ServerMessage::Error {
                code: ErrorCode::ResumeRefused,
                ..
            }
        ));
    }
    // A token from another server (another key) is forged too.
    let stranger = TestServer::fresh().await;
    let stranger_room = stranger.create_room("Other server").await;
    let stranger_token = stranger
        .connect()
        .await
        .join(&stranger_room, "Eve")
        .await
        .token;
    assert!(matches!(
        intruder.resume(&room, &stranger_token, 0, "Eve").await,
        ServerMessage::Error {
            code: ErrorCode::ResumeRefused,
            ..
        }
    ));
    // The connection is still usable: a plain join works.
    assert_eq!(intruder.join(&room, "Guest").await.peers.len(), 1);
    stranger.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn past_the_grace_period_a_resume_is_refused_and_the_room_was_told() {
    let server =
        TestServer::fresh_tuned(|c| c.signaling.resume_grace = Duration::from_millis(200)).await;
    let room = server.create_room("Grace").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    let welcome = bob.join(&room, "Bob").await;
    ada.recv().await;
    drop(bob);
    assert!(matches!(
        ada.recv().await,
        ServerMessage::PeerReconnecting { .. }
    ));
    assert_eq!(
        ada.recv().await,
        ServerMessage::PeerLeft {
            id: welcome.you,
            reason: LeaveReason::TimedOut
        }
    );
    let mut bob = server.connect().await;
    assert!(matches!(
        bob.resume(&room, &welcome.token, 0, "Bob").await,
        ServerMessage::Error {
            code: ErrorCode::ResumeRefused,
            ..
        }
    ));
    let rejoined = bob.join(&room, "Bob").await;
    assert!(rejoined.you > welcome.you, "a new id, never an old one");
    server.stop().await;
}

#[tokio::test]
async fn an_absence_that_misses_too_much_is_a_leave() {
    let server = TestServer::fresh_tuned(|c| c.signaling.outgoing_queue = 4).await;
    let room = server.create_room("Bound").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    let welcome = bob.join(&room, "Bob").await;
    ada.recv().await;
    drop(bob);
    assert!(matches!(
        ada.recv().await,
        ServerMessage::PeerReconnecting { .. }
    ));
    for n in 0..5 {
        ada.send(&signal_to(welcome.you, &format!("n{n}"))).await;
    }
    assert_eq!(
        ada.recv().await,
        ServerMessage::PeerLeft {
            id: welcome.you,
            reason: LeaveReason::Dropped
        }
    );
    let mut bob = server.connect().await;
    assert!(matches!(
        bob.resume(&room, &welcome.token, 0, "Bob").await,
        ServerMessage::Error {
            code: ErrorCode::ResumeRefused,
            ..
        }
    ));
    server.stop().await;
}

#[tokio::test]
async fn a_restarted_server_takes_sessions_back_and_never_reuses_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestServer::start(&dir).await;
    let room = first.create_room("Restart").await;
    let mut ada = first.connect().await;
    let ada_welcome = ada.join(&room, "Ada").await;
    let mut bob = first.connect().await;
    let bob_welcome = bob.join(&room, "Bob").await;
    ada.recv().await;

    // Stopping tells every client to come back, and tells no room anything.
    first.stop().await;
    assert_eq!(ada.expect_close().await, Some(CloseCode::Restart));
    assert_eq!(bob.expect_close().await, Some(CloseCode::Restart));

    let second = TestServer::start_with(first_url(&dir)).await;
    let mut ada = second.connect().await;
    match ada.resume(&room, &ada_welcome.token, 9, "Ada").await {
        ServerMessage::Resumed {
            you,
            peers,
            complete,
            ..
        } => {
            assert_eq!(you, ada_welcome.you);
            assert!(peers.is_empty(), "Bob is not back yet");
            assert!(!complete, "what the old server held is gone");
        }
        other => panic!("expected resumed, got {other:?}"),
    }
    let mut bob = second.connect().await;
    assert!(matches!(
        bob.resume(&room, &bob_welcome.token, 4, "Bob").await,
        ServerMessage::Resumed { you, ref peers, .. } if you == bob_welcome.you && peers.len() == 1
    ));
    let back = ada.recv_numbered().await;
    assert_eq!(back.seq, Some(1), "numbering starts over");
    assert!(
        matches!(back.message, ServerMessage::PeerJoined { peer } if peer.id == bob_welcome.you && peer.name == "Bob")
    );
    bob.send(&signal_to(ada_welcome.you, "after the restart"))
        .await;
    assert!(
        matches!(ada.recv().await, ServerMessage::Signal { from, .. } if from == bob_welcome.you)
    );

    let mut cy = second.connect().await;
    let cy_id = cy.join(&room, "Cy").await.you;
    assert!(
        cy_id > bob_welcome.you && cy_id > ada_welcome.you,
        "new ids come after every id handed out before the restart"
    );
    second.stop().await;
}

fn first_url(dir: &tempfile::TempDir) -> String {
    common::database_url(dir.path().join("parley.db"))
}
