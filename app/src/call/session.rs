//! The signaling session's rules, with no socket inside: when to reconnect, when a
//! silent socket counts as dead, which messages were already handled, and how fast
//! the client may send. The browser layer (`browser::socket`) applies them.

use super::negotiation::Millis;

/// Pauses before each reconnection attempt: the first soon, then spaced out. Each is
/// scaled by a random factor between 0.5 and 1.5 so that, after a server restart,
/// clients do not all come back in the same millisecond.
const RECONNECT_DELAYS: [Millis; 6] = [250, 500, 1_000, 2_000, 4_000, 5_000];

/// How often the client says "still here" (a `ping`, which the server answers).
pub const PING_EVERY: Millis = 3_000;
/// How long a socket may stay silent (no pong, no message) before it is given up as
/// dead or half-open and replaced.
pub const SILENCE_LIMIT: Millis = 9_000;

/// While the meeting's media goes through the server, it stops when the server does:
/// attempts go on at most this far apart (before jitter), so that pictures come back
/// within seconds of the server.
const RECONNECT_DELAY_MEDIA_THROUGH_SERVER: Millis = 1_000;

/// The pause before reconnection attempt `attempt` (0 for the first), given a random
/// number in `0.0..1.0`.
pub fn reconnect_delay(attempt: u32, random: f64, media_through_server: bool) -> Millis {
    let mut base = RECONNECT_DELAYS[(attempt as usize).min(RECONNECT_DELAYS.len() - 1)];
    if media_through_server {
        base = base.min(RECONNECT_DELAY_MEDIA_THROUGH_SERVER);
    }
    (base as f64 * (0.5 + random.clamp(0.0, 1.0))) as Millis
}

/// The longest pause between two of the client's one-second checks that counts in
/// full towards a silence.
const MAX_CHECK_GAP: Millis = 1_500;

/// How long the socket has been silent, counting only time the page was running.
/// A page that was starved or asleep (its checks came late) heard nothing because it
/// read nothing, which says nothing about the socket; and its messages may still be
/// waiting to be read behind the late check.
#[derive(Debug, Default)]
pub struct Silence {
    silent_for: Millis,
    last_check: Option<Millis>,
}

impl Silence {
    /// Something arrived on the socket, or a new socket was opened.
    pub fn heard(&mut self) {
        self.silent_for = 0;
    }

    /// A check at `now`: whether the socket is to be given up as dead or half-open.
    pub fn check(&mut self, now: Millis) -> bool {
        let gap = self
            .last_check
            .map_or(0, |last| now.saturating_sub(last).min(MAX_CHECK_GAP));
        self.last_check = Some(now);
        self.silent_for += gap;
        self.silent_for >= SILENCE_LIMIT
    }
}

/// Which numbered room messages were handled, so that a replay after a resume
/// handles each exactly once.
#[derive(Debug, Default)]
pub struct Seen {
    last: u64,
}

impl Seen {
    /// The `seq` of the last message handled.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Whether to handle a message numbered `seq` (replies have none: always).
    pub fn admit(&mut self, seq: Option<u64>) -> bool {
        match seq {
            None => true,
            Some(seq) if seq > self.last => {
                self.last = seq;
                true
            }
            Some(_) => false,
        }
    }

    /// The server started numbering afresh (it restarted and lost the session).
    pub fn restart(&mut self) {
        self.last = 0;
    }
}

/// Keeps the client's sending within the server's rate limit (a token bucket like the
/// server's, a little slower), so that a burst of ICE candidates is delayed, never
/// dropped.
#[derive(Debug)]
pub struct Pacer {
    per_ms: f64,
    burst: f64,
    tokens: f64,
    last: Millis,
}

impl Pacer {
    /// For a server allowing `per_second` messages a second, bursts of twice that.
    pub fn new(per_second: u32, now: Millis) -> Self {
        // A margin for timers firing early and clocks that differ a little.
        let rate = f64::from(per_second.max(1)) * 0.8;
        let burst = (rate * 2.0).max(1.0);
        Self {
            per_ms: rate / 1000.0,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes a token to send now, or says how long to wait for one.
    pub fn take(&mut self, now: Millis) -> Result<(), Millis> {
        self.tokens =
            (self.tokens + now.saturating_sub(self.last) as f64 * self.per_ms).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / self.per_ms).ceil().max(1.0) as Millis)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_backs_off_with_jitter() {
        assert_eq!(reconnect_delay(0, 0.5, false), 250);
        assert_eq!(reconnect_delay(0, 0.0, false), 125);
        assert_eq!(reconnect_delay(0, 1.0, false), 375);
        assert_eq!(reconnect_delay(3, 0.5, false), 2_000);
        assert_eq!(reconnect_delay(50, 0.5, false), 5_000, "capped");
        assert_eq!(reconnect_delay(0, 0.5, true), 250);
        assert_eq!(reconnect_delay(50, 0.5, true), 1_000, "capped lower");
        assert_eq!(reconnect_delay(50, 1.0, true), 1_500);
    }

    #[test]
    fn a_silent_socket_is_dead_after_the_limit() {
        let mut silence = Silence::default();
        assert!(!silence.check(0));
        assert!(!(1..9).any(|s| silence.check(s * 1_000)));
        assert!(silence.check(9_000));
        silence.heard();
        assert!(!silence.check(10_000));
        const {
            assert!(
                SILENCE_LIMIT > 2 * PING_EVERY,
                "two lost pongs are not death"
            )
        };
    }

    #[test]
    fn time_the_page_was_starved_or_asleep_does_not_count() {
        let mut silence = Silence::default();
        assert!(!silence.check(0));
        assert!(!silence.check(30_000), "a check 30 s late counts 1.5 s");
        assert!(!(31..=37).any(|s| silence.check(s * 1_000)));
        assert!(silence.check(38_000), "then 7.5 s more of running");
    }

    #[test]
    fn each_numbered_message_is_handled_once() {
        let mut seen = Seen::default();
        assert!(seen.admit(Some(1)));
        assert!(seen.admit(None));
        assert!(seen.admit(Some(2)));
        assert!(!seen.admit(Some(2)), "a replay of what was handled");
        assert!(!seen.admit(Some(1)));
        assert!(seen.admit(Some(3)));
        assert_eq!(seen.last(), 3);
        seen.restart();
        assert!(
            seen.admit(Some(1)),
            "after a server restart, numbering starts over"
        );
    }

    #[test]
    fn the_pacer_lets_a_burst_through_then_spaces_messages_out() {
        let mut pacer = Pacer::new(100, 0);
        let burst = (0..1000).take_while(|_| pacer.take(0).is_ok()).count();
        assert_eq!(burst, 160, "twice the (slightly reduced) rate");
        let wait = pacer.take(0).unwrap_err();
        assert!((12..=13).contains(&wait), "{wait}");
        assert!(pacer.take(wait).is_ok());
        // Over a long run it stays under the server's rate.
        let mut sent = 0;
        for ms in 1..=10_000 {
            while pacer.take(wait + ms).is_ok() {
                sent += 1;
            }
        }
        assert!(sent <= 100 * 10, "{sent} in 10 s");
    }
}
