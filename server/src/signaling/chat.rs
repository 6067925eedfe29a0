//! The meeting's chat: a message is checked, kept in the database, then sent to
//! everyone in the room; someone who joins gets the latest ones.

use super::connection::{Joined, Session};
use app::protocol::{clean_chat_text, ErrorCode, ServerMessage, CHAT_HISTORY};
use app::room_code::RoomCode;
use std::time::SystemTime;

/// Chat messages per second one participant may send (bursts of twice as many).
pub const CHAT_PER_SECOND: u32 = 2;

impl Session {
    pub(super) async fn chat(&mut self, text: &str) {
        let Some(Joined { room, id, name }) = &self.joined else {
            return self.refuse(ErrorCode::NotJoined, "join a meeting before chatting");
        };
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
        if !self.signaling.chat_quota.take(self.client, bytes) {
            return self.refuse(
                ErrorCode::ChatRefused,
                format!(
                    "not sent: chat from your address is over its allowance of {} bytes an hour; wait a while",
                    self.signaling.chat_quota.per_hour()
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
    pub(super) async fn send_chat_history(&self, code: &RoomCode) {
        match self.signaling.store.chat_history(code, CHAT_HISTORY).await {
            Ok(messages) => self.reply(&ServerMessage::ChatHistory { messages }),
            Err(error) => {
                tracing::error!(%error, room = %code, "could not read the chat history");
            }
        }
    }
}
