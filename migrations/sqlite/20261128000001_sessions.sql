-- What lets calls survive a restart of the server.

-- The key that signs resume tokens (see server/src/signaling/resume.rs): kept here so
-- that a restarted server still recognises the tokens it handed out before.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;

-- Peer ids are handed out in blocks reserved here before use, so that no id is ever
-- given twice, also across restarts: `next` is the first id not yet reserved.
CREATE TABLE peer_ids (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    next     INTEGER NOT NULL
) STRICT;
INSERT INTO peer_ids (only_row, next) VALUES (1, 1);
