-- Meeting rooms (PostgreSQL; kept in step with ../sqlite, one file for one file).
-- Codes are validated by the application (see app/src/room_code.rs).
CREATE TABLE rooms (
    code           TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    -- Unix seconds.
    created_at     BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL
);
