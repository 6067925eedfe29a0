//! A connection's outbox: the bounded queue of frames its writer sends, and the kick
//! that closes it at once.

use app::protocol::ServerMessage;
use axum::extract::ws::Utf8Bytes;
use std::io::Write;
use tokio::sync::{mpsc, watch};

/// Why the server ends a connection on its own initiative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// The outgoing queue overflowed.
    TooSlow,
    /// The participant resumed on another connection.
    Replaced,
}

/// The sending side of one participant's connection.
#[derive(Clone, Debug)]
pub struct Outbox {
    queue: mpsc::Sender<Utf8Bytes>,
    kick: watch::Sender<Option<Kick>>,
}

/// What the connection's writer reads from.
pub struct OutboxReceiver {
    pub queue: mpsc::Receiver<Utf8Bytes>,
    pub kick: watch::Receiver<Option<Kick>>,
}

/// What became of a frame put in an outbox.
#[derive(Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    Queued,
    /// The queue is full: the receiver must be disconnected.
    Overflow,
    /// The connection is already closing.
    Closed,
}

impl Outbox {
    pub fn new(capacity: usize) -> (Self, OutboxReceiver) {
        let (queue, queue_rx) = mpsc::channel(capacity.max(1));
        let (kick, kick_rx) = watch::channel(None);
        (
            Self { queue, kick },
            OutboxReceiver {
                queue: queue_rx,
                kick: kick_rx,
            },
        )
    }

    pub fn send(&self, frame: Utf8Bytes) -> QueueOutcome {
        match self.queue.try_send(frame) {
            Ok(()) => QueueOutcome::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => QueueOutcome::Overflow,
            Err(mpsc::error::TrySendError::Closed(_)) => QueueOutcome::Closed,
        }
    }

    /// Lets the connection's reader notice a kick too.
    pub fn kick_watch(&self) -> watch::Receiver<Option<Kick>> {
        self.kick.subscribe()
    }

    /// Tells the connection to close now, without waiting for its queue.
    pub fn kick(&self, why: Kick) {
        self.kick.send_replace(Some(why));
    }
}

/// Serializes a message once, for however many receivers.
pub fn encode(message: &ServerMessage) -> Utf8Bytes {
    // Serializing these plain data types cannot fail.
    Utf8Bytes::from(serde_json::to_string(message).expect("server messages serialize"))
}

/// Serializes a room message for one receiver with its `seq` first, as
/// `app::protocol::Delivery` reads it: the same bytes as numbering [`encode`]'s.
pub fn encode_numbered(seq: u64, message: &ServerMessage) -> Utf8Bytes {
    let mut frame = Vec::with_capacity(256);
    let _ = write!(frame, "{}{seq}", app::protocol::Delivery::SEQ_PREFIX);
    // The message's own opening brace becomes the comma after the number.
    let brace = frame.len();
    serde_json::to_writer(&mut frame, message).expect("server messages serialize");
    frame[brace] = b',';
    let text = String::from_utf8(frame).expect("JSON is UTF-8");
    Utf8Bytes::from(text)
}
