-- Who may come in, present and chat (see app/src/protocol/meeting.rs): a meeting's
-- settings, which its hosts change while it runs. The two permissions are 0 or 1, as
-- in SQLite, so that one query reads both engines.
ALTER TABLE rooms ADD COLUMN access TEXT NOT NULL DEFAULT 'open'
    CHECK (access IN ('open', 'ask_to_join'));
ALTER TABLE rooms ADD COLUMN everyone_may_present BIGINT NOT NULL DEFAULT 1
    CHECK (everyone_may_present IN (0, 1));
ALTER TABLE rooms ADD COLUMN everyone_may_chat BIGINT NOT NULL DEFAULT 1
    CHECK (everyone_may_chat IN (0, 1));

-- People a host took out of a meeting: their resume tokens are refused, and from the
-- same browser (its `parley_browser` cookie) they must ask to join again, even when the
-- meeting is open. They go with the meeting.
CREATE TABLE meeting_removals (
    room_code  TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    peer_id    BIGINT NOT NULL,
    browser    TEXT,
    -- Unix seconds.
    removed_at BIGINT NOT NULL
);
CREATE INDEX meeting_removals_by_room ON meeting_removals (room_code);

-- Co-hosts a host named, by session: kept so that after a server restart a co-host
-- who resumes is one still. They go with the meeting.
CREATE TABLE meeting_co_hosts (
    room_code TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    peer_id   BIGINT NOT NULL,
    PRIMARY KEY (room_code, peer_id)
);
