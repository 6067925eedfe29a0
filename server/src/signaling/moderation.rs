//! Host actions as a participant sends them: each is checked by the room (see
//! `hub::moderation`), refused with `not_allowed` when the sender may not, and logged.

use super::connection::{Joined, Session};
use super::hub::ModerationError;
use app::protocol::{ErrorCode, MeetingSettings, PeerId, Role};

impl Session {
    /// The room and id of this participant, or a refusal.
    fn moderating(&self) -> Option<&Joined> {
        let joined = self.joined.as_ref();
        if joined.is_none() {
            self.refuse(ErrorCode::NotJoined, "join a meeting first");
        }
        joined
    }

    fn refuse_moderation(&self, error: ModerationError) {
        let code = match error {
            ModerationError::NotAllowed(_) => ErrorCode::NotAllowed,
            ModerationError::UnknownPeer => ErrorCode::UnknownPeer,
        };
        self.refuse(code, error.to_string());
    }

    pub(super) async fn remove(&mut self, target: PeerId) {
        let Some(Joined { room, id, .. }) = self.moderating() else {
            return;
        };
        let (room, id) = (room.clone(), *id);
        let browser = match room.may_remove(id, target) {
            Ok(browser) => browser,
            Err(error) => return self.refuse_moderation(error),
        };
        // Remembered first, so that a resume racing the removal is refused.
        let kept = self
            .signaling
            .store
            .record_removal(room.code(), target, browser.as_deref())
            .await;
        if let Err(error) = kept {
            tracing::error!(%error, room = %room.code(), "could not record a removal");
            return self.refuse(ErrorCode::Internal, "could not remove them, try again");
        }
        match room.remove(id, target) {
            Ok(()) => {
                tracing::info!(room = %room.code(), peer = %target, by = %id, "removed from the meeting")
            }
            Err(error) => self.refuse_moderation(error),
        }
    }

    pub(super) fn turn_off(&mut self, target: PeerId, microphone: bool, camera: bool) {
        let Some(Joined { room, id, .. }) = self.moderating() else {
            return;
        };
        match room.turn_off(*id, target, microphone, camera) {
            Ok(()) => {
                tracing::info!(room = %room.code(), peer = %target, by = %id, microphone, camera, "turned off")
            }
            Err(error) => self.refuse_moderation(error),
        }
    }

    pub(super) fn mute_everyone(&mut self) {
        let Some(Joined { room, id, .. }) = self.moderating() else {
            return;
        };
        match room.mute_everyone(*id) {
            Ok(count) => tracing::info!(room = %room.code(), by = %id, count, "muted everyone"),
            Err(error) => self.refuse_moderation(error),
        }
    }

    pub(super) async fn set_role(&mut self, target: PeerId, role: Role) {
        let Some(Joined { room, id, .. }) = self.moderating() else {
            return;
        };
        let (room, id) = (room.clone(), *id);
        if let Err(error) = room.set_role(id, target, role) {
            return self.refuse_moderation(error);
        }
        tracing::info!(room = %room.code(), peer = %target, by = %id, ?role, "role changed");
        // Kept so that a co-host resuming after a restart is one still.
        let kept = self
            .signaling
            .store
            .set_co_host(room.code(), target, role == Role::CoHost)
            .await;
        if let Err(error) = kept {
            tracing::warn!(%error, room = %room.code(), "could not record a co-host");
        }
    }

    pub(super) async fn change_settings(&mut self, settings: MeetingSettings) {
        let Some(Joined { room, id, .. }) = self.moderating() else {
            return;
        };
        let (room, id) = (room.clone(), *id);
        if let Err(error) = room.may_change_settings(id) {
            return self.refuse_moderation(error);
        }
        if let Err(error) = self
            .signaling
            .store
            .save_settings(room.code(), settings)
            .await
        {
            tracing::error!(%error, room = %room.code(), "could not save a meeting's settings");
            return self.refuse(
                ErrorCode::Internal,
                "could not change the settings, try again",
            );
        }
        room.apply_settings(id, settings);
        tracing::info!(room = %room.code(), by = %id, ?settings, "settings changed");
    }

    pub(super) fn end_meeting(&mut self) {
        let Some(Joined { room, id, .. }) = self.moderating() else {
            return;
        };
        match self.signaling.hub.end_meeting(room, *id) {
            Ok(count) => {
                tracing::info!(room = %room.code(), by = %id, count, "meeting ended for everyone")
            }
            Err(error) => self.refuse_moderation(error),
        }
    }
}
