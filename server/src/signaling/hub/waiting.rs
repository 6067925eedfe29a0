//! People asking to join a meeting: they wait outside the room, with their
//! connection open, until someone in it admits or denies them (or they give up).
//!
//! Who may admit: hosts and co-hosts, or anyone in the meeting while no host or
//! co-host is in it, so that nobody waits forever for a host who left.

use super::outbox::encode;
use super::room::broadcast_all;
use super::{forget_if_empty, Hub, Room};
use app::protocol::{Knock, KnockOutcome, PeerId, ServerMessage};
use app::room_code::RoomCode;
use std::sync::Arc;
use tokio::sync::oneshot;

/// What becomes of someone asking to join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Admitted,
    /// Denied by the person named.
    Denied {
        by: String,
    },
    /// The meeting was ended by the person named.
    Ended {
        by: String,
    },
}

/// Someone asking to join.
pub struct Waiter {
    pub(super) name: String,
    connection: u64,
    decide: oneshot::Sender<Decision>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KnockError {
    #[error("{0} people are asking to join this meeting already: try again in a moment")]
    Full(usize),
}

/// Why an admit or deny changed nothing.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("only hosts may let people in while a host is in the meeting")]
    NotAllowed,
    #[error("nobody by that id is asking to join")]
    NotWaiting,
}

/// Whom a decision is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whom {
    One(PeerId),
    Everyone,
}

impl Hub {
    /// Puts `knock` in `code`'s waiting room, at most `max_waiting` there at once, and
    /// tells those in the meeting. The decision arrives on the receiver.
    pub fn knock(
        &self,
        code: &RoomCode,
        knock: Knock,
        connection: u64,
        max_waiting: usize,
    ) -> Result<(Arc<Room>, oneshot::Receiver<Decision>), KnockError> {
        let mut rooms = self.rooms();
        let room = self.room(&mut rooms, code);
        let mut members = room.members();
        let mut waiting = room.waiting();
        if waiting.len() >= max_waiting {
            drop(waiting);
            drop(members);
            forget_if_empty(&mut rooms, &room);
            return Err(KnockError::Full(max_waiting));
        }
        let (decide, decision) = oneshot::channel();
        waiting.insert(
            knock.id,
            Waiter {
                name: knock.name.clone(),
                connection,
                decide,
            },
        );
        drop(waiting);
        let news = encode(&ServerMessage::Knocking { knock });
        broadcast_all(code, &mut members, &self.keeping, &news);
        drop(members);
        Ok((room, decision))
    }

    /// `id` stopped asking (cancelled, or its connection `connection` ended): those
    /// in the meeting are told, unless it was decided already.
    pub fn stop_knocking(&self, room: &Room, id: PeerId, connection: u64) {
        let mut rooms = self.rooms();
        let mut members = room.members();
        let gone = {
            let mut waiting = room.waiting();
            match waiting.get(&id) {
                Some(waiter) if waiter.connection == connection => waiting.remove(&id),
                _ => None,
            }
        };
        if gone.is_some() {
            let news = encode(&ServerMessage::KnockEnded {
                id,
                outcome: KnockOutcome::Cancelled,
                by: None,
            });
            broadcast_all(&room.code, &mut members, &self.keeping, &news);
        }
        drop(members);
        forget_if_empty(&mut rooms, room);
    }
}

impl Room {
    /// Who is asking to join, in the order they asked.
    pub(super) fn knocks(&self) -> Vec<Knock> {
        self.waiting()
            .iter()
            .map(|(id, waiter)| Knock {
                id: *id,
                name: waiter.name.clone(),
            })
            .collect()
    }

    /// `actor` admits (or denies) `whom`. Returns how many were decided.
    pub fn decide(&self, actor: PeerId, whom: Whom, admit: bool) -> Result<usize, DecideError> {
        let mut members = self.members();
        let Some(me) = members.get(&actor) else {
            return Err(DecideError::NotAllowed);
        };
        let may = me.info.role.moderates() || !members.values().any(|m| m.info.role.moderates());
        if !may {
            return Err(DecideError::NotAllowed);
        }
        let by = me.info.name.clone();
        let decided: Vec<(PeerId, Waiter)> = {
            let mut waiting = self.waiting();
            match whom {
                Whom::One(id) => match waiting.remove(&id) {
                    Some(waiter) => vec![(id, waiter)],
                    None => return Err(DecideError::NotWaiting),
                },
                Whom::Everyone => std::mem::take(&mut *waiting).into_iter().collect(),
            }
        };
        let count = decided.len();
        for (id, waiter) in decided {
            let decision = match admit {
                true => Decision::Admitted,
                false => Decision::Denied { by: by.clone() },
            };
            // Gone meanwhile: nobody is let in.
            let outcome = match (waiter.decide.send(decision).is_ok(), admit) {
                (false, _) => KnockOutcome::Cancelled,
                (true, true) => KnockOutcome::Admitted,
                (true, false) => KnockOutcome::Denied,
            };
            let news = encode(&ServerMessage::KnockEnded {
                id,
                outcome,
                by: Some(actor),
            });
            broadcast_all(&self.code, &mut members, &self.keeping, &news);
        }
        Ok(count)
    }

    /// Turns everyone asking away because the meeting ended.
    pub(super) fn end_waiting(&self, by: &str) {
        let waiting = std::mem::take(&mut *self.waiting());
        for (_, waiter) in waiting {
            let _ = waiter.decide.send(Decision::Ended { by: by.to_owned() });
        }
    }
}
