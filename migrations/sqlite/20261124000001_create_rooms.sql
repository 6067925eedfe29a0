-- Meeting rooms. Codes are validated by the application (see app/src/room_code.rs).
CREATE TABLE rooms (
    code           TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    -- Unix seconds.
    created_at     INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL
) STRICT;
