//! What protects a meeting, kept with it: its settings (who may come in, present and
//! chat) and who was removed from it.

use super::{unix_now, RoomStore, StoreError};
use app::protocol::{Access, MeetingSettings, PeerId};
use app::room_code::RoomCode;
use sqlx::any::AnyRow;
use sqlx::Row;

impl RoomStore {
    /// Records that someone joined or left the room now, and reads its settings:
    /// `None` when there is no such room, so a join needs only this one query to
    /// check, record and learn who may come in.
    pub async fn touch_settings(
        &self,
        code: &RoomCode,
    ) -> Result<Option<MeetingSettings>, StoreError> {
        let row = sqlx::query(
            "UPDATE rooms SET last_active_at = $1 WHERE code = $2
             RETURNING access, everyone_may_present, everyone_may_chat",
        )
        .bind(unix_now())
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .next();
        row.map(|row| settings_from(&row)).transpose()
    }

    /// A meeting's settings, `None` when there is no such meeting.
    pub async fn settings(&self, code: &RoomCode) -> Result<Option<MeetingSettings>, StoreError> {
        sqlx::query(
            "SELECT access, everyone_may_present, everyone_may_chat FROM rooms WHERE code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|row| settings_from(&row))
        .transpose()
    }

    /// Keeps a meeting's new settings.
    pub async fn save_settings(
        &self,
        code: &RoomCode,
        settings: MeetingSettings,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE rooms SET access = $1, everyone_may_present = $2, everyone_may_chat = $3
             WHERE code = $4",
        )
        .bind(settings.access.as_str())
        .bind(i64::from(settings.everyone_may_present))
        .bind(i64::from(settings.everyone_may_chat))
        .bind(code.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that `peer` (in `browser`, when known) was removed from the meeting.
    pub async fn record_removal(
        &self,
        code: &RoomCode,
        peer: PeerId,
        browser: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meeting_removals (room_code, peer_id, browser, removed_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(code.as_str())
        .bind(peer.0 as i64)
        .bind(browser)
        .bind(unix_now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the session `peer` (when given) or the browser `browser` (when known)
    /// was removed from the meeting.
    pub async fn was_removed(
        &self,
        code: &RoomCode,
        peer: Option<PeerId>,
        browser: Option<&str>,
    ) -> Result<bool, StoreError> {
        if peer.is_none() && browser.is_none() {
            return Ok(false);
        }
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM meeting_removals
             WHERE room_code = $1 AND (peer_id = $2 OR browser = $3) LIMIT 1",
        )
        .bind(code.as_str())
        .bind(peer.map(|p| p.0 as i64))
        .bind(browser)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }
}

impl RoomStore {
    /// Records that `peer` is a co-host of the meeting (`true`) or no longer (`false`).
    pub async fn set_co_host(
        &self,
        code: &RoomCode,
        peer: PeerId,
        co_host: bool,
    ) -> Result<(), StoreError> {
        let query = if co_host {
            "INSERT INTO meeting_co_hosts (room_code, peer_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM meeting_co_hosts WHERE room_code = $1 AND peer_id = $2"
        };
        sqlx::query(query)
            .bind(code.as_str())
            .bind(peer.0 as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether `peer` was made a co-host of the meeting.
    pub async fn is_co_host(&self, code: &RoomCode, peer: PeerId) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM meeting_co_hosts WHERE room_code = $1 AND peer_id = $2",
        )
        .bind(code.as_str())
        .bind(peer.0 as i64)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }
}

fn settings_from(row: &AnyRow) -> Result<MeetingSettings, StoreError> {
    let access: String = row.try_get(0)?;
    let everyone_may_present: i64 = row.try_get(1)?;
    let everyone_may_chat: i64 = row.try_get(2)?;
    Ok(MeetingSettings {
        access: Access::parse(&access).unwrap_or_default(),
        everyone_may_present: everyone_may_present != 0,
        everyone_may_chat: everyone_may_chat != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_databases::{on_both_engines, TestDatabase};

    on_both_engines!(settings_and_removals_are_kept_with_the_meeting);

    async fn settings_and_removals_are_kept_with_the_meeting(db: TestDatabase) {
        let store = db.open().await;
        let asking = MeetingSettings {
            access: Access::AskToJoin,
            ..MeetingSettings::default()
        };
        let room = store.create("Standup", asking).await.unwrap();
        assert_eq!(
            store.touch_settings(&room.code).await.unwrap(),
            Some(asking)
        );
        let locked = MeetingSettings {
            access: Access::Open,
            everyone_may_present: false,
            everyone_may_chat: false,
        };
        store.save_settings(&room.code, locked).await.unwrap();
        assert!(!store
            .was_removed(&room.code, Some(PeerId(7)), Some("b1"))
            .await
            .unwrap());
        store
            .record_removal(&room.code, PeerId(7), Some("b1"))
            .await
            .unwrap();
        store.close().await;

        let store = db.open().await;
        assert_eq!(store.settings(&room.code).await.unwrap(), Some(locked));
        assert!(store
            .was_removed(&room.code, Some(PeerId(7)), None)
            .await
            .unwrap());
        assert!(store
            .was_removed(&room.code, None, Some("b1"))
            .await
            .unwrap());
        assert!(!store
            .was_removed(&room.code, Some(PeerId(8)), Some("b2"))
            .await
            .unwrap());
        assert!(!store.is_co_host(&room.code, PeerId(3)).await.unwrap());
        store
            .set_co_host(&room.code, PeerId(3), true)
            .await
            .unwrap();
        store
            .set_co_host(&room.code, PeerId(3), true)
            .await
            .unwrap();
        assert!(store.is_co_host(&room.code, PeerId(3)).await.unwrap());
        store
            .set_co_host(&room.code, PeerId(3), false)
            .await
            .unwrap();
        assert!(!store.is_co_host(&room.code, PeerId(3)).await.unwrap());
        let unknown = RoomCode::parse("zzz-zzzz-zzz").unwrap();
        assert_eq!(store.touch_settings(&unknown).await.unwrap(), None);
    }
}
