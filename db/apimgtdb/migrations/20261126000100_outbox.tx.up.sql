-- The control-event outbox. Every change that runtimes must learn about appends an event in
-- the same transaction as the change; the revision comes from the counter row, whose row
-- lock serialises writers so revisions commit in order.
CREATE TABLE IF NOT EXISTS revisions (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
--bun:split
INSERT INTO revisions (name, value) VALUES ('control', 0) ON CONFLICT (name) DO NOTHING;
--bun:split
CREATE TABLE IF NOT EXISTS control_events (
    revision      BIGINT PRIMARY KEY,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    published_at  TIMESTAMPTZ
);
--bun:split
CREATE INDEX IF NOT EXISTS control_events_unpublished ON control_events (revision) WHERE published_at IS NULL;
--bun:split
CREATE TABLE IF NOT EXISTS runtime_instances (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    address    TEXT,
    revision   BIGINT NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL
);
