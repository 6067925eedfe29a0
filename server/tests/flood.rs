//! Floods from one address, against Parley in a process of its own so that its memory
//! and its database are measured apart from the clients: the bytes it holds stay
//! within its budgets, and chat adds only a bounded amount to the disk. Each test
//! prints its figures; `PARLEY_TEST_BIN=path/to/parley` runs them against another
//! build, to compare.

mod common;

use app::protocol::{ClientMessage, PeerId, ServerMessage};
use app::room_code::RoomCode;
use common::client::Client;
use common::process::ParleyProcess;
use common::{create_room_at, metric};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Four meetings of eight, all from one address (within the per-address and
/// per-meeting limits): each connection's id and the ids of the others in its meeting.
async fn four_meetings_of_eight(parley: &ParleyProcess) -> Vec<(Client, RoomCode, Vec<PeerId>)> {
    let mut everyone = Vec::new();
    for meeting in 0..4 {
        let room = create_room_at(parley.addr, &format!("Flood {meeting}")).await;
        let mut people = Vec::new();
        for n in 0..8 {
            let mut client = Client::connect(&parley.ws_url()).await;
            let id = client.join(&room, &format!("P{n}")).await.you;
            people.push((client, id));
        }
        let ids: Vec<PeerId> = people.iter().map(|(_, id)| *id).collect();
        for (client, id) in people {
            let others = ids.iter().copied().filter(|other| *other != id).collect();
            everyone.push((client, room.clone(), others));
        }
    }
    everyone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_connections_that_never_acknowledge_hold_bounded_memory() {
    let parley = ParleyProcess::start(&[]);
    let idle = parley.resident_bytes();
    let everyone = four_meetings_of_eight(&parley).await;
    let connections = everyone.len();
    let flood_for = Duration::from_secs(6);
    let mut floods = Vec::new();
    for (client, _, others) in everyone {
        let (mut write, mut read) = client.into_inner().split();
        // Reads everything, acknowledges nothing.
        floods.push(tokio::spawn(async move {
            while let Some(Ok(_)) = read.next().await {}
        }));
        // Ten times a second, a 60 KB candidate (as the attack was first tried) and a
        // 30 KB offer to the next of the others.
        let big_candidate = "c".repeat(60_000);
        let offer = "v".repeat(30_000);
        floods.push(tokio::spawn(async move {
            let started = Instant::now();
            for to in others.iter().cycle() {
                if started.elapsed() > flood_for {
                    break;
                }
                for signal in [
                    json!({"kind": "candidate", "candidate": big_candidate}),
                    json!({"kind": "offer", "sdp": offer}),
                ] {
                    let text = json!({"type": "signal", "to": to.0, "signal": signal});
                    if write
                        .send(Message::Text(text.to_string().into()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    let (mut peak_held, mut peak_resident) = (None::<f64>, 0);
    let started = Instant::now();
    while started.elapsed() < flood_for + Duration::from_secs(1) {
        if let Some(held) = metric(&parley.scrape().await, "parley_held_bytes") {
            peak_held = Some(peak_held.unwrap_or(0.0).max(held));
        }
        peak_resident = peak_resident.max(parley.resident_bytes());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for flood in floods {
        flood.abort();
    }
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    println!(
        "{connections} connections: resident memory {:.1} MiB idle, {:.1} MiB at most under the flood; bytes held at most {}",
        mib(idle as f64),
        mib(peak_resident as f64),
        peak_held.map_or("(not reported)".into(), |held| format!("{:.1} MiB", mib(held)))
    );
    let peak_held = peak_held.expect("the server reports the bytes it holds");
    let budget = (connections * 1024 * 1024) as f64;
    assert!(
        peak_held <= budget,
        "held {peak_held} bytes, over {connections} budgets"
    );
    assert!(
        peak_resident < 100 * 1024 * 1024,
        "the server's memory grew to {:.1} MiB",
        mib(peak_resident as f64)
    );
}

/// The database's files on disk (the main file and its write-ahead log).
fn database_bytes(parley: &ParleyProcess) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut path = parley.database.clone().into_os_string();
            path.push(suffix);
            std::fs::metadata(path).ok().map(|m| m.len())
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_flood_from_one_address_adds_little_to_the_disk_and_history_stays_whole() {
    let parley = ParleyProcess::start(&[]);
    let everyone = four_meetings_of_eight(&parley).await;
    // The first meeting already has a long chat, written as a long meeting would.
    let first_room = everyone[0].1.clone();
    let store = server::store::RoomStore::open(&common::database_url(parley.database.clone()))
        .await
        .unwrap();
    for n in 0..210 {
        store
            .add_chat(
                &first_room,
                PeerId(1),
                "Ada",
                &format!("earlier {n}"),
                std::time::SystemTime::now(),
                200,
            )
            .await
            .unwrap();
    }
    let before = database_bytes(&parley);

    // Every connection sends a 2,000-character message twice a second for 10 s, and
    // counts what the server takes (its own message comes back) and refuses.
    let flood_for = Duration::from_secs(10);
    let mut floods = Vec::new();
    for (index, (mut client, _, _)) in everyone.into_iter().enumerate() {
        floods.push(tokio::spawn(async move {
            let (mut taken, mut refused) = (0, 0);
            let started = Instant::now();
            let mut n = 0;
            while started.elapsed() < flood_for {
                let text = format!("{index}-{n} {}", "x".repeat(1990));
                n += 1;
                client
                    .send_json(json!({"type": "chat", "text": text}))
                    .await;
                // Read what came meanwhile (the others' messages too).
                let wait_until = tokio::time::Instant::now() + Duration::from_millis(500);
                while let Ok(message) = tokio::time::timeout_at(wait_until, client.recv()).await {
                    match message {
                        ServerMessage::Chat { message } if message.text == text => taken += 1,
                        ServerMessage::Error { .. } => refused += 1,
                        _ => {}
                    }
                }
            }
            // Leaving makes room for the late joiner.
            client.send(&ClientMessage::Leave).await;
            (taken, refused)
        }));
    }
    let (mut taken, mut refused) = (0, 0);
    for flood in floods {
        let (t, r) = flood.await.unwrap();
        taken += t;
        refused += r;
    }
    let history = store.chat_history(&first_room, 1000).await.unwrap();
    let after = database_bytes(&parley);
    let growth = after.saturating_sub(before);
    println!(
        "chat flood from one address, {} s: {taken} messages taken, {refused} refused; database files {before} -> {after} bytes (+{growth})",
        flood_for.as_secs()
    );
    assert!(taken > 0, "some chat was taken");
    assert!(
        growth < 4 * 1024 * 1024,
        "the database grew by {growth} bytes"
    );

    // A late joiner sees the first meeting's latest 200 messages, ending with the
    // newest the flood left there.
    let mut late = Client::connect(&parley.ws_url()).await;
    let seen = late.join(&first_room, "Late").await.chat;
    assert_eq!(seen.len(), 200);
    assert_eq!(history.len(), 200, "the meeting keeps 200 on disk");
    let newest = history.last().unwrap();
    assert_eq!(seen.last().unwrap(), newest);
    assert!(
        newest.text.starts_with(|c: char| c.is_ascii_digit()),
        "the flood's own"
    );
}
