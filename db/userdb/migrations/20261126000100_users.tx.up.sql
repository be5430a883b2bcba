CREATE TABLE IF NOT EXISTS users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    username_key   TEXT NOT NULL,
    email          TEXT,
    password_hash  TEXT NOT NULL,
    roles          TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS users_username_key ON users (username_key);
--bun:split
CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    user_agent    TEXT,
    remote_addr   TEXT
);
--bun:split
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
--bun:split
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);
--bun:split
CREATE TABLE IF NOT EXISTS login_failures (
    username_key     TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  TIMESTAMPTZ NOT NULL
);
