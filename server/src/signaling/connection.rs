//! One participant's WebSocket: reads and checks what they send; its writer
//! (writer.rs) sends what the room sends them from their bounded outbox, with
//! heartbeats.
//!
//! How a connection ends decides what the room hears: a `leave` is a leave at once; a
//! connection that drops leaves its participant away for the grace period, to be
//! resumed on a new connection; a server that stops tells nobody anything, since
//! everyone comes back once it is up again.

use super::hub::{encode, Kick, Outbox, QueueOutcome, Room};
use super::limits::{ConnectionSlot, RateLimiter};
use super::waiting::Knocking;
use super::Signaling;
use crate::hosts::Visitor;
use crate::monitoring;
use app::protocol::{ErrorCode, LeaveReason, PeerId, ServerMessage, CLOSE_RESTARTING};
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{timeout, Instant};

/// How long the writer may take to flush what is queued once the reader is done.
const WRITER_GRACE: Duration = Duration::from_secs(2);

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    /// The participant said `leave`.
    Left,
    /// The socket closed or broke without a `leave`: the participant may come back.
    Lost,
    /// Nothing heard for the heartbeat timeout.
    TimedOut,
    /// Disconnected by the server (too slow to read, a frame far too large).
    Dropped,
    /// The participant resumed on another connection.
    Replaced,
    /// The server is stopping.
    Stopping,
    /// Removed by a host, not let in, or the meeting ended: they were told why.
    Dismissed,
}

impl End {
    /// The close frame to send, if the socket is still there to take one.
    fn close_frame(self) -> Option<(u16, &'static str)> {
        match self {
            Self::Left => Some((close_code::NORMAL, "goodbye")),
            Self::TimedOut => Some((close_code::AWAY, "no heartbeat")),
            Self::Dropped => Some((close_code::SIZE, "frame too large")),
            Self::Replaced => Some((close_code::NORMAL, "resumed on another connection")),
            Self::Stopping => Some((CLOSE_RESTARTING, "server restarting: come back")),
            Self::Dismissed => Some((close_code::NORMAL, "your session in the meeting ended")),
            Self::Lost => None,
        }
    }
}

/// Serves one WebSocket from `client` until it closes; `first` is a frame already
/// read from it. `_slot` holds its place in the per-address count.
pub async fn serve(
    socket: WebSocket,
    first: Option<Message>,
    signaling: Arc<Signaling>,
    client: IpAddr,
    visitor: Visitor,
    _slot: ConnectionSlot,
) {
    let (sink, stream) = socket.split();
    let stream = futures_util::stream::iter(first.map(Ok)).chain(stream);
    serve_frames(sink, stream, signaling, client, visitor).await;
}

/// Serves one participant's connection, whose frames come from `stream` and go to
/// `sink`: a WebSocket here, or one on another node relayed over the cluster bus.
pub async fn serve_frames<K, S>(
    sink: K,
    stream: S,
    signaling: Arc<Signaling>,
    client: IpAddr,
    visitor: Visitor,
) where
    K: Sink<Message, Error = axum::Error> + Unpin + Send + 'static,
    S: Stream<Item = Result<Message, axum::Error>> + Unpin + Send,
{
    let mut stream = stream;
    let connection = signaling.next_connection.fetch_add(1, Ordering::Relaxed);
    let (outbox, receiver) = signaling.hub.outbox(signaling.limits.outgoing_queue);
    let mut writer = tokio::spawn(super::writer::write_loop(
        sink,
        receiver,
        signaling.limits.heartbeat_interval,
    ));
    let limits = &signaling.limits;
    let mut session = Session {
        connection,
        client,
        limiter: RateLimiter::new(limits.max_messages_per_second),
        // A few frames of the largest size always pass.
        byte_limiter: RateLimiter::bytes(limits.max_bytes_per_second, 4 * limits.max_frame_bytes),
        last_rate_error: None,
        chat_limiter: RateLimiter::new(super::chat::CHAT_PER_SECOND),
        joined: None,
        knocking: None,
        visitor,
        outbox,
        signaling,
    };
    tracing::debug!(connection, "signaling connection opened");
    let end = session.read_loop(&mut stream).await;
    session.finish(end).await;

    // Closing the outbox lets the writer finish what is queued and hand the socket back.
    drop(session);
    match timeout(WRITER_GRACE, &mut writer).await {
        Ok(Ok(Some(mut sink))) => {
            if let Some((code, reason)) = end.close_frame() {
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
    tracing::debug!(connection, "signaling connection closed");
}

fn frame_len(frame: &Message) -> usize {
    match frame {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) => bytes.len(),
        _ => 0,
    }
}

/// The room a connection's participant is in, and who they are there.
pub(super) struct Joined {
    pub(super) room: Arc<Room>,
    pub(super) id: PeerId,
    /// The name they joined with (their chat messages carry it).
    pub(super) name: String,
}

pub(super) struct Session {
    pub(super) connection: u64,
    /// Who is at the other end (behind a trusted proxy, the client it names).
    pub(super) client: IpAddr,
    pub(super) signaling: Arc<Signaling>,
    pub(super) outbox: Outbox,
    limiter: RateLimiter,
    byte_limiter: RateLimiter,
    last_rate_error: Option<Instant>,
    /// Chat has a rate of its own, lower than signaling's: every message is kept.
    pub(super) chat_limiter: RateLimiter,
    pub(super) joined: Option<Joined>,
    /// While asking to join: where, and the answer to come.
    pub(super) knocking: Option<Knocking>,
    /// What the browser's cookies say (host of which meetings, which browser).
    pub(super) visitor: Visitor,
}

impl Session {
    async fn read_loop<S>(&mut self, stream: &mut S) -> End
    where
        S: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let mut stopping = self.signaling.stopping.subscribe();
        if *stopping.borrow() {
            return End::Stopping;
        }
        // The kick, the stop and the idle deadline live across frames: making them
        // afresh for every frame (a timer, two watch registrations) cost more than
        // reading the frame.
        let mut kick_watch = self.outbox.kick_watch();
        let mut kicked = pin!(async move {
            let _ = kick_watch.changed().await;
            let kick = *kick_watch.borrow();
            kick
        });
        let mut stopped = pin!(async move {
            let _ = stopping.changed().await;
        });
        let idle_limit = self.signaling.limits.heartbeat_timeout;
        let mut last_heard = Instant::now();
        let mut idle = pin!(tokio::time::sleep_until(last_heard + idle_limit));
        loop {
            let next = tokio::select! {
                biased;
                kick = &mut kicked => {
                    return match kick {
                        Some(Kick::Replaced) => End::Replaced,
                        Some(Kick::Dismissed) => End::Dismissed,
                        // Their place is kept where the meeting is now, not here.
                        Some(Kick::Moved) => End::Stopping,
                        _ => End::Dropped,
                    };
                }
                decision = super::waiting::decision(&mut self.knocking) => {
                    match self.decided(decision).await {
                        ControlFlow::Continue(()) => continue,
                        ControlFlow::Break(end) => return end,
                    }
                }
                () = &mut stopped => return End::Stopping,
                () = &mut idle => {
                    let deadline = last_heard + idle_limit;
                    if Instant::now() < deadline {
                        // Heard from since the timer was set: wait for the rest.
                        idle.as_mut().reset(deadline);
                        continue;
                    }
                    tracing::info!(
                        connection = self.connection,
                        "no heartbeat, dropping the connection"
                    );
                    return End::TimedOut;
                }
                next = stream.next() => next,
            };
            last_heard = Instant::now();
            let frame = match next {
                None => return End::Lost,
                Some(Err(error)) => return self.read_failed(error),
                Some(Ok(frame)) => frame,
            };
            if frame_len(&frame) > self.signaling.limits.max_frame_bytes {
                return self.too_large();
            }
            let flow = match frame {
                Message::Text(text) => {
                    if self.within_rate(text.len()) {
                        self.handle_text(text.as_str()).await
                    } else {
                        ControlFlow::Continue(())
                    }
                }
                Message::Binary(bytes) => {
                    if self.within_rate(bytes.len()) {
                        self.refuse(
                            ErrorCode::BadMessage,
                            "binary frames are not used: send JSON text",
                        );
                    }
                    ControlFlow::Continue(())
                }
                Message::Ping(_) | Message::Pong(_) => ControlFlow::Continue(()),
                // A close without `leave` (a page going away before it could say so, a
                // proxy): the participant may still come back.
                Message::Close(_) => ControlFlow::Break(End::Lost),
            };
            if let ControlFlow::Break(end) = flow {
                return end;
            }
        }
    }

    /// Tells the room how this participant's connection ended.
    async fn finish(&mut self, end: End) {
        if let Some(knocking) = self.knocking.take() {
            self.signaling
                .hub
                .stop_knocking(&knocking.room, knocking.id, self.connection);
            tracing::info!(room = %knocking.room.code(), peer = %knocking.id, "stopped asking to join");
        }
        let Some(Joined { room, id, .. }) = self.joined.take() else {
            return;
        };
        // Gone for good (not only their connection): their media stops too.
        if !matches!(end, End::Lost | End::Replaced | End::Stopping) {
            if let Some(sfu) = &self.signaling.sfu {
                sfu.close(id);
            }
        }
        let hub = &self.signaling.hub;
        let reason = match end {
            End::Left => LeaveReason::Left,
            End::TimedOut => LeaveReason::TimedOut,
            End::Dropped => LeaveReason::Dropped,
            End::Replaced | End::Dismissed => return,
            End::Stopping => {
                // Lets the writer finish: the close frame asks the client to come back.
                hub.detach(&room, id, self.connection);
                return;
            }
            End::Lost => {
                if hub.went_away(&room, id, self.connection) {
                    tracing::info!(room = %room.code(), peer = %id, "participant's connection dropped; keeping their place");
                    self.expire_later(room, id);
                }
                return;
            }
        };
        hub.leave(&room, id, self.connection, reason);
        tracing::info!(room = %room.code(), peer = %id, reason = %reason.as_str(), "participant left");
        self.signaling.touch(room.code()).await;
    }

    /// Ends the session of a participant who went away, unless they are back in time.
    fn expire_later(&self, room: Arc<Room>, id: PeerId) {
        let signaling = self.signaling.clone();
        let connection = self.connection;
        tokio::spawn(async move {
            tokio::time::sleep(signaling.limits.resume_grace).await;
            if signaling.hub.expire(&room, id, connection) {
                if let Some(sfu) = &signaling.sfu {
                    sfu.close(id);
                }
                tracing::info!(room = %room.code(), peer = %id, "participant did not come back; they left");
                signaling.touch(room.code()).await;
            }
        });
    }

    /// A read error: an oversized frame is answered and closed with 1009; anything
    /// else means the connection is gone.
    fn read_failed(&mut self, error: axum::Error) -> End {
        let inner = error.into_inner();
        match inner.downcast_ref::<tungstenite::Error>() {
            Some(tungstenite::Error::Capacity(capacity)) => {
                tracing::debug!(connection = self.connection, %capacity, "frame far too large");
                self.too_large()
            }
            _ => {
                tracing::debug!(connection = self.connection, error = %inner, "signaling connection lost");
                End::Lost
            }
        }
    }

    /// Says why, then ends the connection with 1009.
    fn too_large(&mut self) -> End {
        tracing::info!(connection = self.connection, "frame too large, closing");
        self.refuse(
            ErrorCode::FrameTooLarge,
            format!(
                "messages may be at most {} bytes",
                self.signaling.limits.max_frame_bytes
            ),
        );
        End::Dropped
    }

    /// Counts a message of `len` bytes against the rate limits (messages and bytes a
    /// second); over one, the message is dropped and the client told (at most once a
    /// second, so the telling cannot flood either).
    fn within_rate(&mut self, len: usize) -> bool {
        let limits = &self.signaling.limits;
        let why = if !self.limiter.allow() {
            format!(
                "too many messages: at most {} a second; messages are being dropped",
                limits.max_messages_per_second
            )
        } else if !self.byte_limiter.allow_n(len) {
            format!(
                "too much data: at most {} bytes a second; messages are being dropped",
                limits.max_bytes_per_second
            )
        } else {
            return true;
        };
        let now = Instant::now();
        if self
            .last_rate_error
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            self.last_rate_error = Some(now);
            tracing::info!(connection = self.connection, %why, "rate limited");
            self.refuse(ErrorCode::RateLimited, why);
        }
        false
    }

    /// Tells the client why something it sent was refused.
    pub(super) fn refuse(&self, code: ErrorCode, message: impl Into<String>) {
        let message = message.into();
        tracing::debug!(connection = self.connection, ?code, %message, "refused");
        metrics::counter!(monitoring::ERRORS_SENT, "code" => error_code_name(code)).increment(1);
        self.reply(&ServerMessage::error(code, message));
    }

    /// Sends a message that is not a room message (not numbered, not replayed).
    pub(super) fn reply(&self, message: &ServerMessage) {
        if self.outbox.send(encode(message)) == QueueOutcome::Overflow {
            self.outbox.kick(Kick::TooSlow);
        }
    }
}

/// An error code's name on the wire (`bad_message`, `room_full`, …).
fn error_code_name(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{code:?}"),
    }
}
