//! How many datagrams the media port takes from one address: a token bucket per
//! source (address and port), so that one sender flooding the port costs the server
//! little and leaves everyone else's media alone. The table of sources is bounded:
//! idle sources are forgotten, and when it is full a new source goes uncounted rather
//! than refused (a flood from many addresses must not lock out new participants).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Datagrams a second one source may send: a camera at the whole upload budget with
/// its audio and feedback is a few hundred; a burst (a keyframe) a few hundred more.
pub const DATAGRAMS_PER_SECOND: u32 = 2_000;
/// Sources counted at once.
pub const MAX_SOURCES: usize = 8_192;
/// A source silent this long is forgotten.
const IDLE: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
pub struct DatagramLimit {
    per_second: f64,
    sources: HashMap<SocketAddr, Bucket>,
    last_prune: Instant,
}

impl DatagramLimit {
    pub fn new(per_second: u32, now: Instant) -> Self {
        Self {
            per_second: f64::from(per_second),
            sources: HashMap::new(),
            last_prune: now,
        }
    }

    /// Whether to take a datagram from `source` now.
    pub fn allows(&mut self, source: SocketAddr, now: Instant) -> bool {
        if now.saturating_duration_since(self.last_prune) >= IDLE {
            self.sources
                .retain(|_, bucket| now.saturating_duration_since(bucket.last) < IDLE);
            self.last_prune = now;
        }
        let full = self.sources.len() >= MAX_SOURCES;
        let bucket = match self.sources.get_mut(&source) {
            Some(bucket) => bucket,
            None if full => return true,
            None => self.sources.entry(source).or_insert(Bucket {
                tokens: self.per_second,
                last: now,
            }),
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.per_second);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Sources counted now.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    #[test]
    fn one_source_gets_its_rate_and_no_more_and_others_are_untouched() {
        let t0 = Instant::now();
        let mut limit = DatagramLimit::new(100, t0);
        let taken = (0..1_000).filter(|_| limit.allows(addr(1), t0)).count();
        assert_eq!(taken, 100, "a second's worth at once");
        assert!(limit.allows(addr(2), t0), "another source is not held back");
        assert!(!limit.allows(addr(1), t0 + Duration::from_millis(5)));
        // Ten milliseconds later, one more.
        assert!(limit.allows(addr(1), t0 + Duration::from_millis(10)));
        // A steady 100 a second passes whole.
        let mut limit = DatagramLimit::new(100, t0);
        let steady = (0..500)
            .filter(|n| limit.allows(addr(1), t0 + Duration::from_millis(10 * n)))
            .count();
        assert_eq!(steady, 500);
    }

    #[test]
    fn the_table_stays_bounded_and_forgets_the_idle() {
        let t0 = Instant::now();
        let mut limit = DatagramLimit::new(10, t0);
        for port in 0..(MAX_SOURCES as u16 + 500) {
            assert!(limit.allows(addr(port), t0));
        }
        assert_eq!(limit.sources(), MAX_SOURCES);
        // A new source when full is let through, uncounted.
        let newcomer = SocketAddr::from(([198, 51, 100, 7], 9));
        for _ in 0..50 {
            assert!(limit.allows(newcomer, t0));
        }
        // Once they fall silent they are forgotten.
        assert!(limit.allows(newcomer, t0 + IDLE));
        assert_eq!(limit.sources(), 1);
    }
}
