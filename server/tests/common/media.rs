//! A participant's media side for tests: a str0m `Rtc` on its own UDP socket, as a
//! browser would be, that offers one audio track (and, asked, one video track), sends
//! made-up Opus frames (and VP8 frames of a few packets each) and counts what it
//! receives. It can lose some of the media packets that come to it, as a lossy link.

use app::protocol::SIMULCAST_LAYERS;
use app::protocol::{ClientMessage, ServerMessage, SlotCarries};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

use super::client::Client;
use super::frames::{
    lost_here, picture, tagged_frame, vp8_keyframe, SIMULCAST_FRAMES, VIDEO_FRAME_BYTES,
};
use super::link::NarrowLink;
use super::TestServer;
use server::config::SfuListen;

pub struct MediaClient {
    pub rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// The track it sends on.
    mid: Option<Mid>,
    /// Its video track, if it sends video.
    video_mid: Option<Mid>,
    /// Whether that video goes in three simulcast layers (`SIMULCAST_FRAMES`).
    simulcast: bool,
    /// A narrow link in front of it: what comes to it passes this first.
    pub link: Option<NarrowLink>,
    video_sent: u64,
    last_video_sent: Option<Instant>,
    /// Loses every this-many-th video packet that comes to it (`None`: none).
    pub lose_every: Option<usize>,
    /// Loses every this-many-th video packet it sends (`None`: none).
    pub lose_sent_every: Option<usize>,
    sent_packets: usize,
    /// Video packets lost on purpose, both ways.
    pub lost: usize,
    /// Video packets that came to it.
    passed: usize,
    /// Its latest bandwidth estimate, bits a second (when it estimates).
    pub estimate: Option<u64>,
    /// Resends it asked for (NACKs), by track: its latest statistics.
    nacks: std::collections::HashMap<Mid, u64>,
    pending: Option<SdpPendingOffer>,
    /// What it sends in each frame: its name, then the frame's number.
    tag: Vec<u8>,
    sent: u64,
    last_sent: Option<Instant>,
    /// Frames received, by their tag.
    pub received: Vec<Vec<u8>>,
    /// Offers the server made (slots or presentations added or stopped).
    pub offers: usize,
    /// The m-lines of the server's last offer.
    pub offered_lines: usize,
    /// What the server said its receive slots carry, in order (`sfu_slots`).
    pub slot_news: Vec<SlotCarries>,
    pub connected: bool,
}

impl MediaClient {
    pub async fn new(tag: &str) -> Self {
        Self::build(tag, None).await
    }

    /// One that estimates its bandwidth to the server from the server's transport-wide
    /// feedback, starting at `initial` bits a second and probing towards 2 Mbit/s.
    pub async fn estimating(tag: &str, initial: u64) -> Self {
        Self::build(tag, Some(initial)).await
    }

    async fn build(tag: &str, estimate_from: Option<u64>) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .set_stats_interval(Some(Duration::from_millis(250)))
            .enable_bwe(estimate_from.map(Bitrate::bps))
            .build(Instant::now());
        if let Some(initial) = estimate_from {
            rtc.bwe()
                .set_bitrate(Bitrate::bps(initial), Bitrate::mbps(2));
        }
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        Self {
            rtc,
            socket,
            local,
            mid: None,
            video_mid: None,
            simulcast: false,
            link: None,
            video_sent: 0,
            last_video_sent: None,
            lose_every: None,
            lose_sent_every: None,
            sent_packets: 0,
            lost: 0,
            passed: 0,
            nacks: Default::default(),
            estimate: None,
            pending: None,
            tag: tag.as_bytes().to_vec(),
            sent: 0,
            last_sent: None,
            received: Vec::new(),
            offers: 0,
            offered_lines: 0,
            slot_news: Vec::new(),
            connected: false,
        }
    }

    /// Its offer: one audio track, sent and received.
    pub fn offer(&mut self) -> String {
        let mut change = self.rtc.sdp_api();
        self.mid = Some(change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None));
        let (offer, pending) = change.apply().expect("an offer");
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    /// Its offer with a video track too (in simulcast layers, if asked).
    pub fn offer_with_video(&mut self, simulcast: bool) -> String {
        let mut change = self.rtc.sdp_api();
        self.mid = Some(change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None));
        let layers = simulcast.then(|| {
            let mut layers = Simulcast::new();
            for rid in SIMULCAST_LAYERS {
                layers.add_send_layer(SimulcastLayer::new(rid));
            }
            layers
        });
        self.simulcast = simulcast;
        self.video_mid =
            Some(change.add_media(MediaKind::Video, Direction::SendRecv, None, None, layers));
        let (offer, pending) = change.apply().expect("an offer");
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    pub fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).expect("an SDP answer");
        let pending = self.pending.take().expect("an offer out");
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    pub fn answer_offer(&mut self, sdp: &str) -> String {
        self.offers += 1;
        self.offered_lines = sdp.lines().filter(|line| line.starts_with("m=")).count();
        let offer = SdpOffer::from_sdp_string(sdp).expect("an SDP offer");
        self.rtc
            .sdp_api()
            .accept_offer(offer)
            .unwrap()
            .to_sdp_string()
    }

    /// Opens its media connection over `signaling`: offer, answer.
    pub async fn open(&mut self, signaling: &mut Client) {
        let sdp = self.offer();
        self.open_with(signaling, sdp).await;
    }

    /// Opens its media connection with a video track too.
    pub async fn open_with_video(&mut self, signaling: &mut Client) {
        let sdp = self.offer_with_video(false);
        self.open_with(signaling, sdp).await;
    }

    /// Opens its media connection with a camera in three simulcast layers.
    pub async fn open_with_simulcast(&mut self, signaling: &mut Client) {
        let sdp = self.offer_with_video(true);
        self.open_with(signaling, sdp).await;
    }

    async fn open_with(&mut self, signaling: &mut Client, sdp: String) {
        signaling.send(&ClientMessage::SfuOffer { sdp }).await;
        loop {
            match signaling.recv().await {
                ServerMessage::SfuAnswer { sdp } => return self.accept_answer(&sdp),
                ServerMessage::Error { code, message } => panic!("{code:?}: {message}"),
                _ => continue,
            }
        }
    }

    /// Runs for `length`: answers the server's offers, sends a frame every 20 ms
    /// when `sending`, and keeps what arrives.
    pub async fn run(&mut self, signaling: &mut Client, length: Duration, sending: bool) {
        let end = Instant::now() + length;
        let mut buf = vec![0u8; 2_000];
        while Instant::now() < end {
            let mut wait = self.drive(sending);
            if let Some(next) = self.link.as_ref().and_then(NarrowLink::next_through) {
                wait = wait.min(next);
            }
            let wait = wait.min(end).saturating_duration_since(Instant::now());
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    if let Ok((len, source)) = received {
                        match &mut self.link {
                            Some(link) => link.offer(&buf[..len], source, Instant::now()),
                            None => self.arrive(&buf[..len], source),
                        }
                    }
                }
                message = signaling.try_recv(wait) => match message {
                    Some(ServerMessage::SfuOffer { sdp }) => {
                        let sdp = self.answer_offer(&sdp);
                        signaling.send(&ClientMessage::SfuAnswer { sdp }).await;
                    }
                    Some(ServerMessage::SfuSlots { slots }) => self.slot_news.extend(slots),
                    _ => {}
                },
            }
            while let Some((datagram, source)) = self
                .link
                .as_mut()
                .and_then(|link| link.through(Instant::now()))
            {
                self.arrive(&datagram, source);
            }
            self.rtc
                .handle_input(Input::Timeout(Instant::now()))
                .unwrap();
        }
    }

    /// A datagram reaches it (unless it is one its link loses).
    fn arrive(&mut self, datagram: &[u8], source: SocketAddr) {
        if self.connected
            && self
                .lose_every
                .is_some_and(|every| lost_here(datagram, &mut self.passed, every))
        {
            self.lost += 1;
            return;
        }
        if let Ok(contents) = datagram.try_into() {
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.local,
                    contents,
                },
            );
            self.rtc.handle_input(input).unwrap();
        }
    }

    /// Sends a video frame when one is due: `VIDEO_FRAME_BYTES` (several packets),
    /// its tag and number first, 30 a second.
    fn send_video(&mut self, now: Instant) {
        let due = self
            .last_video_sent
            .is_none_or(|at| now - at >= Duration::from_millis(33));
        let Some(mid) = self.video_mid.filter(|_| due && self.connected) else {
            return;
        };
        let pt = self
            .rtc
            .writer(mid)
            .and_then(|writer| writer.payload_params().next().map(|p| p.pt()));
        let Some(pt) = pt else {
            return;
        };
        let time = MediaTime::from_millis(self.video_sent * 33)
            .rebase(str0m::media::Frequency::NINETY_KHZ);
        let frames: Vec<(Option<Rid>, Vec<u8>)> = if self.simulcast {
            // Every frame a keyframe (a layer may be switched to at any frame).
            SIMULCAST_LAYERS
                .iter()
                .zip(SIMULCAST_FRAMES)
                .map(|(rid, (height, bytes))| (Some(Rid::from(*rid)), vp8_keyframe(height, bytes)))
                .collect()
        } else {
            vec![(None, tagged_frame(&self.tag, self.video_sent))]
        };
        for (rid, frame) in frames {
            let Some(mut writer) = self.rtc.writer(mid) else {
                return;
            };
            if let Some(rid) = rid {
                writer = writer.rid(rid);
            }
            writer.write(pt, now, time, frame).unwrap();
        }
        self.video_sent += 1;
        self.last_video_sent = Some(now);
    }

    /// Sends what is due and handles output; returns when next to wake.
    fn drive(&mut self, sending: bool) -> Instant {
        let now = Instant::now();
        if sending {
            self.send_video(now);
        }
        if sending
            && self.connected
            && self
                .last_sent
                .is_none_or(|at| now - at >= Duration::from_millis(20))
        {
            if let Some(mid) = self.mid {
                if let Some(writer) = self.rtc.writer(mid) {
                    let pt = writer.payload_params().next().map(|p| p.pt());
                    if let Some(pt) = pt {
                        let mut frame = self.tag.clone();
                        frame.extend_from_slice(&self.sent.to_be_bytes());
                        let time = MediaTime::from_millis(self.sent * 20)
                            .rebase(str0m::media::Frequency::FORTY_EIGHT_KHZ);
                        writer.write(pt, now, time, frame).unwrap();
                        self.sent += 1;
                        self.last_sent = Some(now);
                    }
                }
            }
        }
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(at) => return at.min(now + Duration::from_millis(20)),
                Output::Transmit(transmit) => {
                    if self.connected
                        && self.lose_sent_every.is_some_and(|every| {
                            lost_here(&transmit.contents, &mut self.sent_packets, every)
                        })
                    {
                        self.lost += 1;
                        continue;
                    }
                    let _ = self
                        .socket
                        .try_send_to(&transmit.contents, transmit.destination);
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaData(data)) => self.received.push(data.data.to_vec()),
                Output::Event(Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })) => {
                    self.estimate = Some(estimate.as_u64());
                }
                Output::Event(Event::MediaIngressStats(stats)) => {
                    self.nacks.insert(stats.mid, stats.nacks);
                }
                Output::Event(_) => {}
            }
        }
    }

    /// Resends it asked for (NACKs), all tracks together.
    pub fn nacks_sent(&self) -> u64 {
        self.nacks.values().sum()
    }

    /// Whole video frames received whose tag is `tag` (every byte there).
    pub fn video_received_from(&self, tag: &str) -> usize {
        self.received
            .iter()
            .filter(|frame| {
                frame.len() == VIDEO_FRAME_BYTES && picture(frame).starts_with(tag.as_bytes())
            })
            .count()
    }

    /// Frames received whose tag is `tag`.
    pub fn received_from(&self, tag: &str) -> usize {
        self.received
            .iter()
            .filter(|frame| picture(frame).starts_with(tag.as_bytes()))
            .count()
    }
}

/// A Parley with a media port of its own (on a free loopback port).
pub async fn media_server() -> TestServer {
    TestServer::fresh_tuned(|config| {
        config.signaling.sfu_listen = SfuListen::At(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await
}

/// Runs both participants' media side by side for `length`.
pub async fn run_both(
    a: (&mut MediaClient, &mut Client),
    b: (&mut MediaClient, &mut Client),
    length: Duration,
) {
    tokio::join!(a.0.run(a.1, length, true), b.0.run(b.1, length, true));
}
