//! One participant's WebSocket: reads and checks what they send, and writes what the
//! room sends them from their bounded outbox, with heartbeats.

use super::hub::{encode, Delivery, Kick, Outbox, OutboxReceiver, Room};
use super::limits::{ConnectionSlot, RateLimiter};
use super::Signaling;
use app::protocol::{
    clean_display_name, ClientMessage, ErrorCode, LeaveReason, MediaState, PeerId, PeerInfo,
    ServerMessage, Signal, MAX_DISPLAY_NAME_CHARS, PROTOCOL_VERSION,
};
use app::room_code::RoomCode;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{timeout, Instant, MissedTickBehavior};

/// How long the writer may take to flush what is queued once the reader is done.
const WRITER_GRACE: Duration = Duration::from_secs(2);

/// How a connection ends: what the room is told and what close frame is sent.
struct Ending {
    reason: LeaveReason,
    close: Option<(u16, &'static str)>,
}

impl Ending {
    fn left() -> Self {
        Self {
            reason: LeaveReason::Left,
            close: Some((close_code::NORMAL, "goodbye")),
        }
    }
}

/// Serves one WebSocket until it closes. `_slot` holds its place in the per-address count.
pub async fn serve(socket: WebSocket, signaling: Arc<Signaling>, _slot: ConnectionSlot) {
    let id = signaling.hub.next_peer_id();
    let (outbox, receiver) = Outbox::new(signaling.limits.outgoing_queue);
    let (sink, mut stream) = socket.split();
    let mut writer = tokio::spawn(write_loop(
        sink,
        receiver,
        signaling.limits.heartbeat_interval,
    ));
    let mut session = Session {
        id,
        limiter: RateLimiter::new(signaling.limits.max_messages_per_second),
        last_rate_error: None,
        room: None,
        outbox,
        signaling,
    };
    tracing::debug!(peer = %id, "signaling connection opened");
    let ending = session.read_loop(&mut stream).await;

    if let Some(room) = session.room.take() {
        session
            .signaling
            .hub
            .leave(&room, session.id, ending.reason);
        tracing::info!(room = %room.code(), peer = %id, reason = %ending.reason.as_str(), "participant left");
        session.signaling.touch(room.code()).await;
    }
    // Closing the outbox lets the writer finish what is queued and hand the socket back.
    drop(session);
    match timeout(WRITER_GRACE, &mut writer).await {
        Ok(Ok(Some(mut sink))) => {
            if let Some((code, reason)) = ending.close {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                if sink.send(Message::Close(Some(frame))).await.is_ok() {
                    // Finish the closing handshake: wait for the client's own close, so
                    // the socket is not torn down under data it has yet to read.
                    let _ = timeout(WRITER_GRACE, async {
                        while let Some(Ok(frame)) = stream.next().await {
                            if let Message::Close(_) = frame {
                                break;
                            }
                        }
                    })
                    .await;
                }
            }
        }
        Ok(_) => {}
        // Stuck writing to a peer that stopped reading: drop the socket.
        Err(_) => writer.abort(),
    }
    tracing::debug!(peer = %id, "signaling connection closed");
}

/// Sends queued messages and pings until the queue closes. Returns the socket for a
/// final close frame, or `None` when it was kicked or broke.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut receiver: OutboxReceiver,
    ping_every: Duration,
) -> Option<SplitSink<WebSocket, Message>> {
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let sent = tokio::select! {
            biased;
            // An error here means the outbox is gone, which the queue reports too.
            Ok(()) = receiver.kick.changed() => {
                let Some(Kick::TooSlow) = *receiver.kick.borrow() else { continue };
                let frame = CloseFrame {
                    code: close_code::POLICY,
                    reason: Utf8Bytes::from_static("too slow: messages were piling up"),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return None;
            }
            frame = receiver.queue.recv() => match frame {
                Some(frame) => sink.send(Message::Text(frame)).await,
                None => return Some(sink),
            },
            _ = ping.tick() => sink.send(Message::Ping(Default::default())).await,
        };
        if sent.is_err() {
            return None;
        }
    }
}

fn frame_len(frame: &Message) -> usize {
    match frame {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 0,
    }
}

struct Session {
    id: PeerId,
    signaling: Arc<Signaling>,
    outbox: Outbox,
    limiter: RateLimiter,
    last_rate_error: Option<Instant>,
    room: Option<Arc<Room>>,
}

impl Session {
    async fn read_loop(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        let mut kicked = self.outbox_kick();
        let idle_limit = self.signaling.limits.heartbeat_timeout;
        loop {
            let next = tokio::select! {
                _ = kicked.changed() => {
                    return Ending { reason: LeaveReason::Dropped, close: None };
                }
                next = timeout(idle_limit, stream.next()) => next,
            };
            let frame = match next {
                Err(_) => {
                    tracing::info!(peer = %self.id, "no heartbeat, dropping the connection");
                    return Ending {
                        reason: LeaveReason::TimedOut,
                        close: Some((close_code::AWAY, "no heartbeat")),
                    };
                }
                Ok(None) => return Ending::left(),
                Ok(Some(Err(error))) => return self.read_failed(error),
                Ok(Some(Ok(frame))) => frame,
            };
            if frame_len(&frame) > self.signaling.limits.max_frame_bytes {
                return self.too_large();
            }
            let flow = match frame {
                Message::Text(text) => {
                    if self.within_rate() {
                        self.handle_text(text.as_str()).await
                    } else {
                        ControlFlow::Continue(())
                    }
                }
                Message::Binary(_) => {
                    if self.within_rate() {
                        self.refuse(
                            ErrorCode::BadMessage,
                            "binary frames are not used: send JSON text",
                        );
                    }
                    ControlFlow::Continue(())
                }
                Message::Ping(_) | Message::Pong(_) => ControlFlow::Continue(()),
                Message::Close(_) => ControlFlow::Break(Ending::left()),
            };
            if let ControlFlow::Break(ending) = flow {
                return ending;
            }
        }
    }

    fn outbox_kick(&self) -> tokio::sync::watch::Receiver<Option<Kick>> {
        self.outbox.kick_watch()
    }

    /// A read error: an oversized frame is answered and closed with 1009; anything
    /// else means the connection is gone.
    fn read_failed(&mut self, error: axum::Error) -> Ending {
        let inner = error.into_inner();
        match inner.downcast_ref::<tungstenite::Error>() {
            Some(tungstenite::Error::Capacity(capacity)) => {
                tracing::debug!(peer = %self.id, %capacity, "frame far too large");
                self.too_large()
            }
            _ => {
                tracing::debug!(peer = %self.id, error = %inner, "signaling connection lost");
                Ending {
                    reason: LeaveReason::Left,
                    close: None,
                }
            }
        }
    }

    /// Says why, then ends the connection with 1009.
    fn too_large(&mut self) -> Ending {
        tracing::info!(peer = %self.id, "frame too large, closing");
        self.refuse(
            ErrorCode::FrameTooLarge,
            format!(
                "messages may be at most {} bytes",
                self.signaling.limits.max_frame_bytes
            ),
        );
        Ending {
            reason: LeaveReason::Dropped,
            close: Some((close_code::SIZE, "frame too large")),
        }
    }

    /// Counts a message against the rate limit; over it, the message is dropped and
    /// the client told (at most once a second, so the telling cannot flood either).
    fn within_rate(&mut self) -> bool {
        if self.limiter.allow() {
            return true;
        }
        let now = Instant::now();
        if self
            .last_rate_error
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            self.last_rate_error = Some(now);
            tracing::info!(peer = %self.id, "rate limited");
            self.refuse(
                ErrorCode::RateLimited,
                format!(
                    "too many messages: at most {} a second; messages are being dropped",
                    self.signaling.limits.max_messages_per_second
                ),
            );
        }
        false
    }

    async fn handle_text(&mut self, text: &str) -> ControlFlow<Ending> {
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(error) => {
                self.refuse(
                    ErrorCode::BadMessage,
                    format!("could not read the message: {error}"),
                );
                return ControlFlow::Continue(());
            }
        };
        match message {
            ClientMessage::Join {
                version,
                room,
                name,
                media,
            } => self.join(version, room, &name, media).await,
            ClientMessage::Signal { to, signal } => self.signal(to, signal),
            ClientMessage::Media { media } => self.media(media),
            ClientMessage::Leave => return ControlFlow::Break(Ending::left()),
        }
        ControlFlow::Continue(())
    }

    async fn join(&mut self, version: u32, code: RoomCode, name: &str, media: MediaState) {
        if self.room.is_some() {
            return self.refuse(
                ErrorCode::AlreadyJoined,
                "this connection is already in a meeting",
            );
        }
        if version != PROTOCOL_VERSION {
            return self.refuse(
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}, not {version}: reload the page"),
            );
        }
        let Some(name) = clean_display_name(name) else {
            return self.refuse(
                ErrorCode::BadName,
                format!("a name needs 1 to {MAX_DISPLAY_NAME_CHARS} characters"),
            );
        };
        // Checks the room exists and records the activity in one query.
        match self.signaling.store.touch(&code).await {
            Ok(true) => {}
            Ok(false) => {
                return self.refuse(
                    ErrorCode::RoomNotFound,
                    format!("there is no meeting {code}"),
                )
            }
            Err(error) => {
                tracing::error!(%error, room = %code, "could not look a room up");
                return self.refuse(
                    ErrorCode::Internal,
                    "could not look the meeting up, try again",
                );
            }
        }
        let id = self.id;
        let ice = &self.signaling.ice;
        let me = PeerInfo { id, name, media };
        let welcome = |peers| ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            you: id,
            room: code.clone(),
            peers,
            ice_servers: ice.for_peer(id),
            ice_transport_policy: ice.policy(),
        };
        match self
            .signaling
            .hub
            .join(&code, me, self.outbox.clone(), welcome)
        {
            Ok(room) => {
                tracing::info!(room = %code, peer = %id, "participant joined");
                self.room = Some(room);
            }
            Err(error) => self.refuse(ErrorCode::RoomFull, error.to_string()),
        }
    }

    fn signal(&mut self, to: PeerId, signal: Signal) {
        let Some(room) = &self.room else {
            return self.refuse(ErrorCode::NotJoined, "join a meeting before signaling");
        };
        let relayed = ServerMessage::Signal {
            from: self.id,
            signal,
        };
        if to == self.id || room.send_to(to, &relayed).is_none() {
            self.refuse(
                ErrorCode::UnknownPeer,
                format!("peer {to} is not in this meeting"),
            );
        }
    }

    fn media(&mut self, media: MediaState) {
        let Some(room) = &self.room else {
            return self.refuse(
                ErrorCode::NotJoined,
                "join a meeting before sharing media state",
            );
        };
        room.update_media(self.id, media);
        room.broadcast(
            self.id,
            &ServerMessage::Media {
                from: self.id,
                media,
            },
        );
    }

    /// Tells the client why something it sent was refused.
    fn refuse(&self, code: ErrorCode, message: impl Into<String>) {
        let message = message.into();
        tracing::debug!(peer = %self.id, ?code, %message, "refused");
        if self
            .outbox
            .send(encode(&ServerMessage::error(code, message)))
            == Delivery::Overflow
        {
            self.outbox.kick(Kick::TooSlow);
        }
    }
}
