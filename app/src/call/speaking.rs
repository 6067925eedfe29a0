//! Who is speaking: audio levels, read a few times a second, become a steady yes or
//! no, so the ring on a tile does not flicker between syllables (or a beep's gaps).

use std::time::Duration;

/// How often levels are read.
/// (A receiver's level is that of its latest packet, so a short sound is seen only if
/// read often.)
pub const READ_EVERY: Duration = Duration::from_millis(100);

/// A level (0.0 to 1.0, linear, as WebRTC's `audioLevel`) that counts as sound.
const LOUD: f32 = 0.02;
/// Readings in a row with sound before someone counts as speaking.
const START_AFTER: u8 = 1;
/// Readings in a row without sound before they stop counting as speaking (1.5 s).
const STOP_AFTER: u8 = 15;

/// One person's speaking state, fed their audio level at each reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Speaking {
    speaking: bool,
    /// Readings in a row that disagree with `speaking`.
    against: u8,
}

impl Speaking {
    /// Takes a reading (`muted`: their microphone is off, which is never speaking);
    /// returns whether they are speaking now.
    pub fn feed(&mut self, level: f32, muted: bool) -> bool {
        let loud = !muted && level >= LOUD;
        if muted {
            *self = Self::default();
            return false;
        }
        if loud == self.speaking {
            self.against = 0;
        } else {
            self.against += 1;
            let needed = if loud { START_AFTER } else { STOP_AFTER };
            if self.against >= needed {
                self.speaking = loud;
                self.against = 0;
            }
        }
        self.speaking
    }

    pub fn is_speaking(self) -> bool {
        self.speaking
    }
}

/// The linear level of a level meter reading (`devices::loudness`, -60 dB to 0 dB
/// as 0.0 to 1.0), to feed the local person's own [`Speaking`].
pub fn linear(loudness: f32) -> f32 {
    if loudness <= 0.0 {
        0.0
    } else {
        10_f32.powf((loudness * 60.0 - 60.0) / 20.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sound_starts_speaking_at_once_and_short_gaps_do_not_stop_it() {
        let mut s = Speaking::default();
        assert!(!s.feed(0.0, false));
        assert!(s.feed(0.3, false));
        // A beep a second: nine quiet readings between beeps keep the ring on.
        for _ in 0..3 {
            for _ in 0..9 {
                assert!(s.feed(0.0, false));
            }
            assert!(s.feed(0.2, false));
        }
        for _ in 0..14 {
            assert!(s.feed(0.001, false));
        }
        assert!(!s.feed(0.0, false), "silence for long enough stops it");
    }

    #[test]
    fn meter_readings_convert_back_to_linear_levels() {
        assert_eq!(linear(0.0), 0.0);
        assert!((linear(1.0) - 1.0).abs() < 1e-6);
        let reading = crate::call::devices::loudness(&[0.05, -0.05]);
        assert!((linear(reading) - 0.05).abs() < 1e-4);
    }

    #[test]
    fn the_muted_are_never_speaking() {
        let mut s = Speaking::default();
        assert!(s.feed(0.5, false));
        assert!(!s.feed(0.5, true));
        assert!(!s.feed(0.9, true));
        assert!(!s.is_speaking());
    }
}
