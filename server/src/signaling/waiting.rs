//! Asking to join, from the asker's side: the connection waits outside the room until
//! someone admits them (then they join as anyone does), denies them, or the meeting
//! ends; and from the admitter's side, admitting and denying.

use super::connection::{End, Session};
use super::hub::{DecideError, Decision, KnockError, Room, Whom};
use crate::monitoring;
use app::protocol::{Dismissal, ErrorCode, Knock, MediaState, PeerId, Role, ServerMessage};
use app::room_code::RoomCode;
use std::ops::ControlFlow;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Someone asking to join, on their own connection.
pub(super) struct Knocking {
    pub(super) room: Arc<Room>,
    pub(super) id: PeerId,
    code: RoomCode,
    name: String,
    media: MediaState,
    decision: oneshot::Receiver<Decision>,
}

/// The decision on the knock under way; never, while there is none.
pub(super) async fn decision(knocking: &mut Option<Knocking>) -> Decision {
    match knocking {
        Some(knocking) => match (&mut knocking.decision).await {
            Ok(decision) => decision,
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

impl Session {
    /// Asks to join `code` as `id`: the meeting hears of it and this connection waits.
    pub(super) async fn knock(
        &mut self,
        code: RoomCode,
        id: PeerId,
        name: String,
        media: MediaState,
    ) {
        let signaling = self.signaling.clone();
        if !signaling
            .take_allowance(&signaling.knock_quota, "knock", self.client, 1)
            .await
        {
            tracing::info!(client = %self.client, room = %code, "knock refused: too many from this address");
            return self.refuse(
                ErrorCode::RateLimited,
                format!(
                    "too many requests to join from your address (at most {} a minute): wait a moment",
                    self.signaling.knock_quota.amount()
                ),
            );
        }
        let knock = Knock {
            id,
            name: name.clone(),
        };
        let max_waiting = self.signaling.limits.max_waiting_per_meeting;
        match self
            .signaling
            .hub
            .knock(&code, knock, self.connection, max_waiting)
        {
            Ok((room, decision)) => {
                tracing::info!(room = %code, peer = %id, "asking to join");
                metrics::counter!(monitoring::KNOCKS).increment(1);
                self.reply(&ServerMessage::Waiting { id });
                self.knocking = Some(Knocking {
                    room,
                    id,
                    code,
                    name,
                    media,
                    decision,
                });
            }
            Err(error @ KnockError::Full(_)) => {
                tracing::warn!(room = %code, "knock refused: the waiting room is full");
                self.refuse(ErrorCode::WaitingRoomFull, error.to_string());
            }
        }
    }

    /// The answer to this connection's knock came.
    pub(super) async fn decided(&mut self, decision: Decision) -> ControlFlow<End> {
        let Some(knocking) = self.knocking.take() else {
            return ControlFlow::Continue(());
        };
        let Knocking {
            room,
            id,
            code,
            name,
            media,
            ..
        } = knocking;
        let (reason, by) = match decision {
            Decision::Admitted => {
                tracing::info!(room = %code, peer = %id, "admitted");
                let settings = room.settings();
                drop(room);
                self.enter(code, id, name, media, Role::Participant, settings, None)
                    .await;
                return ControlFlow::Continue(());
            }
            Decision::Denied { by } => (Dismissal::Denied, by),
            Decision::Ended { by } => (Dismissal::MeetingEnded, by),
        };
        tracing::info!(room = %code, peer = %id, ?reason, "not let in");
        self.reply(&ServerMessage::Dismissed {
            reason,
            by: Some(by),
        });
        ControlFlow::Break(End::Dismissed)
    }

    /// `admit` (or deny) `whom`, asked by this participant.
    pub(super) fn decide(&mut self, whom: Whom, admit: bool) {
        let Some(joined) = &self.joined else {
            return self.refuse(
                ErrorCode::NotJoined,
                "join a meeting before letting people in",
            );
        };
        match joined.room.decide(joined.id, whom, admit) {
            Ok(count) => {
                tracing::info!(room = %joined.room.code(), by = %joined.id, count, admit, "decided on people asking to join");
            }
            Err(error @ DecideError::NotAllowed) => {
                self.refuse(ErrorCode::NotAllowed, error.to_string())
            }
            Err(error @ DecideError::NotWaiting) => {
                self.refuse(ErrorCode::NotWaiting, error.to_string())
            }
        }
    }
}
