//! The meeting's chat: a message is checked, kept in the database, then sent to
//! everyone in the room; someone who joins gets the latest ones.

use super::connection::{Joined, Session};
use app::protocol::{
    clean_chat_text, ChatMessage, ErrorCode, MeetingSettings, ServerMessage, CHAT_HISTORY,
};
use app::room_code::RoomCode;
use std::time::SystemTime;

/// Chat messages per second one participant may send (bursts of twice as many).
pub const CHAT_PER_SECOND: u32 = 2;

impl Session {
    pub(super) async fn chat(&mut self, text: &str) {
        let Some(Joined { room, id, name }) = &self.joined else {
            return self.refuse(ErrorCode::NotJoined, "join a meeting before chatting");
        };
        if !room.allows(*id, MeetingSettings::may_chat) {
            return self.refuse(
                ErrorCode::NotAllowed,
                "not sent: only hosts may send chat messages in this meeting now",
            );
        }
        let text = match clean_chat_text(text) {
            Ok(text) => text,
            Err(error) => return self.refuse(ErrorCode::ChatRefused, format!("not sent: {error}")),
        };
        if !self.chat_limiter.allow() {
            return self.refuse(
                ErrorCode::ChatRefused,
                format!(
                    "not sent: at most {CHAT_PER_SECOND} chat messages a second; wait a moment"
                ),
            );
        }
        // Counted as it is stored: the text and the name beside it.
        let bytes = text.len() + name.len();
        let signaling = self.signaling.clone();
        if !signaling
            .take_allowance(&signaling.chat_quota, "chat", self.client, bytes)
            .await
        {
            return self.refuse(
                ErrorCode::ChatRefused,
                format!(
                    "not sent: chat from your address is over its allowance of {} bytes an hour; wait a while",
                    self.signaling.chat_quota.amount()
                ),
            );
        }
        let (room, id) = (room.clone(), *id);
        let kept = self
            .signaling
            .store
            .add_chat(
                room.code(),
                id,
                name,
                &text,
                SystemTime::now(),
                CHAT_HISTORY,
            )
            .await;
        match kept {
            Ok(message) => {
                let news = ServerMessage::Chat { message };
                room.broadcast(id, &news);
                metrics::counter!(crate::monitoring::MESSAGES_RELAYED, "type" => "chat")
                    .increment(1);
                room.send_to(id, &news);
            }
            Err(error) => {
                tracing::error!(%error, room = %room.code(), "could not keep a chat message");
                self.refuse(
                    ErrorCode::ChatRefused,
                    "not sent: the server failed; try again",
                );
            }
        }
    }

    /// Sends the meeting's latest chat messages (a reply: not numbered, not replayed).
    /// At most half of what may be held for the joiner, so that it always fits: the
    /// oldest of a long-winded meeting's 200 (2,000 wide characters each) are left out.
    pub(super) async fn send_chat_history(&self, code: &RoomCode) {
        let max_bytes = self.signaling.limits.max_held_bytes_per_participant / 2;
        match self.signaling.store.chat_history(code, CHAT_HISTORY).await {
            Ok(messages) => self.reply(&ServerMessage::ChatHistory {
                messages: latest_within(messages, max_bytes),
            }),
            Err(error) => {
                tracing::error!(%error, room = %code, "could not read the chat history");
            }
        }
    }
}

/// The latest of `messages` (oldest first) whose encoding takes at most `max_bytes`.
fn latest_within(mut messages: Vec<ChatMessage>, max_bytes: usize) -> Vec<ChatMessage> {
    let mut total = 0;
    let keep = messages
        .iter()
        .rev()
        .take_while(|message| {
            // Its JSON, and the comma after it.
            total += serde_json::to_string(message).map_or(usize::MAX / 2, |json| json.len() + 1);
            total <= max_bytes
        })
        .count();
    messages.split_off(messages.len() - keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::protocol::PeerId;

    fn message(id: u64, text: String) -> ChatMessage {
        ChatMessage {
            id,
            from: PeerId(1),
            name: "Ada".into(),
            text,
            sent_at: 0,
        }
    }

    #[test]
    fn a_long_winded_history_is_cut_to_its_latest_that_fit() {
        // 200 messages of 2,000 two-byte characters: 800 KB, over 512 KiB.
        let wide: Vec<ChatMessage> = (0..200).map(|id| message(id, "é".repeat(2000))).collect();
        let kept = latest_within(wide, 512 * 1024);
        let size: usize = kept
            .iter()
            .map(|m| serde_json::to_string(m).unwrap().len() + 1)
            .sum();
        assert!(size <= 512 * 1024 && size > 500 * 1024, "{size}");
        assert_eq!(kept.last().unwrap().id, 199, "the newest stays");
        assert!(
            kept.windows(2).all(|pair| pair[0].id + 1 == pair[1].id),
            "in order, no gaps"
        );

        let plain: Vec<ChatMessage> = (0..200).map(|id| message(id, "x".repeat(2000))).collect();
        assert_eq!(
            latest_within(plain, 512 * 1024).len(),
            200,
            "ordinary chat fits whole"
        );
    }
}
