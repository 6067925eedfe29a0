//! Meeting codes that read like Meet's: `abc-defg-hij`.
//!
//! Ten lowercase letters carry 10 × log2(26) ≈ 47 bits of randomness, enough that
//! codes cannot be guessed. Every code that enters Parley (a URL, a form field, a
//! signaling message) goes through [`RoomCode::parse`], so the rest of the code only
//! ever sees well-formed ones.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The letters in each dash-separated group.
const GROUPS: [usize; 3] = [3, 4, 3];
/// How many letters a code has in all.
const LETTERS: usize = 10;
/// The length of the canonical form, dashes included.
pub const CODE_LEN: usize = LETTERS + GROUPS.len() - 1;

/// A validated meeting code in its canonical form (`abc-defg-hij`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a meeting code: expected three groups of lowercase letters like abc-defg-hij")]
pub struct InvalidRoomCode;

impl RoomCode {
    /// Accepts exactly the canonical form: three groups of 3, 4 and 3 lowercase ASCII letters.
    pub fn parse(s: &str) -> Result<Self, InvalidRoomCode> {
        let groups: Vec<&str> = s.split('-').collect();
        let well_formed = groups.len() == GROUPS.len()
            && groups.iter().zip(GROUPS).all(|(group, len)| {
                group.len() == len && group.bytes().all(|b| b.is_ascii_lowercase())
            });
        if well_formed {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidRoomCode)
        }
    }

    /// Reads what a person typed or pasted into "join a meeting": a code in any case,
    /// with or without dashes and surrounding spaces, or a whole meeting link.
    pub fn from_user_input(input: &str) -> Result<Self, InvalidRoomCode> {
        let input = input.trim();
        // A pasted link: take the path segment after "/r/".
        let candidate = match input.rfind("/r/") {
            Some(at) => input[at + 3..]
                .split(['/', '?', '#'])
                .next()
                .unwrap_or_default(),
            None => input,
        };
        let letters: String = candidate
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if letters.len() != LETTERS || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(InvalidRoomCode);
        }
        Self::parse(&format_groups(&letters))
    }

    /// A fresh random code, from the operating system's cryptographically secure generator.
    #[cfg(feature = "ssr")]
    pub fn generate() -> Self {
        use rand::Rng;
        let mut rng = rand::rng();
        let letters: String = (0..LETTERS)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect();
        Self(format_groups(&letters))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path of the meeting's page.
    pub fn path(&self) -> String {
        format!("{}{}", crate::pages::address::MEETING_PATH_PREFIX, self.0)
    }
}

/// Inserts the dashes into ten letters: `abcdefghij` becomes `abc-defg-hij`.
fn format_groups(letters: &str) -> String {
    let mut out = String::with_capacity(CODE_LEN);
    let mut start = 0;
    for (i, len) in GROUPS.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push_str(&letters[start..start + len]);
        start += len;
    }
    out
}

impl fmt::Display for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RoomCode {
    type Error = InvalidRoomCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RoomCode> for String {
    fn from(code: RoomCode) -> Self {
        code.0
    }
}

impl std::str::FromStr for RoomCode {
    type Err = InvalidRoomCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_codes() {
        let code = RoomCode::parse("abc-defg-hij").unwrap();
        assert_eq!(code.as_str(), "abc-defg-hij");
        assert_eq!(code.path(), "/r/abc-defg-hij");
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "abc",
            "abc-defg-hi",
            "abc-defg-hijk",
            "abcd-efg-hij",
            "ABC-DEFG-HIJ",
            "abc-de1g-hij",
            "abc_defg_hij",
            "abc-defg-hij-",
            "-abc-defg-hij",
            "abc--defg-hij",
            "abc-défg-hij",
            "abc-defg-hij\n",
            "../../etc/passwd",
        ] {
            assert_eq!(RoomCode::parse(bad), Err(InvalidRoomCode), "{bad:?}");
        }
    }

    #[test]
    fn reads_what_people_type_or_paste() {
        let want = RoomCode::parse("abc-defg-hij").unwrap();
        for input in [
            "abc-defg-hij",
            "  ABC-DEFG-HIJ ",
            "abcdefghij",
            "abc defg hij",
            "http://localhost:3000/r/abc-defg-hij",
            "https://meet.example.org/r/abc-defg-hij?x=1#top",
            "meet.example.org/r/abc-defg-hij/",
        ] {
            assert_eq!(
                RoomCode::from_user_input(input),
                Ok(want.clone()),
                "{input:?}"
            );
        }
        for bad in [
            "",
            "abcdefghi",
            "abcdefghijk",
            "abc-defg-hi1",
            "https://x/r/",
            "ñbcdefghij",
        ] {
            assert!(RoomCode::from_user_input(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_validates() {
        let ok: RoomCode = serde_json::from_str("\"abc-defg-hij\"").unwrap();
        assert_eq!(ok.as_str(), "abc-defg-hij");
        assert!(serde_json::from_str::<RoomCode>("\"nope\"").is_err());
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"abc-defg-hij\"");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn generated_codes_are_valid_and_distinct() {
        let codes: std::collections::HashSet<RoomCode> =
            (0..10_000).map(|_| RoomCode::generate()).collect();
        // With 47 bits of randomness, a collision among 10,000 codes has odds near 1 in 3 million.
        assert_eq!(codes.len(), 10_000);
        for code in &codes {
            assert_eq!(RoomCode::parse(code.as_str()).as_ref(), Ok(code));
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn generated_codes_use_every_letter_in_every_position() {
        // A cheap check that no position is stuck or biased towards a few letters.
        let mut seen = [[false; 26]; CODE_LEN];
        for _ in 0..5_000 {
            for (pos, b) in RoomCode::generate().as_str().bytes().enumerate() {
                if b != b'-' {
                    seen[pos][(b - b'a') as usize] = true;
                }
            }
        }
        for (pos, letters) in seen.iter().enumerate() {
            if ![3, 8].contains(&pos) {
                assert!(letters.iter().all(|s| *s), "position {pos} missed a letter");
            }
        }
    }
}
