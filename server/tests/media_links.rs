//! The links to the media port, with real WebRTC on both ends (str0m as the
//! participants): video lost on either link is sent again (the server answers its
//! receivers' NACKs from its cache and asks senders itself), senders get transport-wide
//! feedback to estimate their bandwidth from, and a receiver on a narrow link gets the
//! simulcast layers its estimated bandwidth carries.

mod common;

use common::frames::{picture, SIMULCAST_FRAMES, VIDEO_FRAME_BYTES};
use common::link::NarrowLink;
use common::media::{media_server, run_both, MediaClient};
use std::time::Duration;

/// The numbers of the first and last of `tag`'s whole video frames `media` received.
fn video_frame_span(media: &MediaClient, tag: &str) -> Option<(u64, u64)> {
    let numbers: Vec<u64> = media
        .received
        .iter()
        .filter(|frame| {
            frame.len() == VIDEO_FRAME_BYTES && picture(frame).starts_with(tag.as_bytes())
        })
        .map(|frame| {
            let at = tag.len();
            u64::from_be_bytes(picture(frame)[at..at + 8].try_into().unwrap())
        })
        .collect();
    Some((*numbers.iter().min()?, *numbers.iter().max()?))
}

/// Ada sends video to Bob through the server for 5 s, one of every ten video packets
/// lost on her way to the server (`uplink`) or on its way to Bob: without packets sent
/// again, about four frames in ten would arrive with a hole (each is four or five
/// packets). Returns the packets lost, the frames whole at Bob, the frames of the span
/// he got, and the resends Bob asked for.
async fn lossy_call(uplink: bool) -> (usize, usize, usize, u64) {
    let server = media_server().await;
    let room = server.create_room("Lossy").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    let mut ada_media = MediaClient::new("ada").await;
    ada_media.open_with_video(&mut ada).await;
    let mut bob_media = MediaClient::new("bob").await;
    bob_media.open(&mut bob).await;
    if uplink {
        ada_media.lose_sent_every = Some(10);
    } else {
        bob_media.lose_every = Some(10);
    }
    run_both(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        Duration::from_secs(5),
    )
    .await;
    let (first, last) = video_frame_span(&bob_media, "ada").expect("Ada's video reached Bob");
    let lost = ada_media.lost + bob_media.lost;
    let asked = if uplink { 0 } else { bob_media.nacks_sent() };
    (
        lost,
        bob_media.video_received_from("ada"),
        (last - first + 1) as usize,
        asked,
    )
}

#[tokio::test]
async fn video_lost_on_the_way_to_a_receiver_is_sent_again_from_the_servers_cache() {
    let (lost, whole, span, asked) = lossy_call(false).await;
    eprintln!(
        "a lossy link to Bob: {lost} video packets lost on the way, {asked} resends asked, {whole} of Ada's {span} frames whole"
    );
    assert!(lost >= 20, "the link lost packets ({lost})");
    assert!(asked > 0, "Bob asked for them again");
    assert!(span >= 60, "about 4 s of video ({span} frames)");
    // (With no feedback reaching the server, 53 of 87 arrived whole.)
    assert!(
        whole * 100 >= span * 97,
        "the server sent the lost packets again: {whole} of {span} frames whole"
    );
}

#[tokio::test]
async fn video_lost_on_the_way_to_the_server_is_asked_of_the_sender_again() {
    let (lost, whole, span, _) = lossy_call(true).await;
    eprintln!("a lossy link from Ada: {lost} video packets lost on the way, {whole} of her {span} frames whole at Bob");
    assert!(lost >= 20, "the link lost packets ({lost})");
    assert!(span >= 60, "about 4 s of video ({span} frames)");
    // (With Ada deaf to the server's requests, 75 of 124 arrived whole.)
    assert!(
        whole * 100 >= span * 97,
        "the server asked Ada for the lost packets: {whole} of {span} frames whole"
    );
}

#[tokio::test]
async fn senders_get_transport_wide_feedback_to_estimate_their_bandwidth_from() {
    // Browsers pace their cameras (and choose their simulcast layers) by what the
    // receiver of their packets, here the server, says of their arrival times.
    let server = media_server().await;
    let room = server.create_room("Feedback").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    let initial = 100_000;
    let mut ada_media = MediaClient::estimating("ada", initial).await;
    ada_media.open_with_video(&mut ada).await;
    let mut bob_media = MediaClient::new("bob").await;
    bob_media.open(&mut bob).await;
    run_both(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        Duration::from_secs(5),
    )
    .await;
    let estimate = ada_media.estimate.expect("an estimate");
    eprintln!(
        "Ada's estimate of her way to the server: {initial} bit/s at first, {estimate} after 5 s"
    );
    // (With no feedback reaching her, it stayed at 100 kbit/s.)
    assert!(
        estimate > 2 * initial,
        "the estimate grew from the server's feedback ({estimate} bit/s)"
    );
}

/// Bob's video frames by simulcast layer (told apart by their sizes), lowest first.
fn frames_by_layer(media: &MediaClient) -> [usize; 3] {
    let mut counts = [0; 3];
    for frame in &media.received {
        if let Some(layer) = SIMULCAST_FRAMES
            .iter()
            .position(|(_, bytes)| *bytes == frame.len())
        {
            counts[layer] += 1;
        }
    }
    counts
}

/// Ada sends her camera in three layers (140, 480 and 1,400 kbit/s) through the server
/// to Bob, whose link carries `link` bits a second (`None`: no limit) and who says
/// nothing of his tiles (so he wants the best). Once he gets layer `fits` (the one his
/// link should carry), or after 40 s at the latest, returns his frames of each layer
/// over the next 4 s and the share of datagrams his link dropped then.
async fn camera_to(link: Option<u64>, fits: usize) -> ([usize; 3], f64) {
    let server = media_server().await;
    let room = server.create_room("Narrow").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    let mut ada_media = MediaClient::new("ada").await;
    ada_media.open_with_simulcast(&mut ada).await;
    let mut bob_media = MediaClient::new("bob").await;
    bob_media.open(&mut bob).await;
    bob_media.link = link.map(NarrowLink::new);
    // The estimate settles, past the first overshoot from 3 Mbit/s and the 2 s a rise
    // must hold after the dip that follows: 12 s on an idle machine. On a busy one the
    // link's timers (in this process) run late, which reads as queueing, and the
    // estimate climbs more slowly: up to 40 s for a second in which layer `fits` is
    // most of what Bob gets...
    let mut settling = Duration::from_secs(10);
    let mut waited = Duration::ZERO;
    loop {
        bob_media.received.clear();
        run_both(
            (&mut ada_media, &mut ada),
            (&mut bob_media, &mut bob),
            settling,
        )
        .await;
        waited += settling;
        let last = frames_by_layer(&bob_media);
        if waited >= Duration::from_secs(40)
            || (waited >= Duration::from_secs(12)
                && last[fits] * 10 >= last.iter().sum::<usize>() * 8)
        {
            break;
        }
        settling = Duration::from_secs(1);
    }
    let limit = link.map_or("no limit".to_string(), |bits| {
        format!("{} kbit/s", bits / 1000)
    });
    eprintln!("{limit}: waited {} s for layer {fits}", waited.as_secs());
    bob_media.received.clear();
    let before = bob_media
        .link
        .as_ref()
        .map_or((0, 0), |l| (l.dropped, l.carried));
    // ...then what he gets.
    run_both(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        Duration::from_secs(4),
    )
    .await;
    let after = bob_media
        .link
        .as_ref()
        .map_or((0, 0), |l| (l.dropped, l.carried));
    let (dropped, carried) = (after.0 - before.0, after.1 - before.1);
    let dropped_share = dropped as f64 / (dropped + carried).max(1) as f64;
    (frames_by_layer(&bob_media), dropped_share)
}

#[tokio::test]
async fn a_receiver_on_a_narrow_link_gets_the_layer_it_carries() {
    // (Three meetings one after another, each its own server. Side by side, on the
    // test's one thread, each made the others' link timers late, and on a busy machine
    // the 900 kbit/s estimate fell to the quarter layer for seconds at a time.)
    let (open, _) = camera_to(None, 2).await;
    let (middle, middle_dropped) = camera_to(Some(900_000), 1).await;
    let (thin, thin_dropped) = camera_to(Some(400_000), 0).await;
    eprintln!(
        "frames of each layer (quarter, half, full) over 4 s: no limit {open:?}; a 900 kbit/s link {middle:?}, {:.1}% of datagrams dropped; 400 kbit/s {thin:?}, {:.1}% dropped",
        middle_dropped * 100.0,
        thin_dropped * 100.0
    );
    // (The test's sender makes about 21 frames a second.)
    assert!(
        open[2] >= 60,
        "with room to spare, the full layer: {open:?}"
    );
    // At 900 kbit/s the full layer (1.4 Mbit/s) does not fit, the half (480) does; at
    // 400 only the quarter (140) does. (After a dip in the estimate the layer below
    // may stand in for up to 2 s: the estimate must hold before layers rise again.)
    assert!(
        middle[0] + middle[1] >= 60,
        "layers that fit 900 kbit/s: {middle:?}"
    );
    assert!(middle[1] >= 30, "mostly the half layer: {middle:?}");
    assert!(middle[2] <= 5, "hardly any of the full layer: {middle:?}");
    assert!(thin[0] >= 60, "the quarter layer over 400 kbit/s: {thin:?}");
    assert!(thin[1] + thin[2] <= 5, "hardly any higher layer: {thin:?}");
    // Within what the links carry: next to nothing dropped.
    for dropped in [middle_dropped, thin_dropped] {
        assert!(
            dropped < 0.05,
            "the link keeps up ({:.1}% dropped)",
            dropped * 100.0
        );
    }
}
