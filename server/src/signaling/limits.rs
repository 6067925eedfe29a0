//! Per-connection message and byte rates, per-address connection counts, and the
//! per-address chat quota.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket: `rate` tokens a second on average, up to `burst` at once.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `per_second` messages a second on average, bursts of twice that.
    pub fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        Self::with_burst(rate, rate * 2.0)
    }

    /// `per_second` bytes a second on average; bursts of twice that, and never less
    /// than `at_least` (so that a few frames of the largest size pass).
    pub fn bytes(per_second: u32, at_least: usize) -> Self {
        let rate = f64::from(per_second.max(1));
        Self::with_burst(rate, (rate * 2.0).max(at_least as f64))
    }

    /// `amount` an `every` on average, all of it at once at most.
    pub fn per(amount: usize, every: Duration) -> Self {
        let amount = amount.max(1) as f64;
        Self::with_burst(amount / every.as_secs_f64().max(1e-3), amount)
    }

    fn with_burst(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Whether one more message may pass now.
    pub fn allow(&mut self) -> bool {
        self.allow_n(1)
    }

    /// Whether `n` more (bytes, say) may pass now; when they do, they are counted.
    pub fn allow_n(&mut self, n: usize) -> bool {
        self.refill();
        let n = n as f64;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full again (nothing to remember).
    fn is_full(&mut self) -> bool {
        self.refill();
        self.tokens >= self.burst
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }
}

/// How much each address may do in a period, over all meetings: bytes of chat an
/// hour, knocks a minute.
#[derive(Debug)]
pub struct AddressQuota {
    amount: usize,
    period: Duration,
    used: Mutex<HashMap<IpAddr, RateLimiter>>,
}

/// Addresses remembered before the quota forgets those whose allowance is whole again.
const QUOTA_TIDY_AT: usize = 4096;

impl AddressQuota {
    /// `amount` a `period`, all of it at once at most.
    pub fn new(amount: usize, period: Duration) -> Self {
        Self {
            amount,
            period,
            used: Mutex::default(),
        }
    }

    /// Takes `bytes` from `ip`'s allowance; false (and nothing taken) when it has
    /// not that much left.
    pub fn take(&self, ip: IpAddr, bytes: usize) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if used.len() >= QUOTA_TIDY_AT {
            used.retain(|_, bucket| !bucket.is_full());
        }
        let (amount, period) = (self.amount, self.period);
        used.entry(ip)
            .or_insert_with(|| RateLimiter::per(amount, period))
            .allow_n(bytes)
    }

    /// How much an address may use a period.
    pub fn amount(&self) -> usize {
        self.amount
    }

    /// The period the amount is for.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// Counts open signaling connections per client address.
#[derive(Debug, Clone)]
pub struct ConnectionsPerIp {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Holds one connection's place; gives it back when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnectionsPerIp {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for a new connection from `ip`, or `None` when it has too many open.
    pub fn acquire(&self, ip: IpAddr) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            ip,
            open: self.open.clone(),
        })
    }

    pub fn total(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_pass_then_the_rate_holds() {
        let mut limiter = RateLimiter::new(10);
        let passed = (0..100).filter(|_| limiter.allow()).count();
        assert_eq!(passed, 20, "a burst of twice the rate");
        tokio::time::advance(Duration::from_millis(500)).await;
        let passed = (0..100).filter(|_| limiter.allow()).count();
        assert_eq!(passed, 5, "then the rate");
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_pass_at_their_rate_with_room_for_large_frames() {
        let mut limiter = RateLimiter::bytes(1000, 5000);
        assert!(limiter.allow_n(5000), "a burst of at least the minimum");
        assert!(!limiter.allow_n(1), "then nothing");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(!limiter.allow_n(501), "more than has come back");
        assert!(limiter.allow_n(500), "what has come back");
    }

    #[tokio::test(start_paused = true)]
    async fn the_chat_quota_is_per_address_and_comes_back_over_the_hour() {
        let quota = AddressQuota::new(1000, Duration::from_secs(3600));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(quota.take(a, 600));
        assert!(!quota.take(a, 600), "past the hour's allowance");
        assert!(quota.take(b, 600), "another address has its own");
        tokio::time::advance(Duration::from_secs(1800)).await;
        assert!(quota.take(a, 600), "half an hour gives half of it back");
        assert!(!quota.take(a, 400), "and no more");
    }

    #[test]
    fn slots_are_counted_per_address_and_returned() {
        let limits = ConnectionsPerIp::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let one = limits.acquire(a).unwrap();
        let _two = limits.acquire(a).unwrap();
        assert!(limits.acquire(a).is_none());
        let _other = limits.acquire(b).unwrap();
        drop(one);
        let _again = limits.acquire(a).expect("a freed slot is reusable");
        assert_eq!(limits.total(), 3);
    }
}
