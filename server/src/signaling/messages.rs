//! What each message a participant sends does: joining or resuming, relaying
//! signals, and telling the room about microphones, cameras and hands.

use super::connection::{End, Joined, Session};
use super::hub::Whom;
use super::hub::{Comeback, JoinError};
use crate::monitoring;
use app::protocol::{
    clean_display_name, Access, ClientMessage, Epoch, ErrorCode, MediaState, MeetingSettings,
    PeerId, PeerInfo, Role, ServerMessage, Signal, Transport, MAX_DISPLAY_NAME_CHARS,
    PROTOCOL_VERSION,
};
use app::room_code::RoomCode;
use std::ops::ControlFlow;
use std::time::SystemTime;

impl Session {
    pub(super) async fn handle_text(&mut self, text: &str) -> ControlFlow<End> {
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(error) => {
                self.refuse(
                    ErrorCode::BadMessage,
                    format!("could not read the message: {error}"),
                );
                return ControlFlow::Continue(());
            }
        };
        match message {
            ClientMessage::Join {
                version,
                room,
                name,
                media,
            } => self.join(version, room, &name, media, None).await,
            ClientMessage::Resume {
                version,
                room,
                token,
                last_seen,
                name,
                media,
                transport,
            } => {
                self.join(
                    version,
                    room,
                    &name,
                    media,
                    Some((token, last_seen, transport)),
                )
                .await
            }
            ClientMessage::Signal { to, epoch, signal } => self.signal(to, epoch, signal),
            ClientMessage::Media { media } => self.media(media),
            ClientMessage::Hand { raised } => self.hand(raised),
            ClientMessage::Chat { text } => self.chat(&text).await,
            ClientMessage::Ping { seen } => {
                if let Some(Joined { room, id, .. }) = &self.joined {
                    room.acknowledge(*id, seen);
                }
                self.reply(&ServerMessage::Pong);
            }
            ClientMessage::Leave => return ControlFlow::Break(End::Left),
            ClientMessage::Admit { id } => self.decide(Whom::One(id), true),
            ClientMessage::AdmitAll => self.decide(Whom::Everyone, true),
            ClientMessage::Deny { id } => self.decide(Whom::One(id), false),
            ClientMessage::Remove { id } => self.remove(id).await,
            ClientMessage::TurnOff {
                id,
                microphone,
                camera,
            } => self.turn_off(id, microphone, camera),
            ClientMessage::MuteEveryone => self.mute_everyone(),
            ClientMessage::EndMeeting => self.end_meeting(),
            ClientMessage::SetRole { id, role } => self.set_role(id, role).await,
            ClientMessage::ChangeSettings { settings } => self.change_settings(settings).await,
            ClientMessage::SfuOffer { sdp } => self.sfu_offer(&sdp).await,
            ClientMessage::SfuAnswer { sdp } => self.sfu_answer(&sdp),
            ClientMessage::TransportReady { transport } => self.transport_ready(transport),
            ClientMessage::TilesShown { tiles } => self.tiles_shown(&tiles),
        }
        ControlFlow::Continue(())
    }

    /// A `join`, or with `resume` (token, last seen) a `resume`.
    async fn join(
        &mut self,
        version: u32,
        code: RoomCode,
        name: &str,
        media: MediaState,
        resume: Option<(String, u64, Transport)>,
    ) {
        if self.joined.is_some() || self.knocking.is_some() {
            return self.refuse(
                ErrorCode::AlreadyJoined,
                "this connection is already in a meeting",
            );
        }
        if version != PROTOCOL_VERSION {
            return self.refuse(
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}, not {version}: reload the page"),
            );
        }
        let Some(name) = clean_display_name(name) else {
            return self.refuse(
                ErrorCode::BadName,
                format!("a name needs 1 to {MAX_DISPLAY_NAME_CHARS} characters"),
            );
        };
        // With several nodes, a meeting is joined only at its home (a connection is
        // routed there by its first message; one that named no meeting first, or
        // whose meeting moved meanwhile, is told to connect again).
        if let Some(cluster) = &self.signaling.cluster {
            if !matches!(cluster.home_of(&code).await, Ok(crate::cluster::Home::Here)) {
                return self.refuse(
                    ErrorCode::Internal,
                    "this meeting is on another server: connect again",
                );
            }
        }
        // Who this is: a new id, or the one the token proves.
        let now = SystemTime::now();
        let (id, comeback) = match resume {
            None => match self.signaling.ids.next().await {
                Ok(id) => (id, None),
                Err(error) => {
                    tracing::error!(%error, "could not reserve peer ids");
                    return self.refuse(ErrorCode::Internal, "could not join, try again");
                }
            },
            Some((token, last_seen, transport)) => {
                match self.signaling.tokens.verify(&token, &code, now) {
                    Ok(claims) => (
                        claims.peer,
                        Some(Comeback {
                            last_seen,
                            may_restore: claims.issued_at < self.signaling.restorable_before(&code),
                            transport,
                        }),
                    ),
                    Err(error) => {
                        tracing::info!(connection = self.connection, room = %code, %error, "resume refused");
                        return self
                            .refuse(ErrorCode::ResumeRefused, format!("{error}: join again"));
                    }
                }
            }
        };
        // Checks the room exists, records the activity and reads who may come in, in
        // one query.
        let settings = match self.signaling.store.touch_settings(&code).await {
            Ok(Some(settings)) => settings,
            Ok(None) => {
                return self.refuse(
                    ErrorCode::RoomNotFound,
                    format!("there is no meeting {code}"),
                )
            }
            Err(error) => {
                tracing::error!(%error, room = %code, "could not look a room up");
                return self.refuse(
                    ErrorCode::Internal,
                    "could not look the meeting up, try again",
                );
            }
        };
        let host = self.visitor.is_host(&self.signaling.hosts, &code);
        // Someone removed comes back only by asking: their session (by its id) and
        // their browser (by its cookie) are remembered.
        let removed = match (&comeback, host) {
            (Some(_), _) => {
                self.signaling
                    .store
                    .was_removed(&code, Some(id), None)
                    .await
            }
            (None, true) => Ok(false),
            (None, false) => {
                let browser = self.visitor.browser().map(str::to_owned);
                self.signaling
                    .store
                    .was_removed(&code, None, browser.as_deref())
                    .await
            }
        };
        let removed = match removed {
            Ok(removed) => removed,
            Err(error) => {
                tracing::error!(%error, room = %code, "could not read the meeting's removals");
                return self.refuse(ErrorCode::Internal, "could not join, try again");
            }
        };
        if removed && comeback.is_some() {
            tracing::info!(room = %code, peer = %id, "resume refused: removed from the meeting");
            return self.refuse(
                ErrorCode::ResumeRefused,
                "you were removed from this meeting: ask to join again",
            );
        }
        if comeback.is_none() && !host && (settings.access == Access::AskToJoin || removed) {
            return self.knock(code, id, name, media).await;
        }
        // A co-host coming back (to a server that may have restarted) is one still.
        let co_host = match &comeback {
            Some(_) if !host => self
                .signaling
                .store
                .is_co_host(&code, id)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, room = %code, "could not read the meeting's co-hosts");
                    false
                }),
            _ => false,
        };
        let role = match (host, co_host) {
            (true, _) => Role::Host,
            (false, true) => Role::CoHost,
            (false, false) => Role::Participant,
        };
        self.enter(code, id, name, media, role, settings, comeback)
            .await;
    }

    /// Puts this participant in the room (a welcome, or with `comeback` a resume).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn enter(
        &mut self,
        code: RoomCode,
        id: PeerId,
        name: String,
        media: MediaState,
        role: Role,
        settings: MeetingSettings,
        comeback: Option<Comeback>,
    ) {
        let signaling = &self.signaling;
        let me = PeerInfo {
            id,
            name: name.clone(),
            media,
            hand: None,
            role,
        };
        let token = signaling.tokens.issue(&code, id, SystemTime::now());
        let limits = signaling.session_limits();
        let hub = &signaling.hub;
        let outbox = self.outbox.clone();
        let resumed = comeback.is_some();
        // Whether a resume replays every room message missed (chat included).
        let mut complete_replay = false;
        let joined = match comeback {
            None => hub.join(&code, me, self.connection, outbox, |present| {
                ServerMessage::Welcome {
                    version: PROTOCOL_VERSION,
                    you: id,
                    room: code.clone(),
                    peers: present.peers,
                    ice_servers: signaling.ice.for_peer(id),
                    ice_transport_policy: signaling.ice.policy(),
                    token,
                    limits,
                    role: present.role,
                    settings,
                    waiting: present.waiting,
                    transport: present.transport,
                }
            }),
            Some(comeback) => hub.resume(
                &code,
                me,
                self.connection,
                outbox,
                comeback,
                |present, complete| {
                    complete_replay = complete;
                    ServerMessage::Resumed {
                        you: id,
                        peers: present.peers,
                        ice_servers: signaling.ice.for_peer(id),
                        ice_transport_policy: signaling.ice.policy(),
                        token,
                        limits,
                        complete,
                        role: present.role,
                        settings,
                        waiting: present.waiting,
                        transport: present.transport,
                    }
                },
            ),
        };
        match joined {
            Ok(room) => {
                if resumed {
                    tracing::info!(room = %code, peer = %id, "participant resumed");
                    metrics::counter!(monitoring::RESUMES).increment(1);
                } else {
                    tracing::info!(room = %code, peer = %id, ?role, "participant joined");
                }
                room.adopt_settings(settings);
                room.note_browser(id, self.visitor.browser());
                self.joined = Some(Joined { room, id, name });
                // Read after joining, so that no message falls between the history
                // and those sent to the room from now on (one in both is told apart
                // by its id).
                if !complete_replay {
                    self.send_chat_history(&code).await;
                }
            }
            Err(error @ JoinError::Full(_)) => self.refuse(ErrorCode::RoomFull, error.to_string()),
            Err(error @ JoinError::Busy) => {
                tracing::warn!(room = %code, held = signaling.hub.held().get(), "join refused: the server holds as much as it may");
                self.refuse(ErrorCode::ServerBusy, error.to_string())
            }
            Err(error @ JoinError::Ended) => {
                tracing::info!(room = %code, peer = %id, "resume refused: the session has ended");
                self.refuse(ErrorCode::ResumeRefused, error.to_string())
            }
        }
    }

    fn signal(&mut self, to: PeerId, epoch: Epoch, signal: Signal) {
        let Some(Joined { room, id, .. }) = &self.joined else {
            return self.refuse(ErrorCode::NotJoined, "join a meeting before signaling");
        };
        if let Err(too_large) = signal.check_size() {
            return self.refuse(ErrorCode::TooLarge, format!("not relayed: {too_large}"));
        }
        let relayed = ServerMessage::Signal {
            from: *id,
            epoch,
            signal,
        };
        if to == *id || room.send_to(to, &relayed).is_none() {
            self.refuse(
                ErrorCode::UnknownPeer,
                format!("peer {to} is not in this meeting"),
            );
        } else if let ServerMessage::Signal { signal, .. } = &relayed {
            self.signaling.relayed.signal(signal);
        }
    }

    fn media(&mut self, media: MediaState) {
        let Some(Joined { room, id, .. }) = &self.joined else {
            return self.refuse(
                ErrorCode::NotJoined,
                "join a meeting before sharing media state",
            );
        };
        let starts_presenting = media.screen.is_some()
            && room
                .member_info(*id)
                .is_some_and(|me| me.media.screen.is_none());
        if starts_presenting && !room.allows(*id, MeetingSettings::may_present) {
            return self.refuse(
                ErrorCode::NotAllowed,
                "only hosts may present in this meeting now",
            );
        }
        room.update_media(*id, media.clone());
        room.broadcast(*id, &ServerMessage::Media { from: *id, media });
        self.signaling.relayed.media();
    }

    fn hand(&mut self, raised: bool) {
        let Some(Joined { room, id, .. }) = &self.joined else {
            return self.refuse(
                ErrorCode::NotJoined,
                "join a meeting before raising your hand",
            );
        };
        // Raising a raised hand (or lowering a lowered one) changes nothing.
        if let Some(hand) = room.set_hand(*id, raised) {
            let news = ServerMessage::Hand { from: *id, hand };
            room.broadcast(*id, &news);
            room.send_to(*id, &news);
            metrics::counter!(monitoring::MESSAGES_RELAYED, "type" => "hand").increment(1);
        }
    }
}
