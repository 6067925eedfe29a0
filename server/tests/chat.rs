//! The meeting chat over real WebSockets: who gets a message, the history a latecomer
//! and a restarted server give, and the bounds on length and rate.

mod common;

use app::protocol::{ChatMessage, ClientMessage, ErrorCode, ServerMessage, MAX_CHAT_CHARS};
use common::client::Client;
use common::TestServer;
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(300);

fn chat(text: &str) -> ClientMessage {
    ClientMessage::Chat { text: text.into() }
}

async fn expect_chat(client: &mut Client) -> ChatMessage {
    let delivery = client.recv_numbered().await;
    assert!(delivery.seq.is_some(), "chat is a room message, numbered");
    match delivery.message {
        ServerMessage::Chat { message } => message,
        other => panic!("expected a chat message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_message_reaches_everyone_in_the_meeting_and_nobody_else() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Chat").await;
    let other_room = server.create_room("Elsewhere").await;
    let mut ada = server.connect().await;
    let ada_id = ada.join(&room, "Ada").await.you;
    let mut bob = server.connect().await;
    assert!(bob.join(&room, "Bob").await.chat.is_empty());
    ada.recv().await; // Bob joined
    let mut cy = server.connect().await;
    cy.join(&other_room, "Cy").await;

    ada.send(&chat("  hello <b>all</b>\r\nsecond line ")).await;
    let to_bob = expect_chat(&mut bob).await;
    assert_eq!(to_bob.from, ada_id, "the server says who it is from");
    assert_eq!(to_bob.name, "Ada");
    assert_eq!(to_bob.text, "hello <b>all</b>\nsecond line");
    assert_eq!(
        expect_chat(&mut ada).await,
        to_bob,
        "the sender gets it too, with its id"
    );
    cy.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn a_latecomer_and_a_restarted_server_give_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestServer::start(&dir).await;
    let room = first.create_room("Kept").await;
    let mut ada = first.connect().await;
    let ada_welcome = ada.join(&room, "Ada").await;
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        ada.send(&chat(text)).await;
        sent.push(expect_chat(&mut ada).await);
    }
    let mut bob = first.connect().await;
    assert_eq!(bob.join(&room, "Bob").await.chat, sent, "oldest first");
    drop(bob);
    first.stop().await;

    let second = TestServer::start_with(common::database_url(dir.path().join("parley.db"))).await;
    let mut cy = second.connect().await;
    assert_eq!(cy.join(&room, "Cy").await.chat, sent, "kept in SQLite");
    // Ada resumes on the restarted server: it may have missed messages, so the history
    // comes again (the client tells duplicates apart by id).
    let mut ada = second.connect().await;
    ada.send(&ClientMessage::Resume {
        version: app::protocol::PROTOCOL_VERSION,
        room: room.clone(),
        token: ada_welcome.token.clone(),
        last_seen: 3,
        name: "Ada".into(),
        media: Default::default(),
        transport: Default::default(),
    })
    .await;
    assert!(matches!(
        ada.recv().await,
        ServerMessage::Resumed {
            complete: false,
            ..
        }
    ));
    assert_eq!(ada.expect_chat_history().await, sent);
    second.stop().await;
}

/// Writes `texts` as Ada's chat straight into the server's database, as a long meeting
/// would have, keeping what the server keeps.
async fn write_chat(
    server: &TestServer,
    room: &app::room_code::RoomCode,
    texts: impl Iterator<Item = String>,
) {
    let store = server::store::RoomStore::open(&server.database_url)
        .await
        .unwrap();
    for text in texts {
        store
            .add_chat(
                room,
                app::protocol::PeerId(1),
                "Ada",
                &text,
                std::time::SystemTime::now(),
                app::protocol::CHAT_HISTORY,
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn only_the_latest_200_messages_are_kept_and_given_to_a_latecomer() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Busy").await;
    write_chat(&server, &room, (0..205).map(|n| n.to_string())).await;
    let mut bob = server.connect().await;
    let chat = bob.join(&room, "Bob").await.chat;
    assert_eq!(chat.len(), 200);
    assert_eq!(chat.first().unwrap().text, "5");
    assert_eq!(chat.last().unwrap().text, "204");
    server.stop().await;
}

#[tokio::test]
async fn a_meeting_whose_chat_is_long_winded_still_lets_people_in() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Wide").await;
    // 200 messages of 2,000 four-byte characters: 1.6 MB, more than may be held for one
    // participant (1 MiB).
    let wide = (0..200).map(|n| format!("{n} {}", "😀".repeat(1990)));
    write_chat(&server, &room, wide).await;
    let mut bob = server.connect().await;
    let chat = bob.join(&room, "Bob").await.chat;
    assert!((50..200).contains(&chat.len()), "{} messages", chat.len());
    assert!(
        chat.last().unwrap().text.starts_with("199 "),
        "the newest is there"
    );
    // Still connected.
    bob.send(&app::protocol::ClientMessage::Ping { seen: 0 })
        .await;
    assert_eq!(bob.recv().await, app::protocol::ServerMessage::Pong);
    server.stop().await;
}

#[tokio::test]
async fn empty_long_and_flooding_messages_are_refused_and_harm_nobody() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Bounds").await;
    let mut ada = server.connect().await;
    ada.send(&chat("before joining")).await;
    ada.expect_error(ErrorCode::NotJoined).await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    ada.recv().await; // Bob joined

    ada.send(&chat(" \n ")).await;
    assert!(ada
        .expect_error(ErrorCode::ChatRefused)
        .await
        .contains("empty"));
    ada.send(&chat(&"x".repeat(MAX_CHAT_CHARS + 1))).await;
    assert!(ada
        .expect_error(ErrorCode::ChatRefused)
        .await
        .contains("at most"));
    bob.expect_silence(QUIET).await;

    // A flood: the first few pass (the burst), the rest are refused, and Bob gets only
    // those that passed.
    for n in 0..20 {
        ada.send(&chat(&format!("flood {n}"))).await;
    }
    let mut passed = 0;
    let mut refused = 0;
    for _ in 0..20 {
        match ada.recv().await {
            ServerMessage::Chat { .. } => passed += 1,
            ServerMessage::Error {
                code: ErrorCode::ChatRefused,
                ..
            } => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((1..=6).contains(&passed), "{passed} passed");
    assert_eq!(passed + refused, 20);
    for _ in 0..passed {
        expect_chat(&mut bob).await;
    }
    bob.expect_silence(QUIET).await;
    // Bob, unharmed, can still chat.
    bob.send(&chat("still here")).await;
    assert_eq!(expect_chat(&mut ada).await.text, "still here");
    server.stop().await;
}
