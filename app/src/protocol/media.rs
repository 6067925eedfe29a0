//! A participant's media as the room hears of it: microphone, camera, and the stream
//! their presentation arrives in.

use serde::{Deserialize, Serialize};

/// Whether a participant's microphone and camera are on, and whether they present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    pub audio: bool,
    pub video: bool,
    /// While they present their screen: the stream it arrives in (its id, the
    /// `msid` of its track), which tells it apart from their camera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<StreamId>,
}

impl Default for MediaState {
    fn default() -> Self {
        Self {
            audio: true,
            video: true,
            screen: None,
        }
    }
}

/// The longest stream id accepted (browsers make UUIDs: 36 characters, 38 in braces).
pub const MAX_STREAM_ID_CHARS: usize = 64;

/// A `MediaStream` id as browsers make them: at most [`MAX_STREAM_ID_CHARS`]
/// letters, digits, `-`, `_`, `{` and `}`. Anything else fails to parse.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct StreamId(String);

impl StreamId {
    pub fn new(id: &str) -> Option<Self> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '{' | '}');
        (!id.is_empty() && id.len() <= MAX_STREAM_ID_CHARS && id.chars().all(allowed))
            .then(|| Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Self::new(&id).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "a stream id is 1 to {MAX_STREAM_ID_CHARS} letters, digits, '-', '_', '{{' or '}}'"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stream_ids_are_what_browsers_make_and_nothing_else() {
        for good in [
            "{0b6f9c2e-5a1d-4c3b-9e8f-1a2b3c4d5e6f}",
            "a1b2-c3",
            &"x".repeat(64),
        ] {
            assert!(StreamId::new(good).is_some(), "{good}");
        }
        for bad in ["", "a b", "<b>", "x\"y", &"x".repeat(65)] {
            assert!(StreamId::new(bad).is_none(), "{bad}");
        }
        let media: MediaState = serde_json::from_value(json!({"audio": true, "video": false}))
            .expect("an older client's media state");
        assert_eq!(media.screen, None);
        let refused = serde_json::from_value::<MediaState>(
            json!({"audio": true, "video": true, "screen": "<img src=x>"}),
        );
        assert!(refused.is_err());
    }
}
