//! What hosts do to others in a meeting: remove them, turn off their microphone or
//! camera, make them co-hosts, change the meeting's settings, end it. Each checks the
//! actor's role here, so no message from a client can get around it.

use super::outbox::{encode, Kick, QueueOutcome};
use super::room::{broadcast_all, broadcast_locked, drop_slow, Members};
use super::{forget_if_empty, send_reply, Hub, Room};
use app::protocol::{
    Dismissal, LeaveReason, MediaState, MeetingSettings, PeerId, Role, ServerMessage,
};

/// Why a host action changed nothing.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModerationError {
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("that person is not in this meeting")]
    UnknownPeer,
}

use ModerationError::{NotAllowed, UnknownPeer};

/// `actor`'s role and name, if they may moderate at all.
fn moderator(members: &Members, actor: PeerId) -> Result<(Role, String), ModerationError> {
    match members.get(&actor) {
        Some(m) if m.info.role.moderates() => Ok((m.info.role, m.info.name.clone())),
        _ => Err(NotAllowed("only hosts may do that")),
    }
}

/// Checks that `actor` may act on `target`; returns the actor's name.
fn may_act_on(members: &Members, actor: PeerId, target: PeerId) -> Result<String, ModerationError> {
    let (role, name) = moderator(members, actor)?;
    let target = members.get(&target).ok_or(UnknownPeer)?;
    if !role.may_act_on(target.info.role) {
        return Err(NotAllowed("hosts and co-hosts cannot do that to a host"));
    }
    Ok(name)
}

impl Room {
    /// Checks that `actor` may remove `target`; returns the target's browser id.
    pub fn may_remove(
        &self,
        actor: PeerId,
        target: PeerId,
    ) -> Result<Option<String>, ModerationError> {
        let members = self.members();
        may_act_on(&members, actor, target)?;
        Ok(members.get(&target).and_then(|m| m.browser.clone()))
    }

    /// `actor` takes `target` out of the meeting: `target` is told and disconnected,
    /// the others see them leave (`removed`).
    pub fn remove(&self, actor: PeerId, target: PeerId) -> Result<(), ModerationError> {
        let mut members = self.members();
        let by = may_act_on(&members, actor, target)?;
        if let Some(member) = members.remove(&target) {
            dismiss(member.outbox.as_ref(), Dismissal::Removed, &by);
        }
        let left = encode(&ServerMessage::PeerLeft {
            id: target,
            reason: LeaveReason::Removed,
        });
        broadcast_locked(&self.code, &mut members, &self.keeping, target, &left);
        Ok(())
    }

    /// `actor` turns off `target`'s microphone and/or camera: `target` is told, and the
    /// others see them muted at once.
    pub fn turn_off(
        &self,
        actor: PeerId,
        target: PeerId,
        microphone: bool,
        camera: bool,
    ) -> Result<(), ModerationError> {
        let mut members = self.members();
        may_act_on(&members, actor, target)?;
        self.turn_off_locked(&mut members, actor, target, microphone, camera);
        Ok(())
    }

    fn turn_off_locked(
        &self,
        members: &mut Members,
        actor: PeerId,
        target: PeerId,
        microphone: bool,
        camera: bool,
    ) {
        let Some(member) = members.get_mut(&target) else {
            return;
        };
        let before = member.info.media.clone();
        let media = MediaState {
            audio: before.audio && !microphone,
            video: before.video && !camera,
            ..before.clone()
        };
        member.info.media = media.clone();
        let told = encode(&ServerMessage::TurnedOff {
            by: actor,
            microphone,
            camera,
        });
        if member.deliver(&told, &self.keeping) == QueueOutcome::Overflow {
            drop_slow(&self.code, members, &self.keeping, vec![target]);
            return;
        }
        if media != before {
            let news = encode(&ServerMessage::Media {
                from: target,
                media,
            });
            broadcast_locked(&self.code, members, &self.keeping, target, &news);
        }
    }

    /// `actor` turns off the microphone of everyone they may act on whose microphone
    /// is on. Returns how many.
    pub fn mute_everyone(&self, actor: PeerId) -> Result<usize, ModerationError> {
        let mut members = self.members();
        let (role, _) = moderator(&members, actor)?;
        let targets: Vec<PeerId> = members
            .iter()
            .filter(|(id, m)| **id != actor && role.may_act_on(m.info.role) && m.info.media.audio)
            .map(|(id, _)| *id)
            .collect();
        for target in &targets {
            self.turn_off_locked(&mut members, actor, *target, true, false);
        }
        Ok(targets.len())
    }

    /// `actor` (a host) makes `target` a co-host, or a participant again.
    pub fn set_role(
        &self,
        actor: PeerId,
        target: PeerId,
        role: Role,
    ) -> Result<(), ModerationError> {
        let mut members = self.members();
        let may = members
            .get(&actor)
            .is_some_and(|m| m.info.role.grants_roles());
        if !may {
            return Err(NotAllowed("only the meeting's host may make co-hosts"));
        }
        if role == Role::Host {
            return Err(NotAllowed(
                "only the browser that started a meeting is its host",
            ));
        }
        let member = members.get_mut(&target).ok_or(UnknownPeer)?;
        if member.info.role == Role::Host {
            return Err(NotAllowed("a host stays a host"));
        }
        if member.info.role != role {
            member.info.role = role;
            let news = encode(&ServerMessage::RoleChanged { id: target, role });
            broadcast_all(&self.code, &mut members, &self.keeping, &news);
        }
        Ok(())
    }

    /// Checks that `actor` may change the meeting's settings.
    pub fn may_change_settings(&self, actor: PeerId) -> Result<(), ModerationError> {
        moderator(&self.members(), actor).map(|_| ())
    }

    /// `actor` changed the settings (already saved): everyone is told, and those who
    /// present without being allowed to any more stop.
    pub fn apply_settings(&self, actor: PeerId, settings: MeetingSettings) {
        self.adopt_settings(settings);
        let mut members = self.members();
        let news = encode(&ServerMessage::SettingsChanged {
            settings,
            by: actor,
        });
        broadcast_all(&self.code, &mut members, &self.keeping, &news);
        let stopped: Vec<(PeerId, MediaState)> = members
            .iter_mut()
            .filter(|(_, m)| m.info.media.screen.is_some() && !settings.may_present(m.info.role))
            .map(|(id, m)| {
                m.info.media.screen = None;
                (*id, m.info.media.clone())
            })
            .collect();
        for (id, media) in stopped {
            let news = encode(&ServerMessage::Media { from: id, media });
            broadcast_locked(&self.code, &mut members, &self.keeping, id, &news);
        }
    }

    /// Whether `id` may present or chat now.
    pub fn allows(&self, id: PeerId, what: impl Fn(&MeetingSettings, Role) -> bool) -> bool {
        let role = self.members().get(&id).map(|m| m.info.role);
        role.is_some_and(|role| what(&self.settings(), role))
    }
}

impl Hub {
    /// `actor` ends the meeting: everyone in it and everyone asking to join is told
    /// and disconnected. Returns how many were in it.
    pub fn end_meeting(&self, room: &Room, actor: PeerId) -> Result<usize, ModerationError> {
        let mut rooms = self.rooms();
        let mut members = room.members();
        let (_, by) = moderator(&members, actor)?;
        let everyone = std::mem::take(&mut *members);
        for member in everyone.values() {
            dismiss(member.outbox.as_ref(), Dismissal::MeetingEnded, &by);
        }
        drop(members);
        room.end_waiting(&by);
        forget_if_empty(&mut rooms, room);
        Ok(everyone.len())
    }
}

/// Tells someone their session is over and closes their connection.
pub(super) fn dismiss(outbox: Option<&super::Outbox>, reason: Dismissal, by: &str) {
    if let Some(outbox) = outbox {
        send_reply(
            outbox,
            &ServerMessage::Dismissed {
                reason,
                by: Some(by.to_owned()),
            },
        );
        outbox.kick(Kick::Dismissed);
    }
}
