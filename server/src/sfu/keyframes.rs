//! Asking senders for keyframes, coalesced: every receiver that switches layer (or
//! joins, or loses packets it cannot recover) wants a keyframe, but a keyframe costs
//! the sender several times an ordinary frame and serves every receiver at once. So a
//! sender's layer is asked at most once per interval (about a second); a want that
//! comes sooner is kept and asked for when the interval is over.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// The shortest time between two requests to the same sender's layer.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1_000);

/// Keyframe wants for keys `K` (a sender's layer), coalesced.
#[derive(Debug)]
pub struct KeyframeRequests<K> {
    interval: Duration,
    /// When each key was last asked, and whether another want came since.
    asked: HashMap<K, (Instant, bool)>,
}

impl<K: Copy + Eq + Hash> KeyframeRequests<K> {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            asked: HashMap::new(),
        }
    }

    /// Someone wants a keyframe of `key`: whether to ask the sender now. Otherwise it
    /// is asked by [`KeyframeRequests::due`] once the interval has passed.
    pub fn want(&mut self, key: K, now: Instant) -> bool {
        match self.asked.get_mut(&key) {
            Some((at, pending)) if now.saturating_duration_since(*at) < self.interval => {
                *pending = true;
                false
            }
            _ => {
                self.asked.insert(key, (now, false));
                true
            }
        }
    }

    /// A keyframe of `key` arrived: wants kept for it are met.
    pub fn arrived(&mut self, key: K) {
        if let Some((_, pending)) = self.asked.get_mut(&key) {
            *pending = false;
        }
    }

    /// The keys to ask now: those wanted again during their interval, now over.
    pub fn due(&mut self, now: Instant) -> Vec<K> {
        let interval = self.interval;
        let mut due = Vec::new();
        for (key, (at, pending)) in self.asked.iter_mut() {
            if *pending && now.saturating_duration_since(*at) >= interval {
                *at = now;
                *pending = false;
                due.push(*key);
            }
        }
        // Keys idle for long are forgotten (a sender that left).
        self.asked.retain(|_, (at, pending)| {
            *pending || now.saturating_duration_since(*at) < interval * 10
        });
        due
    }

    /// Forgets a sender's layer (it left).
    pub fn forget(&mut self, key: K) {
        self.asked.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_is_asked_at_most_once_an_interval() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut requests = KeyframeRequests::new(DEFAULT_INTERVAL);
        assert!(requests.want(("ada", 2), at(0)));
        // Nine more receivers switch within the second: nobody asks again.
        assert!((1..10).all(|n| !requests.want(("ada", 2), at(n * 50))));
        // Another layer, or another sender, is asked at once.
        assert!(requests.want(("ada", 0), at(100)));
        assert!(requests.want(("bob", 2), at(100)));
        assert!(requests.due(at(900)).is_empty(), "not yet");
        let due = requests.due(at(1_000));
        assert_eq!(due, vec![("ada", 2)], "the kept want, once");
        assert!(requests.due(at(3_000)).is_empty());
    }

    #[test]
    fn a_keyframe_that_came_meets_the_wants_kept() {
        let start = Instant::now();
        let mut requests = KeyframeRequests::new(DEFAULT_INTERVAL);
        assert!(requests.want(7, start));
        assert!(!requests.want(7, start + Duration::from_millis(10)));
        requests.arrived(7);
        assert!(requests.due(start + Duration::from_secs(2)).is_empty());
        assert!(requests.want(7, start + Duration::from_secs(2)));
    }
}
