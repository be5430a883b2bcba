-- API artifacts: the stored OpenAPI definition of each API (kept in step with its
-- resources) and the lifecycle history.
CREATE TABLE IF NOT EXISTS api_definitions (
    api_id      TEXT PRIMARY KEY,
    format      TEXT NOT NULL,
    definition  TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS lifecycle_history (
    id          TEXT PRIMARY KEY,
    api_id      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    action      TEXT,
    actor       TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS lifecycle_history_api ON lifecycle_history (api_id, at);
