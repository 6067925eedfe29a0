//! Chat messages: kept per meeting, read back newest last, swept after the
//! retention period.

use super::{RoomStore, StoreError};
use app::protocol::{ChatMessage, PeerId};
use app::room_code::RoomCode;
use std::time::{SystemTime, UNIX_EPOCH};

type Row = (i64, i64, String, String, i64);

fn message((id, from, name, text, sent_at): Row) -> ChatMessage {
    ChatMessage {
        id: id.max(0) as u64,
        from: PeerId(from.max(0) as u64),
        name,
        text,
        sent_at: sent_at.max(0) as u64,
    }
}

/// Now, in Unix milliseconds.
pub fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl RoomStore {
    /// Keeps a message sent in the meeting `code` and returns it as everyone sees it.
    /// The meeting keeps only its latest `keep` messages (what it can show): older
    /// ones are deleted with the same write.
    pub async fn add_chat(
        &self,
        code: &RoomCode,
        from: PeerId,
        name: &str,
        text: &str,
        sent_at: SystemTime,
        keep: usize,
    ) -> Result<ChatMessage, StoreError> {
        let sent_at = i64::try_from(unix_millis(sent_at)).unwrap_or(i64::MAX);
        let from_id = i64::try_from(from.0).unwrap_or(i64::MAX);
        let mut transaction = self.pool.begin().await?;
        let row: Row = sqlx::query_as(
            "INSERT INTO chat_messages (room_code, sender_id, sender_name, body, sent_at)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id, sender_id, sender_name, body, sent_at",
        )
        .bind(code.as_str())
        .bind(from_id)
        .bind(name)
        .bind(text)
        .bind(sent_at)
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query(
            "DELETE FROM chat_messages WHERE room_code = $1 AND id <= (
                 SELECT id FROM chat_messages WHERE room_code = $1
                 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(code.as_str())
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(message(row))
    }

    /// The meeting's latest `limit` messages, oldest first.
    pub async fn chat_history(
        &self,
        code: &RoomCode,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows: Vec<Row> = sqlx::query_as(
            "SELECT id, sender_id, sender_name, body, sent_at FROM chat_messages
             WHERE room_code = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(code.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.reverse();
        Ok(rows.into_iter().map(message).collect())
    }

    /// Deletes every message sent before `before`; returns how many there were.
    pub async fn forget_chat_before(&self, before: SystemTime) -> Result<u64, StoreError> {
        let before = i64::try_from(unix_millis(before)).unwrap_or(i64::MAX);
        Ok(sqlx::query("DELETE FROM chat_messages WHERE sent_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_databases::{on_both_engines, TestDatabase};
    use std::time::Duration;

    on_both_engines!(
        chat_is_kept_per_meeting_and_survives_reopening,
        idle_meetings_go_with_their_chat_and_used_ones_stay,
        history_is_the_latest_messages_oldest_first,
        a_meeting_keeps_only_its_latest_messages_on_disk,
        old_chat_is_swept_and_goes_with_its_meeting,
    );

    async fn chat_is_kept_per_meeting_and_survives_reopening(db: TestDatabase) {
        let store = db.open().await;
        let one = store.create("One", Default::default()).await.unwrap().code;
        let two = store.create("Two", Default::default()).await.unwrap().code;
        let now = SystemTime::now();
        let first = store
            .add_chat(&one, PeerId(3), "Ada", "hello", now, 200)
            .await
            .unwrap();
        store
            .add_chat(&two, PeerId(4), "Bob", "elsewhere", now, 200)
            .await
            .unwrap();
        let second = store
            .add_chat(&one, PeerId(5), "Cy", "<b>hi</b>", now, 200)
            .await
            .unwrap();
        assert!(second.id > first.id);
        assert_eq!(
            (first.from, first.name.as_str(), first.text.as_str()),
            (PeerId(3), "Ada", "hello")
        );
        assert_eq!(first.sent_at, unix_millis(now));
        store.close().await;

        let store = db.open().await;
        let history = store.chat_history(&one, 200).await.unwrap();
        assert_eq!(history, vec![first, second]);
        assert_eq!(store.chat_history(&two, 200).await.unwrap().len(), 1);
    }

    async fn idle_meetings_go_with_their_chat_and_used_ones_stay(db: TestDatabase) {
        let store = db.open().await;
        let idle = store.create("Idle", Default::default()).await.unwrap().code;
        let used = store.create("Used", Default::default()).await.unwrap().code;
        for room in [&idle, &used] {
            store
                .add_chat(room, PeerId(1), "Ada", "hello", SystemTime::now(), 200)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE rooms SET last_active_at = last_active_at - 7200 WHERE code = $1")
            .bind(idle.as_str())
            .execute(&store.pool)
            .await
            .unwrap();

        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        assert_eq!(store.forget_rooms_idle_since(hour_ago).await.unwrap(), 1);
        assert!(store.find(&idle).await.unwrap().is_none());
        assert!(store.chat_history(&idle, 200).await.unwrap().is_empty());
        assert!(store.find(&used).await.unwrap().is_some());
        assert_eq!(store.chat_history(&used, 200).await.unwrap().len(), 1);
        assert_eq!(store.forget_rooms_idle_since(hour_ago).await.unwrap(), 0);
    }

    /// The texts of the meeting's latest `limit` messages, oldest first.
    async fn history_texts(store: &RoomStore, room: &RoomCode, limit: usize) -> Vec<String> {
        let history = store.chat_history(room, limit).await.unwrap();
        history.into_iter().map(|m| m.text).collect()
    }

    async fn stored_messages(store: &RoomStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM chat_messages")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    async fn history_is_the_latest_messages_oldest_first(db: TestDatabase) {
        let store = db.open().await;
        let room = store.create("Busy", Default::default()).await.unwrap().code;
        for n in 0..10 {
            store
                .add_chat(
                    &room,
                    PeerId(1),
                    "Ada",
                    &n.to_string(),
                    SystemTime::now(),
                    200,
                )
                .await
                .unwrap();
        }
        assert_eq!(history_texts(&store, &room, 3).await, ["7", "8", "9"]);
    }

    async fn a_meeting_keeps_only_its_latest_messages_on_disk(db: TestDatabase) {
        let store = db.open().await;
        let busy = store.create("Busy", Default::default()).await.unwrap().code;
        let quiet = store
            .create("Quiet", Default::default())
            .await
            .unwrap()
            .code;
        store
            .add_chat(&quiet, PeerId(2), "Bob", "still here", SystemTime::now(), 4)
            .await
            .unwrap();
        for n in 0..10 {
            store
                .add_chat(
                    &busy,
                    PeerId(1),
                    "Ada",
                    &n.to_string(),
                    SystemTime::now(),
                    4,
                )
                .await
                .unwrap();
        }
        assert_eq!(
            history_texts(&store, &busy, 100).await,
            ["6", "7", "8", "9"]
        );
        assert_eq!(
            stored_messages(&store).await,
            5,
            "the other meeting's stays"
        );
    }

    async fn old_chat_is_swept_and_goes_with_its_meeting(db: TestDatabase) {
        let store = db.open().await;
        let room = store.create("Old", Default::default()).await.unwrap().code;
        let now = SystemTime::now();
        let day = Duration::from_secs(24 * 3600);
        store
            .add_chat(&room, PeerId(1), "Ada", "old", now - 40 * day, 200)
            .await
            .unwrap();
        store
            .add_chat(&room, PeerId(1), "Ada", "new", now, 200)
            .await
            .unwrap();
        assert_eq!(store.forget_chat_before(now - 30 * day).await.unwrap(), 1);
        assert_eq!(history_texts(&store, &room, 10).await, ["new"]);

        // Deleting the meeting deletes its chat (foreign keys are on).
        sqlx::query("DELETE FROM rooms WHERE code = $1")
            .bind(room.as_str())
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(stored_messages(&store).await, 0);
    }
}
