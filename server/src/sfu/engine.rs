//! The media port: one UDP socket for every participant who sends media through the
//! server, and one str0m `Rtc` (ICE-lite) per participant, driven by one task. A packet
//! finds its participant by source address, or (the first time from an address) by the
//! ICE username in its STUN request: two maps, no scan.
//!
//! What arrives from one participant goes to everyone else in their meeting: each
//! receiver's connection has a pool of receive slots (`pool`), lines the server adds
//! a few at a time as the meeting grows (it offers, over signaling, as `sfu_offer`;
//! the participant answers), each carrying one person's camera or microphone at a
//! time (said as `sfu_slots`); a presentation gets a line of its own. Keyframe
//! requests go back to the sender, at most about once a second per track
//! (`keyframes`).
//!
//! A camera sent in simulcast layers reaches each receiver in the layer that fits the
//! tile they show it in (`tiles_shown`) and their bandwidth, chosen every
//! [`CHOOSE_EVERY`] and whenever a receiver's tiles change; a switch waits for a
//! keyframe of the new layer. In a large meeting only the loudest few's audio goes out
//! (`speakers`).

use super::clients::{Client, Gone, KeyframeSource, Propagated, SentCounters};
use super::handle::{Command, SfuError};
use super::keyframes::{KeyframeRequests, DEFAULT_INTERVAL};
use super::limits::{DatagramLimit, DATAGRAMS_PER_SECOND};
use super::speakers::Speakers;
use super::stun;
use super::tracks::TrackOut;
use crate::signaling::hub::Room;
use app::protocol::{PeerId, ServerMessage};
use app::room_code::RoomCode;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpOffer;
use str0m::crypto::CryptoProvider;
use str0m::media::MediaKind;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The largest datagram read (WebRTC keeps under the path MTU; 2000 is ample).
const MAX_DATAGRAM: usize = 2_000;
/// Addresses remembered per participant (ICE may try a few; more are forgotten,
/// oldest first).
const MAX_ADDRESSES: usize = 8;
/// How long the loop sleeps at most when no participant needs it sooner.
const IDLE_TICK: Duration = Duration::from_millis(100);
/// How often every receiver's layers are chosen again (layers come and go as
/// senders' bandwidth changes).
const CHOOSE_EVERY: Duration = Duration::from_millis(250);

mod choosing;

pub(super) struct Engine {
    socket: UdpSocket,
    /// The address browsers are given: their one candidate, and where every
    /// datagram they send is addressed.
    advertised: SocketAddr,
    crypto: Arc<CryptoProvider>,
    clients: HashMap<PeerId, Client>,
    by_addr: HashMap<SocketAddr, PeerId>,
    by_ufrag: HashMap<String, PeerId>,
    keyframes: KeyframeRequests<KeyframeSource>,
    /// When every receiver's layers are chosen next.
    next_choice: Instant,
    /// Each meeting's audio senders, for whose audio is forwarded.
    speakers: HashMap<RoomCode, Speakers<PeerId>>,
    sent: SentCounters,
    /// Datagrams per source.
    limit: DatagramLimit,
    /// What each participant last said it shows (`tiles_shown`), kept apart from their
    /// session: the browser may say it before its session opens here.
    shown: HashMap<PeerId, HashMap<PeerId, u32>>,
}

impl Engine {
    pub(super) fn new(socket: UdpSocket, advertised: SocketAddr) -> Self {
        Self {
            socket,
            advertised,
            crypto: Arc::new(str0m::crypto::from_feature_flags()),
            clients: HashMap::new(),
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            keyframes: KeyframeRequests::new(DEFAULT_INTERVAL),
            next_choice: Instant::now(),
            speakers: HashMap::new(),
            sent: SentCounters::new(),
            limit: DatagramLimit::new(DATAGRAMS_PER_SECOND, Instant::now()),
            shown: HashMap::new(),
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let deadline = self.poll_all();
            let wake = tokio::time::Instant::from_std(deadline.min(Instant::now() + IDLE_TICK));
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => return,
                },
                received = self.socket.recv_from(&mut buf) => {
                    if let Ok((len, source)) = received {
                        self.receive(&buf[..len], source);
                    }
                }
                () = tokio::time::sleep_until(wake) => {}
            }
            let now = Instant::now();
            for client in self.clients.values_mut() {
                if client.wake_at <= now {
                    client.handle(Input::Timeout(now));
                }
            }
            if now >= self.next_choice {
                self.next_choice = now + CHOOSE_EVERY;
                self.choose_layers(now);
            }
            for key in self.keyframes.due(now) {
                self.ask_keyframe(key);
            }
        }
    }

    pub(super) fn want_keyframe(&mut self, source: KeyframeSource, now: Instant) {
        if self.keyframes.want(source, now) {
            self.ask_keyframe(source);
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Open {
                room,
                peer,
                offer,
                reply,
            } => {
                let answer = self.open(room, peer, offer);
                let _ = reply.send(answer);
            }
            Command::Answer { peer, answer } => {
                let Some(client) = self.clients.get_mut(&peer) else {
                    return;
                };
                let now = Instant::now();
                for source in client.accept_answer(answer) {
                    self.want_keyframe(source, now);
                }
                // The cameras just opened start in their layer at once.
                self.choose_layers(now);
            }
            Command::Close { peer } => {
                self.shown.remove(&peer);
                self.remove(peer);
            }
            Command::Show { peer, tiles } => {
                self.shown.insert(peer, tiles.clone());
                if let Some(client) = self.clients.get_mut(&peer) {
                    client.shown = Some(tiles);
                    self.choose_layers(Instant::now());
                }
            }
        }
    }

    fn open(&mut self, room: Arc<Room>, peer: PeerId, offer: SdpOffer) -> Result<(), SfuError> {
        // A participant coming back opens afresh.
        self.remove(peer);
        let mut rtc = Client::session(self.crypto.clone());
        let candidate = Candidate::host(self.advertised, "udp")
            .map_err(|e| SfuError::Refused(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::Refused(e.to_string()))?;
        // Queued before anything the server offers on this connection.
        let sdp = answer.to_sdp_string();
        if room
            .send_to(peer, &ServerMessage::SfuAnswer { sdp })
            .is_none()
        {
            return Err(SfuError::Refused("not in the meeting".into()));
        }
        let mut client = Client::new(peer, room, rtc);
        client.shown = self.shown.get(&peer).cloned();
        // The presentations under way come to the newcomer; the cameras and
        // microphones on their slots, chosen next.
        for other in self.clients.values() {
            if other.room.code() != client.room.code() {
                continue;
            }
            for track in other
                .tracks_in
                .iter()
                .filter(|t| t.presentation && t.forwarded())
            {
                client
                    .tracks_out
                    .push(TrackOut::to_open(other.peer, *track));
            }
        }
        self.next_choice = Instant::now();
        self.by_ufrag.insert(ufrag.clone(), peer);
        client.ufrag = ufrag;
        tracing::info!(room = %client.room.code(), %peer, "media session opened");
        self.clients.insert(peer, client);
        Ok(())
    }

    /// A datagram from `source`: to the participant it belongs to, if any.
    fn receive(&mut self, packet: &[u8], source: SocketAddr) {
        if !self.limit.allows(source, Instant::now()) {
            metrics::counter!(crate::monitoring::MEDIA_DATAGRAMS_REFUSED).increment(1);
            return;
        }
        let peer = match self.by_addr.get(&source) {
            Some(peer) => *peer,
            None => match stun::server_ufrag(packet).and_then(|u| self.by_ufrag.get(u)) {
                Some(peer) => *peer,
                // A stranger, or noise: dropped.
                None => return,
            },
        };
        let Ok(contents) = packet.try_into() else {
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.advertised,
                contents,
            },
        );
        let Some(client) = self.clients.get_mut(&peer) else {
            return;
        };
        if client.rtc.accepts(&input) {
            if self.by_addr.insert(source, peer).is_none() {
                client.addresses.push(source);
                if client.addresses.len() > MAX_ADDRESSES {
                    let oldest = client.addresses.remove(0);
                    self.by_addr.remove(&oldest);
                }
            }
            client.handle(input);
        }
    }

    /// Drives the output of every participant given something since their last poll
    /// until each only waits for time; sends what they transmit and passes on what
    /// they received, and again until nothing more is passed on (so that what was
    /// forwarded goes out now, not at the next wake). Returns when next to wake.
    fn poll_all(&mut self) -> Instant {
        loop {
            let mut next = Instant::now() + IDLE_TICK;
            let mut propagated = Vec::new();
            let mut gone = Vec::new();
            for client in self.clients.values_mut() {
                if !client.dirty {
                    next = next.min(client.wake_at);
                    continue;
                }
                client.dirty = false;
                match client.poll(&self.socket, &self.sent, &mut propagated) {
                    Ok(at) => {
                        client.wake_at = at;
                        next = next.min(at);
                    }
                    Err(Gone) => gone.push(client.peer),
                }
            }
            for peer in gone {
                self.remove(peer);
            }
            if propagated.is_empty() {
                self.tell_slots();
                return next;
            }
            for event in propagated {
                self.propagate(event);
            }
        }
    }

    fn propagate(&mut self, event: Propagated) {
        match event {
            Propagated::TrackOpen { origin, track } => {
                if !track.presentation {
                    // A camera or microphone: the slots carry it, chosen now.
                    self.next_choice = Instant::now();
                    return;
                }
                let Some(code) = self.clients.get(&origin).map(|c| c.room.code().clone()) else {
                    return;
                };
                for client in self.clients.values_mut() {
                    if client.peer != origin && *client.room.code() == code {
                        client.tracks_out.push(TrackOut::to_open(origin, track));
                        client.dirty = true;
                    }
                }
            }
            Propagated::Media { origin, data } => {
                let Some(sender) = self.clients.get(&origin) else {
                    return;
                };
                let code = sender.room.code().clone();
                let Some(kind) = sender
                    .tracks_in
                    .iter()
                    .find(|track| track.mid == data.mid)
                    .map(|track| track.kind)
                else {
                    return;
                };
                if kind == MediaKind::Audio {
                    // In a large meeting only the loudest few are heard.
                    let speakers = self.speakers.entry(code.clone()).or_default();
                    if !speakers.heard(origin, data.ext_vals.audio_level, data.network_time) {
                        return;
                    }
                }
                for client in self.clients.values_mut() {
                    if client.peer != origin && *client.room.code() == code {
                        client.forward(origin, kind, &data);
                    }
                }
            }
            Propagated::KeyframeWanted { source, mid, layer } => {
                self.want_keyframe((source, mid, layer), Instant::now());
            }
        }
    }

    /// Tells each receiver whose slots changed who they carry now.
    fn tell_slots(&mut self) {
        for client in self.clients.values_mut() {
            let slots = client.pool.take_news();
            if !slots.is_empty() {
                // (Gone from the meeting: their session goes at its next poll.)
                let _ = client
                    .room
                    .send_to(client.peer, &ServerMessage::SfuSlots { slots });
            }
        }
    }

    fn ask_keyframe(&mut self, (source, mid, layer): KeyframeSource) {
        if let Some(client) = self.clients.get_mut(&source) {
            client.request_keyframe(mid, layer);
        }
    }

    /// Forgets `peer`: their tracks stop for everyone.
    fn remove(&mut self, peer: PeerId) {
        let Some(mut client) = self.clients.remove(&peer) else {
            return;
        };
        client.rtc.disconnect();
        self.by_ufrag.remove(&client.ufrag);
        for address in &client.addresses {
            self.by_addr.remove(address);
        }
        for track in &client.tracks_in {
            self.keyframes.forget((peer, track.mid, None));
            for layer in 0..app::protocol::SIMULCAST_LAYERS.len() {
                self.keyframes.forget((peer, track.mid, Some(layer)));
            }
        }
        for other in self.clients.values_mut() {
            other.source_gone(peer);
        }
        // Their cameras' slots carry others.
        self.next_choice = Instant::now();
        let code = client.room.code();
        if let Some(speakers) = self.speakers.get_mut(code) {
            speakers.forget(peer);
            if speakers.is_empty() {
                self.speakers.remove(code);
            }
        }
        tracing::info!(room = %client.room.code(), %peer, "media session closed");
    }
}
