-- Who may come in, present and chat (see app/src/protocol/meeting.rs): a meeting's
-- settings, which its hosts change while it runs.
ALTER TABLE rooms ADD COLUMN access TEXT NOT NULL DEFAULT 'open'
    CHECK (access IN ('open', 'ask_to_join'));
ALTER TABLE rooms ADD COLUMN everyone_may_present INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rooms ADD COLUMN everyone_may_chat INTEGER NOT NULL DEFAULT 1;

-- People a host took out of a meeting: their resume tokens are refused, and from the
-- same browser (its `parley_browser` cookie) they must ask to join again, even when the
-- meeting is open. They go with the meeting.
CREATE TABLE meeting_removals (
    room_code  TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    peer_id    INTEGER NOT NULL,
    browser    TEXT,
    -- Unix seconds.
    removed_at INTEGER NOT NULL
) STRICT;
CREATE INDEX meeting_removals_by_room ON meeting_removals (room_code);

-- Co-hosts a host named, by session: kept so that after a server restart a co-host
-- who resumes is one still. They go with the meeting.
CREATE TABLE meeting_co_hosts (
    room_code TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    peer_id   INTEGER NOT NULL,
    PRIMARY KEY (room_code, peer_id)
) STRICT;
