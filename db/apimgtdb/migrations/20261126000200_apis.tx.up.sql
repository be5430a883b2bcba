-- The runtime view of APIs (the Publisher owns writes). Lists are JSON text.
CREATE TABLE IF NOT EXISTS apis (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    context             TEXT NOT NULL,
    version             TEXT NOT NULL,
    description         TEXT,
    provider_id         TEXT NOT NULL,
    provider            TEXT NOT NULL,
    lifecycle_state     TEXT NOT NULL,
    endpoints           TEXT NOT NULL,
    resources           TEXT NOT NULL,
    tiers               TEXT NOT NULL,
    tags                TEXT NOT NULL,
    throttling_policy   TEXT,
    cors                TEXT NOT NULL,
    is_default_version  BOOLEAN NOT NULL DEFAULT FALSE,
    search_text         TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS apis_context_version ON apis (context, version);
--bun:split
CREATE INDEX IF NOT EXISTS apis_created ON apis (created_at DESC, id DESC);
--bun:split
CREATE INDEX IF NOT EXISTS apis_state ON apis (lifecycle_state, created_at DESC, id DESC);
--bun:split
CREATE INDEX IF NOT EXISTS apis_provider ON apis (provider_id, created_at DESC, id DESC);
--bun:split
CREATE TABLE IF NOT EXISTS api_tags (
    api_id  TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (api_id, tag)
);
--bun:split
CREATE INDEX IF NOT EXISTS api_tags_tag ON api_tags (tag);
