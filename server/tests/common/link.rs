//! A narrow link for media tests, as a congested access link: it carries so many bits
//! a second, holding what comes faster in its queue, and drops what would wait longer
//! than the queue holds.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The longest a datagram waits in the link's queue before it is dropped instead.
const QUEUE_HOLDS: Duration = Duration::from_millis(250);

pub struct NarrowLink {
    bits_per_second: f64,
    /// (when it leaves the link, the datagram, whence it came)
    queue: VecDeque<(Instant, Vec<u8>, SocketAddr)>,
    /// When the last datagram queued leaves.
    busy_until: Option<Instant>,
    /// Datagrams dropped, and carried.
    pub dropped: usize,
    pub carried: usize,
}

impl NarrowLink {
    pub fn new(bits_per_second: u64) -> Self {
        Self {
            bits_per_second: bits_per_second as f64,
            queue: VecDeque::new(),
            busy_until: None,
            dropped: 0,
            carried: 0,
        }
    }

    /// A datagram comes to the link at `now`: queued, or dropped when the queue is full.
    pub fn offer(&mut self, datagram: &[u8], source: SocketAddr, now: Instant) {
        let start = self.busy_until.map_or(now, |busy| busy.max(now));
        let leaves =
            start + Duration::from_secs_f64((datagram.len() * 8) as f64 / self.bits_per_second);
        if leaves.saturating_duration_since(now) > QUEUE_HOLDS {
            self.dropped += 1;
            return;
        }
        self.busy_until = Some(leaves);
        self.queue.push_back((leaves, datagram.to_vec(), source));
    }

    /// The next datagram through the link by `now`, if any.
    pub fn through(&mut self, now: Instant) -> Option<(Vec<u8>, SocketAddr)> {
        if self
            .queue
            .front()
            .is_some_and(|(leaves, _, _)| *leaves <= now)
        {
            let (_, datagram, source) = self.queue.pop_front()?;
            self.carried += 1;
            return Some((datagram, source));
        }
        None
    }

    /// When the next datagram leaves the link.
    pub fn next_through(&self) -> Option<Instant> {
        self.queue.front().map(|(leaves, _, _)| *leaves)
    }
}
