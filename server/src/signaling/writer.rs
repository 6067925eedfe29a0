//! A connection's writer: sends what its outbox queues, and pings, until the outbox
//! closes or the server kicks the connection.

use super::hub::{Kick, OutboxReceiver};
use app::protocol::CLOSE_RESTARTING;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes};
use futures_util::{Sink, SinkExt};
use std::pin::pin;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// Sends queued messages and pings until the queue closes. Returns the socket for a
/// final close frame, or `None` when it was kicked or broke.
pub(super) async fn write_loop<K>(
    mut sink: K,
    receiver: OutboxReceiver,
    ping_every: Duration,
) -> Option<K>
where
    K: Sink<Message, Error = axum::Error> + Unpin,
{
    let mut receiver = receiver;
    let mut kick_watch = receiver.kick.clone();
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut kicked = pin!(async move {
        while kick_watch.changed().await.is_ok() {
            if let Some(kick) = *kick_watch.borrow() {
                return kick;
            }
        }
        // The outbox is gone, which the queue reports too.
        std::future::pending().await
    });
    loop {
        let sent = tokio::select! {
            biased;
            kick = &mut kicked => {
                let (code, reason) = match kick {
                    Kick::TooSlow => (close_code::POLICY, "too slow: messages were piling up"),
                    Kick::Replaced => (close_code::NORMAL, "resumed on another connection"),
                    Kick::Dismissed => (close_code::NORMAL, "your session in the meeting ended"),
                    Kick::Moved => (CLOSE_RESTARTING, "the meeting moved to another server: come back"),
                };
                if kick == Kick::Dismissed {
                    // What they were told (why their session ended) goes first.
                    while let Some(frame) = receiver.try_recv() {
                        if sink.feed(Message::Text(frame)).await.is_err() {
                            return None;
                        }
                    }
                }
                let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return None;
            }
            frame = receiver.recv() => match frame {
                Some(frame) => send_queued(&mut sink, frame, &mut receiver).await,
                None => return Some(sink),
            },
            _ = ping.tick() => sink.send(Message::Ping(Default::default())).await,
        };
        if sent.is_err() {
            return None;
        }
    }
}

/// Writes `first` and whatever else is queued already, with one flush for them all.
async fn send_queued<K>(
    sink: &mut K,
    first: Utf8Bytes,
    receiver: &mut OutboxReceiver,
) -> Result<(), axum::Error>
where
    K: Sink<Message, Error = axum::Error> + Unpin,
{
    sink.feed(Message::Text(first)).await?;
    while let Some(frame) = receiver.try_recv() {
        sink.feed(Message::Text(frame)).await?;
    }
    sink.flush().await
}
