//! The signaling connection of a [`Call`]: opening it, joining or resuming once it is
//! open, noticing when it drops or falls silent and reconnecting (following the rules
//! in `call::session`), and sending, paced to the server's limit.

use super::peer::Peer;
use super::shims::{self, log};
use super::socket::{Socket, SocketEvent};
use super::{set_if_changed, Call};
use crate::call::negotiation::Event;
use crate::call::session;
use crate::protocol::{
    ClientMessage, Delivery, Epoch, PeerId, Signal, CLOSE_RESTARTING, PROTOCOL_VERSION,
};
use leptos::prelude::*;
use std::rc::Rc;
use std::time::Duration;

/// Messages kept for sending while the socket is down.
const MAX_OUTGOING: usize = 1_000;
/// How often connection details are read while they are on screen.
const DETAILS_EVERY: u64 = 2_000;

impl Call {
    /// Opens a signaling connection; it joins (or resumes) once open.
    pub(super) fn connect(self: &Rc<Self>) {
        if self.closing.get() {
            return;
        }
        let weak = Rc::downgrade(self);
        let opened = Socket::open(move |event| {
            if let Some(call) = weak.upgrade() {
                call.on_socket(event);
            }
        });
        match opened {
            Ok(socket) => {
                {
                    let mut session = self.session.borrow_mut();
                    session.welcomed = false;
                    session.asking = false;
                    session.silence.heard();
                }
                if let Some(old) = self.socket.replace(Some(socket)) {
                    old.shut_down();
                }
            }
            Err(error) => {
                log(&format!("could not connect to Parley: {error}"));
                self.reconnect_later(None);
            }
        }
    }

    pub(super) fn on_socket(self: &Rc<Self>, event: SocketEvent) {
        match event {
            SocketEvent::Open => self.introduce(),
            SocketEvent::Message(text) => {
                self.session.borrow_mut().silence.heard();
                match Delivery::from_json(&text) {
                    Ok(Delivery { seq, message }) => {
                        if self.session.borrow_mut().seen.admit(seq) {
                            self.handle(message);
                        }
                    }
                    Err(error) => log(&format!("unreadable signaling message: {error}")),
                }
            }
            SocketEvent::Closed(code) => {
                if let Some(old) = self.socket.take() {
                    old.shut_down();
                }
                // A server going down for a restart says so: come back soon.
                let attempt = (code == CLOSE_RESTARTING).then_some(0);
                self.reconnect_later(attempt);
            }
        }
    }

    /// The first message on a new socket: resume if we were in the room, else join.
    pub(super) fn introduce(&self) {
        let message = {
            let session = self.session.borrow();
            match &session.token {
                Some(token) => ClientMessage::Resume {
                    version: PROTOCOL_VERSION,
                    room: self.room.clone(),
                    token: token.clone(),
                    last_seen: session.seen.last(),
                    name: self.name.clone(),
                    media: self.sent_media.borrow().clone(),
                    transport: self.route.borrow().target(),
                },
                None => self.join_message(),
            }
        };
        self.send_now(&message);
    }

    pub(super) fn join_message(&self) -> ClientMessage {
        ClientMessage::Join {
            version: PROTOCOL_VERSION,
            room: self.room.clone(),
            name: self.name.clone(),
            media: self.sent_media.borrow().clone(),
        }
    }

    /// Says the connection dropped and tries again after a pause (attempt `attempt`,
    /// or the next one). Calls go on meanwhile.
    pub(super) fn reconnect_later(self: &Rc<Self>, attempt: Option<u32>) {
        if self.closing.get() {
            return;
        }
        let attempt = {
            let mut session = self.session.borrow_mut();
            session.welcomed = false;
            let attempt = attempt.unwrap_or(session.attempts);
            session.attempts = attempt + 1;
            attempt
        };
        set_if_changed(
            self.state.problem,
            Some("The connection to Parley was lost. Reconnecting…".into()),
        );
        let through_server = self.transport() == crate::protocol::Transport::Sfu;
        let delay = session::reconnect_delay(attempt, shims::random(), through_server);
        let weak = Rc::downgrade(self);
        set_timeout(
            move || {
                if let Some(call) = weak.upgrade() {
                    if call.socket.borrow().is_none() {
                        call.connect();
                    }
                }
            },
            Duration::from_millis(delay),
        );
    }

    /// Drops the current socket (dead, half-open, or just suspect) and connects again.
    pub(super) fn reconnect_now(self: &Rc<Self>) {
        if self.closing.get() {
            return;
        }
        if let Some(old) = self.socket.take() {
            old.shut_down();
        }
        self.session.borrow_mut().attempts = 0;
        self.connect();
    }

    /// Every second: each connection's timers, the socket's liveness, our ping.
    pub(super) fn tick(self: &Rc<Self>) {
        let now = shims::now();
        let peers: Vec<Rc<Peer>> = self.peers.borrow().values().cloned().collect();
        let read_details = self.state.details_shown.try_get_untracked() == Some(true)
            && now.saturating_sub(self.details_read_at.get()) >= DETAILS_EVERY;
        if read_details {
            self.details_read_at.set(now);
        }
        for peer in peers {
            if peer.gone_by(now) {
                self.remove_peer(peer.remote.id);
            } else {
                peer.feed(Event::Tick);
                if read_details {
                    peer.read_details();
                }
            }
        }
        if read_details {
            if let Some(link) = &*self.server_link.borrow() {
                link.read_details();
            }
        }
        // Also sets limits a sender could not take before its first negotiation.
        self.limit_video();
        // Also catches tiles no resize announced (a new one, a scroll).
        self.tell_tiles_shown();
        let open = self.socket.borrow().as_ref().is_some_and(Socket::is_open);
        if !open {
            return;
        }
        let (silent, welcomed, last_ping, seen) = {
            let mut session = self.session.borrow_mut();
            (
                session.silence.check(now),
                // Someone asking to join says "still here" too.
                session.welcomed || session.asking,
                session.last_ping,
                session.seen.last(),
            )
        };
        if silent {
            log("the connection to Parley went silent; reconnecting");
            set_if_changed(
                self.state.problem,
                Some("The connection to Parley was lost. Reconnecting…".into()),
            );
            self.reconnect_now();
            return;
        }
        if welcomed && now.saturating_sub(last_ping) >= session::PING_EVERY {
            self.session.borrow_mut().last_ping = now;
            self.send_now(&ClientMessage::Ping { seen });
        }
    }

    /// Sends a signal to `to`, paced.
    pub(super) fn send_signal(self: &Rc<Self>, to: PeerId, epoch: Epoch, signal: Signal) {
        self.send(&ClientMessage::Signal { to, epoch, signal });
    }

    /// Queues a message, sent as fast as the server's limit allows (and kept while
    /// the socket is down, to go out once the session is resumed).
    pub(super) fn send(self: &Rc<Self>, message: &ClientMessage) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        {
            let mut outgoing = self.outgoing.borrow_mut();
            if outgoing.queue.len() >= MAX_OUTGOING {
                outgoing.queue.pop_front();
            }
            outgoing.queue.push_back(text);
        }
        self.flush();
    }

    /// Sends what the pacer allows now, and comes back for the rest.
    pub(super) fn flush(self: &Rc<Self>) {
        if !self.session.borrow().welcomed {
            return;
        }
        let socket = self.socket.borrow();
        let Some(socket) = socket.as_ref() else {
            return;
        };
        let mut outgoing = self.outgoing.borrow_mut();
        let outgoing = &mut *outgoing;
        let now = shims::now();
        while let Some(text) = outgoing.queue.front() {
            let allowed = match &mut outgoing.pacer {
                Some(pacer) => pacer.take(now),
                None => Ok(()),
            };
            match allowed {
                Ok(()) => {
                    if !socket.send(text) {
                        return;
                    }
                    outgoing.queue.pop_front();
                }
                Err(wait) => {
                    if !outgoing.flush_scheduled {
                        outgoing.flush_scheduled = true;
                        let weak = Rc::downgrade(self);
                        set_timeout(
                            move || {
                                if let Some(call) = weak.upgrade() {
                                    call.outgoing.borrow_mut().flush_scheduled = false;
                                    call.flush();
                                }
                            },
                            Duration::from_millis(wait),
                        );
                    }
                    return;
                }
            }
        }
    }

    /// Sends at once, outside the queue (join, resume, ping, leave).
    pub(super) fn send_now(&self, message: &ClientMessage) {
        if let (Ok(text), Some(socket)) = (serde_json::to_string(message), &*self.socket.borrow()) {
            socket.send(&text);
        }
    }
}
