//! What the call does with each message from the server: the welcome (or the resume
//! after a dropped connection or a restart), people joining, leaving and coming back,
//! signals for a connection, media and hand news, chat, and refusals.

use super::peer::Peer;
use super::shims::{self, log};
use super::{set_if_changed, Call};
use crate::call::negotiation::{Event, FirstOffer};
use crate::call::session::Pacer;
use crate::call::{Device, Phase};
use crate::protocol::{
    ClientMessage, ErrorCode, IceServer, IceTransportPolicy, Knock, MeetingSettings, PeerId,
    PeerInfo, Role, ServerMessage, SessionLimits, Transport,
};
use leptos::prelude::*;
use std::rc::Rc;

impl Call {
    pub(super) fn handle(self: &Rc<Self>, message: ServerMessage) {
        match message {
            ServerMessage::Welcome {
                you,
                peers,
                ice_servers,
                ice_transport_policy,
                token,
                limits,
                role,
                settings,
                waiting,
                transport,
                ..
            } => {
                self.meeting_rules(role, settings, waiting);
                if self.session.borrow().me.is_some() {
                    // Our old session could not be resumed: the others saw us leave
                    // and will connect to the new id afresh.
                    self.drop_peers();
                    self.outgoing.borrow_mut().queue.clear();
                }
                self.session.borrow_mut().seen.restart();
                self.start_route(transport);
                self.welcomed(you, token, limits, (ice_servers, ice_transport_policy));
                for peer in peers {
                    self.add_peer(peer, FirstOffer::Ours);
                }
                if transport == Transport::Sfu {
                    self.open_server_link();
                }
            }
            ServerMessage::Resumed {
                you,
                peers,
                ice_servers,
                ice_transport_policy,
                token,
                limits,
                complete,
                role,
                settings,
                waiting,
                transport,
            } => {
                self.meeting_rules(role, settings, waiting);
                self.welcomed(you, token, limits, (ice_servers, ice_transport_policy));
                if !complete && transport == Transport::Sfu && self.transport() == Transport::Sfu {
                    // The restarted server forgot our media session: open it again.
                    // Until its tracks come, the pictures through it are not moving.
                    self.server_media_reachable(false);
                    self.open_server_link();
                }
                if !complete {
                    // It forgot any move under way too.
                    self.restart_route(transport);
                }
                if !complete {
                    // The server restarted: numbering starts over, messages may have
                    // been lost, and the room is only what came back so far.
                    self.session.borrow_mut().seen.restart();
                    self.reconcile(peers, limits);
                }
            }
            ServerMessage::PeerJoined { peer } => {
                let known = self.peers.borrow().get(&peer.id).cloned();
                match known {
                    // Back after their connection to Parley dropped.
                    Some(known) => {
                        known.remote.role.try_set(peer.role);
                        known.remote.name.try_set(peer.name);
                        known.remote.media.try_set(peer.media);
                        known.remote.hand.try_set(peer.hand);
                        known.set_away(None);
                    }
                    None => self.add_peer(peer, FirstOffer::Theirs),
                }
            }
            ServerMessage::PeerReconnecting { id } => {
                let grace = self.grace_ms();
                if let Some(peer) = self.peers.borrow().get(&id) {
                    // Parley tells us when they leave; this is only a backstop.
                    peer.set_away(Some(shims::now() + grace * 2));
                }
            }
            ServerMessage::PeerLeft { id, .. } => self.remove_peer(id),
            ServerMessage::Media { from, media } => {
                if let Some(remote) = self.state.remote(from) {
                    remote.media.try_set(media);
                }
            }
            ServerMessage::Hand { from, hand } => {
                if self.session.borrow().me == Some(from) {
                    self.state.my_hand.try_set(hand);
                } else if let Some(remote) = self.state.remote(from) {
                    remote.hand.try_set(hand);
                }
            }
            ServerMessage::Signal {
                from,
                epoch,
                signal,
            } => {
                let peer = self.peers.borrow().get(&from).cloned();
                if let Some(peer) = peer {
                    peer.feed(Event::Remote { epoch, signal });
                }
            }
            ServerMessage::Chat { message } => self.chat_arrived(message),
            ServerMessage::ChatHistory { messages } => self.chat_history(messages),
            ServerMessage::Pong => {}
            ServerMessage::SfuAnswer { sdp } => {
                if let Some(link) = &*self.server_link.borrow() {
                    link.answered(sdp);
                }
            }
            ServerMessage::SfuSlots { slots } => self.slots_changed(slots),
            ServerMessage::TransportChanged { transport } => self.change_transport(transport),
            ServerMessage::TransportSettled { transport } => self.transport_settled(transport),
            ServerMessage::SfuOffer { sdp } => {
                if let Some(link) = &*self.server_link.borrow() {
                    link.offered(sdp);
                }
            }
            ServerMessage::Waiting { .. } => {
                self.session.borrow_mut().asking = true;
                set_if_changed(self.state.problem, None);
                set_if_changed(self.state.phase, Phase::Asking);
            }
            ServerMessage::Knocking { knock } => {
                self.state.waiting.try_update(|waiting| {
                    waiting.retain(|k| k.id != knock.id);
                    waiting.push(knock);
                });
            }
            ServerMessage::KnockEnded { id, .. } => {
                self.state
                    .waiting
                    .try_update(|waiting| waiting.retain(|k| k.id != id));
            }
            ServerMessage::Dismissed { reason, by } => {
                self.hang_up();
                self.state.phase.try_set(Phase::Dismissed(reason, by));
            }
            ServerMessage::RoleChanged { id, role } => {
                if self.session.borrow().me == Some(id) {
                    self.state.my_role.try_set(role);
                } else if let Some(remote) = self.state.remote(id) {
                    remote.role.try_set(role);
                }
            }
            ServerMessage::TurnedOff {
                by,
                microphone,
                camera,
            } => self.turned_off(by, microphone, camera),
            ServerMessage::SettingsChanged { settings, .. } => {
                self.state.settings.try_set(settings);
                let role = self.state.my_role.get_untracked();
                if !settings.may_present(role) && self.presenting().is_some() {
                    self.stop_presenting();
                }
            }
            ServerMessage::Error { code, message } => self.refused(code, message),
        }
    }

    /// What the server says the local person may do, and who is waiting.
    fn meeting_rules(&self, role: Role, settings: MeetingSettings, waiting: Vec<Knock>) {
        self.session.borrow_mut().asking = false;
        set_if_changed(self.state.my_role, role);
        set_if_changed(self.state.settings, settings);
        set_if_changed(self.state.waiting, waiting);
    }

    /// A host turned our microphone and/or camera off: off they go, and we say who.
    fn turned_off(self: &Rc<Self>, by: PeerId, microphone: bool, camera: bool) {
        let who = self
            .state
            .remote(by)
            .and_then(|r| r.name.try_get_untracked())
            .unwrap_or_else(|| "A host".into());
        let what = match (microphone, camera) {
            (true, true) => "microphone and camera",
            (false, true) => "camera",
            _ => "microphone",
        };
        self.state
            .notice
            .try_set(Some(format!("{who} turned off your {what}")));
        let Some(local) = self.local.clone() else {
            return;
        };
        let call = self.clone();
        leptos::task::spawn_local(async move {
            if microphone {
                local.set(Device::Microphone, false).await;
            }
            if camera {
                local.set(Device::Camera, false).await;
            }
            call.local_changed();
        });
    }

    /// What a welcome and a resume have in common.
    pub(super) fn welcomed(
        self: &Rc<Self>,
        you: PeerId,
        token: String,
        limits: SessionLimits,
        ice: (Vec<IceServer>, IceTransportPolicy),
    ) {
        {
            let mut session = self.session.borrow_mut();
            session.me = Some(you);
            session.token = Some(token);
            session.limits = Some(limits);
            session.welcomed = true;
            session.attempts = 0;
        }
        self.outgoing.borrow_mut().pacer =
            Some(Pacer::new(limits.messages_per_second, shims::now()));
        *self.ice.borrow_mut() = ice;
        set_if_changed(self.state.my_id, Some(you));
        // Only on a change: setting a signal to the value it has still re-renders what
        // follows it, and a fresh stage would reload every video.
        set_if_changed(self.state.problem, None);
        set_if_changed(self.state.phase, Phase::InCall);
        self.flush();
    }

    /// After a restart: the server's room is whoever came back so far. Those we know
    /// keep their connections; those not back yet are waited for; newcomers are added.
    pub(super) fn reconcile(self: &Rc<Self>, peers: Vec<PeerInfo>, limits: SessionLimits) {
        let until = shims::now() + limits.resume_grace_ms;
        let present: Vec<PeerId> = peers.iter().map(|p| p.id).collect();
        let known: Vec<Rc<Peer>> = self.peers.borrow().values().cloned().collect();
        for peer in &known {
            if !present.contains(&peer.remote.id) {
                peer.set_away(Some(until));
            }
            peer.feed(Event::SignalsMayBeLost);
        }
        for info in peers {
            let known = self.state.remote(info.id);
            match known {
                Some(remote) => {
                    remote.hand.try_set(info.hand);
                }
                None => self.add_peer(info, FirstOffer::Ours),
            }
        }
        // The restarted server forgot our hand: raise it again.
        if self.state.my_hand.try_get_untracked().flatten().is_some() {
            self.send(&ClientMessage::Hand { raised: true });
        }
    }

    pub(super) fn refused(self: &Rc<Self>, code: ErrorCode, message: String) {
        log(&format!("Parley refused a message ({code:?}): {message}"));
        if code == ErrorCode::ResumeRefused {
            // Our session is over (gone too long, or unknown): join as someone new.
            self.session.borrow_mut().token = None;
            let join = self.join_message();
            self.send_now(&join);
            return;
        }
        if code == ErrorCode::ChatRefused {
            self.state.chat_problem.try_set(Some(message));
            return;
        }
        if matches!(code, ErrorCode::NotAllowed | ErrorCode::NotWaiting) {
            self.state.notice.try_set(Some(message));
            return;
        }
        if self.session.borrow().welcomed {
            return;
        }
        if code.is_transient() {
            // For instance the room is still full of our own ghost: try again shortly.
            if let Some(old) = self.socket.take() {
                old.shut_down();
            }
            self.reconnect_later(None);
            return;
        }
        // The join itself failed for good: nothing else will happen on this connection.
        self.hang_up();
        self.state.problem.try_set(Some(message));
        self.state.phase.try_set(Phase::Lobby);
    }
}
