CREATE TABLE IF NOT EXISTS login_failures (
    username_key     TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  TIMESTAMPTZ NOT NULL
);
--bun:split
DROP TABLE IF EXISTS login_throttle;
