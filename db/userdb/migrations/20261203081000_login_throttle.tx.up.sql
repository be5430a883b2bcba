-- Failed sign-ins counted per client address and per username from that address (key
-- "ip <addr>" or "user <username_key> <addr>"), replacing the per-username count that let
-- anyone lock an account out. Old rows are pruned.
CREATE TABLE IF NOT EXISTS login_throttle (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS login_throttle_last_failure ON login_throttle (last_failure_at);
--bun:split
DROP TABLE IF EXISTS login_failures;
