//! A connection's outbox: the bounded queue of frames its writer sends, and the kick
//! that closes it at once. The queue is bounded in frames and in bytes, and what it
//! holds is counted in the server's [`HeldBytes`].

use super::held::HeldBytes;
use app::protocol::ServerMessage;
use axum::extract::ws::Utf8Bytes;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Why the server ends a connection on its own initiative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// The outgoing queue overflowed.
    TooSlow,
    /// The participant resumed on another connection.
    Replaced,
    /// The participant was removed, denied, or the meeting ended; they were told
    /// (`dismissed`) just before.
    Dismissed,
    /// The meeting is hosted by another node now: come back, to find it there.
    Moved,
}

/// The sending side of one participant's connection.
#[derive(Clone, Debug)]
pub struct Outbox {
    queue: mpsc::Sender<Utf8Bytes>,
    kick: watch::Sender<Option<Kick>>,
    /// Bytes in the queue now.
    queued: Arc<AtomicUsize>,
    /// The most bytes the queue may hold.
    max_bytes: usize,
    held: HeldBytes,
}

/// What the connection's writer reads from.
pub struct OutboxReceiver {
    queue: mpsc::Receiver<Utf8Bytes>,
    pub kick: watch::Receiver<Option<Kick>>,
    queued: Arc<AtomicUsize>,
    held: HeldBytes,
}

impl OutboxReceiver {
    /// The next frame to send; `None` once every outbox is gone and the queue empty.
    pub async fn recv(&mut self) -> Option<Utf8Bytes> {
        let frame = self.queue.recv().await?;
        self.taken(&frame);
        Some(frame)
    }

    /// The next frame if one is queued now.
    pub fn try_recv(&mut self) -> Option<Utf8Bytes> {
        let frame = self.queue.try_recv().ok()?;
        self.taken(&frame);
        Some(frame)
    }

    fn taken(&self, frame: &Utf8Bytes) {
        self.queued.fetch_sub(frame.len(), Ordering::Relaxed);
        self.held.release(frame.len());
    }
}

impl Drop for OutboxReceiver {
    /// What was never sent is no longer held.
    fn drop(&mut self) {
        self.queue.close();
        while self.try_recv().is_some() {}
    }
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
    /// An outbox of `capacity` frames and no bound in bytes, counted apart from any
    /// server's.
    pub fn new(capacity: usize) -> (Self, OutboxReceiver) {
        Self::bounded(capacity, usize::MAX, HeldBytes::default())
    }

    /// An outbox of at most `capacity` frames and `max_bytes` bytes, whose contents
    /// count in `held`.
    pub fn bounded(capacity: usize, max_bytes: usize, held: HeldBytes) -> (Self, OutboxReceiver) {
        let (queue, queue_rx) = mpsc::channel(capacity.max(1));
        let (kick, kick_rx) = watch::channel(None);
        let queued = Arc::new(AtomicUsize::new(0));
        (
            Self {
                queue,
                kick,
                queued: queued.clone(),
                max_bytes,
                held: held.clone(),
            },
            OutboxReceiver {
                queue: queue_rx,
                kick: kick_rx,
                queued,
                held,
            },
        )
    }

    pub fn send(&self, frame: Utf8Bytes) -> QueueOutcome {
        let len = frame.len();
        // Counted before it is queued, so that the writer never takes away more than
        // was added.
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if before.saturating_add(len) > self.max_bytes {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            return QueueOutcome::Overflow;
        }
        self.held.hold(len);
        let outcome = match self.queue.try_send(frame) {
            Ok(()) => return QueueOutcome::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => QueueOutcome::Overflow,
            Err(mpsc::error::TrySendError::Closed(_)) => QueueOutcome::Closed,
        };
        self.queued.fetch_sub(len, Ordering::Relaxed);
        self.held.release(len);
        outcome
    }

    /// Bytes waiting in the queue now.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
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
