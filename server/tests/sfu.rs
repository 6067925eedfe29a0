//! The media port with real WebRTC on both ends (str0m as the participants): what one
//! sends reaches the others in the meeting through the server, and nobody else; it
//! stops when they leave or are removed; noise on the port harms nobody. (How it copes
//! with the links to it, lossy or narrow: media_links.rs.)

mod common;

use app::protocol::{ClientMessage, ErrorCode};
use common::media::{media_server, run_both, MediaClient};
use common::TestServer;
use server::config::SfuListen;
use std::net::SocketAddr;
use std::time::Duration;

/// After `sender` stopped counting (left, removed): lets what was on its way arrive
/// (2 s), then for 1 s more has `sender` keep sending. Returns how many of `tag`'s
/// frames `listener` had before and after that second.
async fn frames_in_a_second_more(
    sender: (&mut MediaClient, &mut common::client::Client),
    listener: (&mut MediaClient, &mut common::client::Client),
    tag: &str,
) -> (usize, usize) {
    // Two seconds for the removal to take effect and what was under way to arrive (a
    // machine busy with the rest of the suite has taken over one).
    tokio::join!(
        sender.0.run(sender.1, Duration::from_secs(2), true),
        listener.0.run(listener.1, Duration::from_secs(2), false),
    );
    let before = listener.0.received_from(tag);
    tokio::join!(
        sender.0.run(sender.1, Duration::from_secs(1), true),
        listener.0.run(listener.1, Duration::from_secs(1), false),
    );
    (before, listener.0.received_from(tag))
}

#[tokio::test]
async fn media_reaches_the_others_in_the_meeting_through_the_server() {
    let server = media_server().await;
    let room = server.create_room("Forwarded").await;
    let other_room = server.create_room("Elsewhere").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    let mut eve = server.connect().await;
    eve.join(&other_room, "Eve").await;

    let mut ada_media = MediaClient::new("ada").await;
    ada_media.open(&mut ada).await;
    let mut bob_media = MediaClient::new("bob").await;
    bob_media.open(&mut bob).await;
    let mut eve_media = MediaClient::new("eve").await;
    eve_media.open(&mut eve).await;

    let length = Duration::from_secs(4);
    tokio::join!(
        ada_media.run(&mut ada, length, true),
        bob_media.run(&mut bob, length, true),
        eve_media.run(&mut eve, length, true),
    );
    // 20 ms frames for about 3 s once connected: most of them arrive.
    let (to_bob, to_ada) = (
        bob_media.received_from("ada"),
        ada_media.received_from("bob"),
    );
    eprintln!("through the server: Bob got {to_bob} of Ada's frames, Ada {to_ada} of Bob's");
    assert!(to_bob > 50, "Bob got {to_bob} of Ada's frames");
    assert!(to_ada > 50, "Ada got {to_ada} of Bob's frames");
    assert_eq!(ada_media.received_from("ada"), 0, "nobody hears themselves");
    assert_eq!(eve_media.received.len(), 0, "another meeting hears nothing");
    assert!(
        bob_media.offers >= 1,
        "the server offered Ada's track to Bob"
    );
}

#[tokio::test]
async fn leaving_stops_the_media() {
    let server = media_server().await;
    let room = server.create_room("Short").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    let mut ada_media = MediaClient::new("ada").await;
    ada_media.open(&mut ada).await;
    let mut bob_media = MediaClient::new("bob").await;
    bob_media.open(&mut bob).await;
    run_both(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        Duration::from_secs(3),
    )
    .await;
    assert!(bob_media.received_from("ada") > 20);

    ada.send(&ClientMessage::Leave).await;
    // Ada's side goes on sending into the port; none of it reaches Bob any more.
    let (before, after) = frames_in_a_second_more(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        "ada",
    )
    .await;
    assert_eq!(after, before, "nothing after she left");
}

#[tokio::test]
async fn noise_on_the_media_port_harms_nobody() {
    let server = media_server().await;
    let port = server.media_addr.expect("a media port");
    let room = server.create_room("Noisy").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    let mut ada_media = MediaClient::new("ada").await;
    ada_media.open(&mut ada).await;
    let mut bob_media = MediaClient::new("bob").await;
    bob_media.open(&mut bob).await;

    // Random datagrams, STUN-looking ones cut short or naming nobody, RTP for nobody.
    let noise = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut seed = 7u64;
    let mut random = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 33) as u8
            })
            .collect()
    };
    let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[1; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    stun.extend_from_slice(b"nobody:x");
    for n in 0..3_000 {
        let datagram = match n % 4 {
            0 => random(1 + n % 1_400),
            1 => stun[..n % stun.len()].to_vec(),
            2 => stun.clone(),
            _ => {
                let mut rtp = vec![0x80, 0x6f];
                rtp.extend(random(40));
                rtp
            }
        };
        let _ = noise.send_to(&datagram, port).await;
    }
    run_both(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        Duration::from_secs(3),
    )
    .await;
    assert!(bob_media.received_from("ada") > 20, "the call went on");
}

#[tokio::test]
async fn a_flood_from_one_address_is_cut_to_its_rate_and_the_call_goes_on() {
    let server = TestServer::fresh_tuned(|config| {
        config.signaling.sfu_listen = SfuListen::At(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let port = server.media_addr.expect("a media port");
    let room = server.create_room("Flooded").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut bob = server.connect().await;
    bob.join(&room, "Bob").await;
    let mut ada_media = MediaClient::new("ada").await;
    ada_media.open(&mut ada).await;
    let mut bob_media = MediaClient::new("bob").await;
    bob_media.open(&mut bob).await;
    // The call is up (a flood while a handshake runs fills the socket's buffer and
    // can starve the handshake: that is the network's to stop, not the port's).
    run_both(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        Duration::from_secs(1),
    )
    .await;
    let before = bob_media.received_from("ada");
    assert!(before > 0, "the call is up before the flood");

    // 60,000 datagrams of 1,000 bytes from one address, as fast as it can, while
    // Ada and Bob talk.
    let flood = tokio::spawn(async move {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let datagram = [0x80u8; 1_000];
        for n in 0..60_000u32 {
            let _ = socket.send_to(&datagram, port).await;
            if n % 500 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    run_both(
        (&mut ada_media, &mut ada),
        (&mut bob_media, &mut bob),
        Duration::from_secs(3),
    )
    .await;
    flood.await.unwrap();
    let during = bob_media.received_from("ada") - before;
    println!("flood: Bob got {during} from Ada during it");
    assert!(during > 20, "the call went on");
    let metrics = common::http()
        .get(format!("http://{}/metrics", server.metrics_addr.unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused = common::metric(&metrics, "parley_media_datagrams_refused_total").unwrap_or(0.0);
    println!("flood: {refused} of 60000 datagrams refused");
    assert!(
        refused > 1_000.0,
        "the flood is cut to its rate ({refused} dropped unread)"
    );
}

#[tokio::test]
async fn a_server_without_a_media_port_says_so() {
    let server = TestServer::fresh().await;
    let room = server.create_room("Mesh only").await;
    let mut ada = server.connect().await;
    ada.join(&room, "Ada").await;
    let mut media = MediaClient::new("ada").await;
    let sdp = media.offer();
    ada.send(&ClientMessage::SfuOffer { sdp }).await;
    ada.expect_error(ErrorCode::MediaRefused).await;
    ada.send(&ClientMessage::SfuOffer {
        sdp: "not an sdp".into(),
    })
    .await;
    ada.expect_error(ErrorCode::MediaRefused).await;
}

#[tokio::test]
async fn someone_removed_reaches_nobody_through_the_media_port() {
    let server = media_server().await;
    let (room, host_cookie) = server.create_meeting("Guarded", false).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    host.join(&room, "Hana").await;
    let mut eve = server.connect().await;
    let eve_id = eve.join(&room, "Eve").await.you;
    let mut host_media = MediaClient::new("hana").await;
    host_media.open(&mut host).await;
    let mut eve_media = MediaClient::new("eve").await;
    eve_media.open(&mut eve).await;
    run_both(
        (&mut host_media, &mut host),
        (&mut eve_media, &mut eve),
        Duration::from_secs(3),
    )
    .await;
    assert!(host_media.received_from("eve") > 20);

    host.send(&ClientMessage::Remove { id: eve_id }).await;
    let (before, after) = frames_in_a_second_more(
        (&mut eve_media, &mut eve),
        (&mut host_media, &mut host),
        "eve",
    )
    .await;
    assert_eq!(after, before, "nothing from Eve once removed");
}
