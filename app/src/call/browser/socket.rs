//! The signaling WebSocket: opening it at `/ws` on the page's own host, sending text,
//! and passing what happens to it on as [`SocketEvent`]s. What to do about them (join,
//! resume, reconnect) is the call's business (`browser::Call`).

use super::shims::describe;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// What happened to the socket.
pub enum SocketEvent {
    Open,
    Message(String),
    /// Closed, with the close code (1006 when it just broke).
    Closed(u16),
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// One signaling connection and its event handlers.
pub struct Socket {
    ws: WebSocket,
    _handlers: Vec<Handler>,
}

impl Socket {
    /// Opens a connection to the page's server; events go to `on_event`.
    pub fn open(on_event: impl Fn(SocketEvent) + 'static) -> Result<Self, String> {
        let location = web_sys::window().ok_or("no window")?.location();
        let scheme = match location.protocol().map_err(describe)?.as_str() {
            "https:" => "wss",
            _ => "ws",
        };
        let url = format!("{scheme}://{}/ws", location.host().map_err(describe)?);
        let ws = WebSocket::new(&url).map_err(describe)?;
        let on_event = std::rc::Rc::new(on_event);

        let events = on_event.clone();
        let on_message = Handler::new(move |event: JsValue| {
            if let Some(text) = event.unchecked_into::<MessageEvent>().data().as_string() {
                events(SocketEvent::Message(text));
            }
        });
        let events = on_event.clone();
        let on_open = Handler::new(move |_| events(SocketEvent::Open));
        let events = on_event;
        let on_close = Handler::new(move |event: JsValue| {
            events(SocketEvent::Closed(
                event.unchecked_into::<CloseEvent>().code(),
            ));
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            _handlers: vec![on_message, on_open, on_close],
        })
    }

    /// Sends a text frame; `false` when the socket is not open.
    pub fn send(&self, text: &str) -> bool {
        self.is_open() && self.ws.send_with_str(text).is_ok()
    }

    pub fn is_open(&self) -> bool {
        self.ws.ready_state() == WebSocket::OPEN
    }

    /// Detaches the handlers (so no event reaches a dropped one) and closes the socket.
    pub fn shut_down(&self) {
        self.ws.set_onmessage(None);
        self.ws.set_onopen(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
