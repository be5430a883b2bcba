-- Gateway environments: groups of gateways that serve the same deployed revisions.
-- gateway_urls is a JSON list of the base URLs consumers are shown. Default always exists;
-- the control plane fills its URLs from its configuration at start.
CREATE TABLE IF NOT EXISTS gateway_environments (
    name            TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    description     TEXT,
    gateway_urls    TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
--bun:split
INSERT INTO gateway_environments (name, display_name, description, gateway_urls, created_at)
VALUES ('Default', 'Default', 'The gateways that join no other environment.', '[]', CURRENT_TIMESTAMP)
ON CONFLICT (name) DO NOTHING;
--bun:split
-- The last revision number given per API; numbers are never reused.
CREATE TABLE IF NOT EXISTS api_revision_counters (
    api_id          TEXT PRIMARY KEY REFERENCES apis (id) ON DELETE CASCADE,
    last_number     INTEGER NOT NULL
);
--bun:split
-- Immutable copies of an API: definition is the gateways' view (contract.APIDef as JSON,
-- without state); api_description, tags and openapi restore the rest of the working copy.
CREATE TABLE IF NOT EXISTS api_revisions (
    id              TEXT PRIMARY KEY,
    api_id          TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    description     TEXT,
    definition      TEXT NOT NULL,
    api_description TEXT,
    tags            TEXT NOT NULL,
    openapi         TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS api_revisions_number ON api_revisions (api_id, number);
--bun:split
-- At most one revision of an API per environment.
CREATE TABLE IF NOT EXISTS api_deployments (
    api_id          TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    environment     TEXT NOT NULL REFERENCES gateway_environments (name),
    revision_id     TEXT NOT NULL REFERENCES api_revisions (id),
    deployed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (api_id, environment)
);
--bun:split
CREATE INDEX IF NOT EXISTS api_deployments_revision ON api_deployments (revision_id);
--bun:split
CREATE INDEX IF NOT EXISTS api_deployments_environment ON api_deployments (environment);
