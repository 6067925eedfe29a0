//! Chat messages as they travel: what a participant sends is checked and tidied here,
//! by the same rules on both sides.

use super::PeerId;
use serde::{Deserialize, Serialize};

/// Longest chat message accepted, in characters.
pub const MAX_CHAT_CHARS: usize = 2_000;

/// How many of a meeting's latest messages someone who joins is sent.
pub const CHAT_HISTORY: usize = 200;

/// A chat message as the meeting saw it: numbered by the server (`id` grows with each
/// message of any meeting), with who sent it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: u64,
    pub from: PeerId,
    /// The sender's name when they sent it (they may have left since).
    pub name: String,
    /// Plain text: never markup.
    pub text: String,
    /// When the server took it, in milliseconds since the Unix epoch.
    pub sent_at: u64,
}

/// Why a chat message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChatTextError {
    #[error("the message is empty")]
    Empty,
    #[error("messages may be at most {MAX_CHAT_CHARS} characters")]
    TooLong,
}

/// Tidies a chat message: line ends kept, other control characters removed, blank
/// lines around it trimmed; refused when nothing is left or it is too long.
pub fn clean_chat_text(raw: &str) -> Result<String, ChatTextError> {
    let text: String = raw
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect();
    let text = text.trim();
    match text.chars().count() {
        0 => Err(ChatTextError::Empty),
        n if n > MAX_CHAT_CHARS => Err(ChatTextError::TooLong),
        _ => Ok(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_is_tidied_and_bounded() {
        assert_eq!(clean_chat_text("  hi\r\nthere \n"), Ok("hi\nthere".into()));
        assert_eq!(clean_chat_text("a\u{0}b\u{1b}[31mc"), Ok("ab[31mc".into()));
        assert_eq!(clean_chat_text(" \n\t "), Err(ChatTextError::Empty));
        assert_eq!(
            clean_chat_text(&"é".repeat(MAX_CHAT_CHARS)).map(|t| t.chars().count()),
            Ok(MAX_CHAT_CHARS)
        );
        assert_eq!(
            clean_chat_text(&"é".repeat(MAX_CHAT_CHARS + 1)),
            Err(ChatTextError::TooLong)
        );
        // Markup is kept as the text it is; showing it as text is the page's job.
        assert_eq!(clean_chat_text("<b>x</b>"), Ok("<b>x</b>".into()));
    }
}
