//! The receive slots of a participant's connection to the media port: people coming
//! and going change what the slots carry, not the connection (no new offer), a
//! slot freed by someone who left carries the next to come, and the server says who
//! each slot carries (`sfu_slots`) when their media starts on it. (str0m as the
//! participants, as in sfu.rs.)

mod common;

use app::protocol::{ClientMessage, PeerId, SlotCarries};
use common::client::Client;
use common::media::{media_server, MediaClient};
use std::time::Duration;

/// Who `news` says slot `mid` carried, in turn.
fn carried_by(news: &[SlotCarries], mid: &str) -> Vec<Option<PeerId>> {
    news.iter()
        .filter(|n| n.mid == mid)
        .map(|n| n.peer)
        .collect()
}

/// The slot `news` last said carries `peer`.
fn slot_of(news: &[SlotCarries], peer: PeerId) -> Option<String> {
    news.iter()
        .rev()
        .find(|n| n.peer == Some(peer))
        .map(|n| n.mid.clone())
}

/// Everyone runs `secs` together, sending.
async fn run_all(people: &mut [(Client, MediaClient, PeerId)], secs: u64) {
    let runs = people
        .iter_mut()
        .map(|(signaling, media, _)| media.run(signaling, Duration::from_secs(secs), true));
    futures_util::future::join_all(runs).await;
}

#[tokio::test]
async fn people_coming_and_going_change_what_the_slots_carry_not_the_connection() {
    let server = media_server().await;
    let room = server.create_room("Slots").await;
    let mut people: Vec<(Client, MediaClient, PeerId)> = Vec::new();
    for name in ["ada", "bob", "cy"] {
        let mut signaling = server.connect().await;
        let id = signaling.join(&room, name).await.you;
        let mut media = MediaClient::new(name).await;
        media.open_with_video(&mut signaling).await;
        people.push((signaling, media, id));
    }
    run_all(&mut people, 3).await;
    let (ada, bob, cy) = (people[0].2, people[1].2, people[2].2);
    let ada_media = &people[0].1;
    let offers_at_three = ada_media.offers;
    let lines_at_three = ada_media.offered_lines;
    eprintln!(
        "three in the meeting: {offers_at_three} offers to Ada, {lines_at_three} lines; slots: {:?}",
        ada_media.slot_news
    );
    assert!(
        ada_media.video_received_from("bob") > 30,
        "Bob's video plays"
    );
    assert!(ada_media.video_received_from("cy") > 30, "Cy's video plays");
    let bobs_slot = slot_of(&ada_media.slot_news, bob).expect("a slot said to carry Bob");
    assert!(slot_of(&ada_media.slot_news, cy).is_some(), "and one Cy");
    assert_eq!(
        slot_of(&ada_media.slot_news, ada),
        None,
        "none carries Ada herself"
    );

    // Bob leaves, Dee comes: her camera takes Bob's slot, with no new offer.
    let (mut bob_signaling, _, _) = people.remove(1);
    bob_signaling.send(&ClientMessage::Leave).await;
    let mut signaling = server.connect().await;
    let dee = signaling.join(&room, "dee").await.you;
    let mut media = MediaClient::new("dee").await;
    media.open_with_video(&mut signaling).await;
    people.push((signaling, media, dee));
    run_all(&mut people, 3).await;

    let ada_media = &people[0].1;
    eprintln!(
        "Bob left, Dee came: {} offers to Ada; slot {bobs_slot} carried {:?}",
        ada_media.offers,
        carried_by(&ada_media.slot_news, &bobs_slot)
    );
    assert!(
        ada_media.video_received_from("dee") > 30,
        "Dee's video plays"
    );
    assert_eq!(
        ada_media.offers, offers_at_three,
        "coming and going renegotiated nothing"
    );
    let history = carried_by(&ada_media.slot_news, &bobs_slot);
    let gone = history.iter().position(Option::is_none);
    assert!(
        gone.is_some_and(|at| history[at..].contains(&Some(dee))),
        "Bob's slot said nobody, then Dee: {history:?}"
    );
    let cys_slot = slot_of(&ada_media.slot_news, cy).expect("Cy's slot");
    assert_eq!(
        carried_by(&ada_media.slot_news, &cys_slot),
        vec![Some(cy)],
        "Cy kept hers throughout"
    );
}
