-- What lets calls survive a restart of the server.

-- The key that signs resume tokens (see server/src/signaling/resume.rs): kept here so
-- that a restarted server, or another node, still recognises the tokens handed out.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL
);

-- Peer ids are handed out in blocks reserved here before use, so that no id is ever
-- given twice, also across restarts and nodes: `next` is the first id not yet reserved.
CREATE TABLE peer_ids (
    only_row BIGINT PRIMARY KEY CHECK (only_row = 1),
    next     BIGINT NOT NULL
);
INSERT INTO peer_ids (only_row, next) VALUES (1, 1);
