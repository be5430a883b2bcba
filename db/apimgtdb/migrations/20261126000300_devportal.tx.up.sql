-- Developer Portal: consumer applications and their subscriptions to APIs.
-- name_key is the case-folded name: an owner's application names are unique regardless of case.
CREATE TABLE IF NOT EXISTS applications (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    name_key           TEXT NOT NULL,
    description        TEXT,
    owner_id           TEXT NOT NULL,
    owner              TEXT NOT NULL,
    throttling_policy  TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS applications_owner_name ON applications (owner_id, name_key);
--bun:split
CREATE INDEX IF NOT EXISTS applications_policy ON applications (throttling_policy);
--bun:split
-- api_id points into apis (owned by the Publisher) without a foreign key: deleting an API is
-- the Publisher's decision; it asks CountSubscriptionsOfAPI first.
CREATE TABLE IF NOT EXISTS subscriptions (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    api_id          TEXT NOT NULL,
    tier            TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS subscriptions_app_api ON subscriptions (application_id, api_id);
--bun:split
CREATE INDEX IF NOT EXISTS subscriptions_api ON subscriptions (api_id, created_at);
--bun:split
CREATE INDEX IF NOT EXISTS subscriptions_tier ON subscriptions (tier);
