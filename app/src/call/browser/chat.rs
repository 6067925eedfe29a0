//! The meeting chat in the browser: what the server sends goes into the page's log
//! (`call::chat` keeps it ordered and free of repeats), and what the person writes
//! goes out through the signaling connection, queued while it is down.

use super::Call;
use crate::call::chat;
use crate::protocol::{ChatMessage, ClientMessage};
use leptos::prelude::*;
use std::rc::Rc;

impl Call {
    /// A message sent to the meeting now: counted as unread unless it is ours or the
    /// panel is open.
    pub(super) fn chat_arrived(&self, message: ChatMessage) {
        let state = self.state;
        let ours = self.session.borrow().me == Some(message.from);
        let mut added = 0;
        state
            .chat
            .try_update(|log| added = chat::merge(log, [message]));
        if added > 0 && !ours && state.chat_open.try_get_untracked() == Some(false) {
            state.chat_unread.try_update(|unread| *unread += 1);
        }
    }

    /// The meeting's recent messages (after joining, or coming back after a restart):
    /// added to what the page has, not counted as unread.
    pub(super) fn chat_history(&self, messages: Vec<ChatMessage>) {
        self.state.chat.try_update(|log| {
            chat::merge(log, messages);
        });
    }

    /// Sends a message to the meeting; the server sends it back with its id.
    pub(super) fn send_chat(self: &Rc<Self>, text: String) {
        self.state.chat_problem.try_set(None);
        self.send(&ClientMessage::Chat { text });
    }
}
