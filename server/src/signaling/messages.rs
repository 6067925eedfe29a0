//! What each message a participant sends does: joining or resuming, relaying
//! signals, and telling the room about microphones, cameras and hands.

use super::connection::{End, Joined, Session};
use super::hub::{Comeback, JoinError};
use crate::monitoring;
use app::protocol::{
    clean_display_name, ClientMessage, Epoch, ErrorCode, MediaState, PeerId, PeerInfo,
    ServerMessage, Signal, MAX_DISPLAY_NAME_CHARS, PROTOCOL_VERSION,
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
            } => {
                self.join(version, room, &name, media, Some((token, last_seen)))
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
        resume: Option<(String, u64)>,
    ) {
        if self.joined.is_some() {
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
            Some((token, last_seen)) => match self.signaling.tokens.verify(&token, &code, now) {
                Ok(claims) => (
                    claims.peer,
                    Some(Comeback {
                        last_seen,
                        may_restore: claims.issued_at < self.signaling.started_at,
                    }),
                ),
                Err(error) => {
                    tracing::info!(connection = self.connection, room = %code, %error, "resume refused");
                    return self.refuse(ErrorCode::ResumeRefused, format!("{error}: join again"));
                }
            },
        };
        // Checks the room exists and records the activity in one query.
        match self.signaling.store.touch(&code).await {
            Ok(true) => {}
            Ok(false) => {
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
        }
        let signaling = &self.signaling;
        let me = PeerInfo {
            id,
            name: name.clone(),
            media,
            hand: None,
        };
        let token = signaling.tokens.issue(&code, id, now);
        let limits = signaling.session_limits();
        let hub = &signaling.hub;
        let outbox = self.outbox.clone();
        let resumed = comeback.is_some();
        // Whether a resume replays every room message missed (chat included).
        let mut complete_replay = false;
        let joined = match comeback {
            None => hub.join(&code, me, self.connection, outbox, |peers| {
                ServerMessage::Welcome {
                    version: PROTOCOL_VERSION,
                    you: id,
                    room: code.clone(),
                    peers,
                    ice_servers: signaling.ice.for_peer(id),
                    ice_transport_policy: signaling.ice.policy(),
                    token,
                    limits,
                }
            }),
            Some(comeback) => hub.resume(
                &code,
                me,
                self.connection,
                outbox,
                comeback,
                |peers, complete| {
                    complete_replay = complete;
                    ServerMessage::Resumed {
                        you: id,
                        peers,
                        ice_servers: signaling.ice.for_peer(id),
                        ice_transport_policy: signaling.ice.policy(),
                        token,
                        limits,
                        complete,
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
                    tracing::info!(room = %code, peer = %id, "participant joined");
                }
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
