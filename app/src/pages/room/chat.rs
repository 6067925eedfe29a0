//! The meeting chat: the button with its unread count, and the side panel with the
//! messages (names, times, text with safe links) and the box to write in.

use crate::call::chat::{linkify, Piece};
use crate::call::CallState;
use crate::pages::icons::ChatIcon;
use crate::protocol::{ChatMessage, MAX_CHAT_CHARS};
use leptos::prelude::*;

/// Opens and closes the chat; shows how many messages came while it was closed.
#[component]
pub fn ChatButton(state: CallState, people_open: RwSignal<bool>) -> impl IntoView {
    let open = state.chat_open;
    let unread = move || state.chat_unread.get();
    let label = move || match unread() {
        0 => "Chat".to_owned(),
        1 => "Chat (1 unread message)".to_owned(),
        n => format!("Chat ({n} unread messages)"),
    };
    let toggle = move |_| {
        let opening = !open.get_untracked();
        if opening {
            // One side panel at a time, as in Meet.
            people_open.set(false);
        }
        open.set(opening);
    };
    view! {
        <button
            type="button"
            class="round with-count"
            class:on=move || open.get()
            aria-pressed=move || open.get().to_string()
            aria-controls=move || open.get().then_some("chat-panel")
            aria-label=label
            title="Chat"
            on:click=toggle
        >
            <ChatIcon/>
            <Show when=move || { unread() > 0 }>
                <span class="count unread" aria-hidden="true">{unread}</span>
            </Show>
        </button>
    }
}

/// The chat panel, shown while the chat is open.
#[component]
pub fn ChatPanel(state: CallState) -> impl IntoView {
    let may_chat = move || state.settings.get().may_chat(state.my_role.get());
    // Whatever is on screen has been read.
    Effect::new(move |_| {
        state.chat.track();
        if state.chat_unread.get_untracked() != 0 {
            state.chat_unread.set(0);
        }
    });
    let draft = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    let call = expect_context::<crate::call::browser::CallHandle>();
    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        #[cfg(feature = "hydrate")]
        call.send_chat(text);
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
        draft.set(String::new());
    };
    // Enter sends; Shift+Enter starts a new line.
    let on_key = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
            event.prevent_default();
            send();
        }
    };
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        send();
    };
    // The newest message stays in view.
    let log = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        state.chat.track();
        if let Some(log) = log.get() {
            log.set_scroll_top(log.scroll_height());
        }
    });
    let me = move || state.my_id.get();
    view! {
        <aside id="chat-panel" class="side-panel chat-panel" aria-labelledby="chat-title">
            <header class="side-panel-header">
                <h2 id="chat-title">"Chat"</h2>
                <button type="button" class="button" on:click=move |_| state.chat_open.set(false)>
                    "Close"
                </button>
            </header>
            <div class="chat-log" node_ref=log role="log" aria-label="Messages">
                <Show when=move || state.chat.with(Vec::is_empty)>
                    <p class="chat-empty">
                        "No messages yet. Messages are seen by everyone in the meeting, also by those who join later."
                    </p>
                </Show>
                <ol class="chat-messages">
                    <For
                        each=move || state.chat.get()
                        key=|message| message.id
                        children=move |message: ChatMessage| {
                            let mine = me() == Some(message.from);
                            view! { <Message message mine/> }
                        }
                    />
                </ol>
            </div>
            {move || {
                state
                    .chat_problem
                    .get()
                    .map(|problem| view! { <p class="chat-problem" role="alert">{problem}</p> })
            }}
            <Show when=move || !may_chat()>
                <p class="chat-problem" role="status">"Only hosts can send messages in this meeting"</p>
            </Show>
            <form class="chat-form" on:submit=on_submit>
                <textarea
                    id="chat-input"
                    rows="2"
                    maxlength=MAX_CHAT_CHARS.to_string()
                    aria-label="Message to everyone"
                    disabled=move || !may_chat()
                    placeholder="Send a message to everyone"
                    prop:value=move || draft.get()
                    on:input=move |event| draft.set(event_target_value(&event))
                    on:keydown=on_key
                ></textarea>
                <button type="submit" class="button primary" disabled=move || !may_chat()>
                    "Send"
                </button>
            </form>
        </aside>
    }
    .into_any()
}

/// One message: who, when, and the text, with web addresses as links that open in a
/// new tab without giving it a handle on this page.
#[component]
fn Message(message: ChatMessage, mine: bool) -> impl IntoView {
    let who = if mine {
        "You".to_owned()
    } else {
        message.name.clone()
    };
    let pieces = linkify(&message.text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.into_any(),
            Piece::Link(url) => {
                let href = url.clone();
                view! { <a href=href target="_blank" rel="noopener noreferrer">{url}</a> }
                    .into_any()
            }
        })
        .collect_view();
    view! {
        <li class="chat-message">
            <div class="chat-meta">
                <span class="chat-name">{who}</span>
                <time>{clock(message.sent_at)}</time>
            </div>
            <p class="chat-text">{pieces}</p>
        </li>
    }
}

/// The time of day a message was sent, on the reader's clock ("14:05").
fn clock(sent_at_ms: u64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(sent_at_ms as f64));
        format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        // Only the browser shows the chat; this is the UTC time.
        let minutes = sent_at_ms / 60_000;
        format!("{:02}:{:02}", (minutes / 60) % 24, minutes % 60)
    }
}
