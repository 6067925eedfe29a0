-- Each meeting's chat. A message goes with its meeting (ON DELETE CASCADE) or after
-- the retention period (--chat-retention).
CREATE TABLE chat_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room_code   TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    sender_id   INTEGER NOT NULL,
    sender_name TEXT NOT NULL,
    body        TEXT NOT NULL,
    -- Unix milliseconds.
    sent_at     INTEGER NOT NULL
) STRICT;

-- A meeting's latest messages, and the oldest of all for the retention sweep.
CREATE INDEX chat_messages_by_room ON chat_messages (room_code, id);
CREATE INDEX chat_messages_by_time ON chat_messages (sent_at);
