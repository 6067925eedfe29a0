//! A participant's media side for tests: a str0m `Rtc` on its own UDP socket, as a
//! browser would be, that offers one audio track, sends made-up Opus frames and counts
//! what it receives.

use app::protocol::{ClientMessage, ServerMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

use super::client::Client;

pub struct MediaClient {
    pub rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// The track it sends on.
    mid: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    /// What it sends in each frame: its name, then the frame's number.
    tag: Vec<u8>,
    sent: u64,
    last_sent: Option<Instant>,
    /// Frames received, by their tag.
    pub received: Vec<Vec<u8>>,
    /// Offers the server made (tracks added or stopped).
    pub offers: usize,
    pub connected: bool,
}

impl MediaClient {
    pub async fn new(tag: &str) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        Self {
            rtc,
            socket,
            local,
            mid: None,
            pending: None,
            tag: tag.as_bytes().to_vec(),
            sent: 0,
            last_sent: None,
            received: Vec::new(),
            offers: 0,
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

    pub fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).expect("an SDP answer");
        let pending = self.pending.take().expect("an offer out");
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    pub fn answer_offer(&mut self, sdp: &str) -> String {
        self.offers += 1;
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
            let wait = self.drive(sending);
            let wait = wait.min(end).saturating_duration_since(Instant::now());
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    if let Ok((len, source)) = received {
                        if let Ok(contents) = buf[..len].try_into() {
                            let input = Input::Receive(Instant::now(), Receive {
                                proto: Protocol::Udp,
                                source,
                                destination: self.local,
                                contents,
                            });
                            self.rtc.handle_input(input).unwrap();
                        }
                    }
                }
                message = signaling.try_recv(wait) => {
                    if let Some(ServerMessage::SfuOffer { sdp }) = message {
                        let sdp = self.answer_offer(&sdp);
                        signaling.send(&ClientMessage::SfuAnswer { sdp }).await;
                    }
                }
            }
            self.rtc
                .handle_input(Input::Timeout(Instant::now()))
                .unwrap();
        }
    }

    /// Sends what is due and handles output; returns when next to wake.
    fn drive(&mut self, sending: bool) -> Instant {
        let now = Instant::now();
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
                    let _ = self
                        .socket
                        .try_send_to(&transmit.contents, transmit.destination);
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaData(data)) => self.received.push(data.data.to_vec()),
                Output::Event(_) => {}
            }
        }
    }

    /// Frames received whose tag is `tag`.
    pub fn received_from(&self, tag: &str) -> usize {
        self.received
            .iter()
            .filter(|frame| frame.starts_with(tag.as_bytes()))
            .count()
    }
}
