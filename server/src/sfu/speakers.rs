//! Whose audio a large meeting forwards. While at most [`ALL_AUDIO_UP_TO`] people send
//! audio, everyone's goes to everyone; past that only the [`LOUDEST`] loudest's, by the
//! level each audio packet carries (RFC 6464: 0 dBov the loudest, -127 silence). A
//! loudness rises at once and falls slowly (so that a speaker is not cut between
//! words), and someone who starts speaking louder than the quietest of the loudest
//! takes their place with their first packet. A sender whose packets carry no level
//! is always forwarded (nothing to rank them by).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Up to this many audio senders, everyone's audio is forwarded.
pub const ALL_AUDIO_UP_TO: usize = 6;
/// Past that, the audio of this many, the loudest.
pub const LOUDEST: usize = 3;
/// How fast a loudness falls when someone goes quiet (levels a second: from speech at
/// about 90 to silence in about a second and a half).
const FALL_PER_SECOND: f32 = 60.0;
/// A sender not heard for this long no longer counts.
const FORGET_AFTER: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug)]
struct Heard {
    /// 0 (silence) to 127 (the loudest), at `at`; `None` when they send no level.
    loudness: Option<f32>,
    at: Instant,
}

impl Heard {
    fn loudness_at(&self, now: Instant) -> Option<f32> {
        let fallen = now.saturating_duration_since(self.at).as_secs_f32() * FALL_PER_SECOND;
        self.loudness.map(|loudness| (loudness - fallen).max(0.0))
    }
}

/// The audio senders of one meeting.
#[derive(Debug)]
pub struct Speakers<K> {
    heard: HashMap<K, Heard>,
}

impl<K> Default for Speakers<K> {
    fn default() -> Self {
        Self {
            heard: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Speakers<K> {
    /// An audio packet from `who`, with its level (`None`: no level in it). Returns
    /// whether it is forwarded.
    pub fn heard(&mut self, who: K, level: Option<i8>, now: Instant) -> bool {
        let loudness = level.map(|level| f32::from(127 - level.unsigned_abs().min(127)));
        let before = self
            .heard
            .get(&who)
            .and_then(|heard| heard.loudness_at(now));
        let loudness = match (loudness, before) {
            (Some(new), Some(old)) => Some(new.max(old)),
            (new, _) => new,
        };
        self.heard.insert(who, Heard { loudness, at: now });
        self.heard
            .retain(|_, heard| now.saturating_duration_since(heard.at) < FORGET_AFTER);
        if self.heard.len() <= ALL_AUDIO_UP_TO {
            return true;
        }
        let Some(mine) = loudness else {
            return true;
        };
        let louder = self
            .heard
            .iter()
            .filter(|(other, heard)| {
                **other != who && heard.loudness_at(now).is_some_and(|theirs| theirs > mine)
            })
            .count();
        louder < LOUDEST
    }

    pub fn forget(&mut self, who: K) {
        self.heard.remove(&who);
    }

    pub fn is_empty(&self) -> bool {
        self.heard.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEECH: i8 = -30;
    const SILENCE: i8 = -127;

    #[test]
    fn a_small_meeting_hears_everyone() {
        let now = Instant::now();
        let mut speakers = Speakers::default();
        for who in 0..ALL_AUDIO_UP_TO {
            assert!(speakers.heard(who, Some(SILENCE), now));
        }
    }

    #[test]
    fn a_large_meeting_hears_the_loudest_and_a_new_speaker_at_once() {
        let start = Instant::now();
        let mut speakers = Speakers::default();
        // Ten people: 0, 1 and 2 speak, the rest are silent.
        for who in 0..10 {
            let level = if who < 3 { SPEECH } else { SILENCE };
            speakers.heard(who, Some(level), start);
        }
        let at = start + Duration::from_millis(20);
        for who in 0..3 {
            assert!(speakers.heard(who, Some(SPEECH), at), "speaker {who}");
        }
        for who in 3..10 {
            assert!(!speakers.heard(who, Some(SILENCE), at), "silent {who}");
        }
        // 7 starts speaking louder: heard with their first packet.
        assert!(speakers.heard(7, Some(-10), at));
        // A speaker pausing between words is not cut at once...
        let pause = at + Duration::from_millis(300);
        assert!(speakers.heard(1, Some(SILENCE), pause));
        // ...but someone silent for long gives way.
        let later = start + Duration::from_secs(3);
        for who in [0, 2, 7] {
            speakers.heard(who, Some(SPEECH), later);
        }
        assert!(!speakers.heard(1, Some(SILENCE), later), "1 has gone quiet");
        // Packets with no level are always forwarded.
        assert!(speakers.heard(9, None, later));
    }

    #[test]
    fn those_gone_quiet_for_long_no_longer_count() {
        let start = Instant::now();
        let mut speakers = Speakers::default();
        for who in 0..10 {
            speakers.heard(who, Some(SILENCE), start);
        }
        speakers.forget(0);
        let later = start + FORGET_AFTER;
        // Only one sender heard now: a small meeting again.
        assert!(speakers.heard(5, Some(SILENCE), later));
        assert!(!speakers.is_empty());
    }
}
