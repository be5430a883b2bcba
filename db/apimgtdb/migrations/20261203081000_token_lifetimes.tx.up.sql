-- Tokens that end with the reason they were given.
-- family_expires_at: the absolute end of a refresh family; rotation never moves it.
ALTER TABLE oauth_refresh_tokens ADD COLUMN family_expires_at TIMESTAMPTZ;
--bun:split
UPDATE oauth_refresh_tokens SET family_expires_at = expires_at WHERE family_expires_at IS NULL;
--bun:split
-- A user's access tokens issued before revoked_before are refused (password change, role
-- removal, deletion); the row is kept until every such token has expired.
CREATE TABLE IF NOT EXISTS oauth_user_revocations (
    user_id         TEXT PRIMARY KEY,
    revoked_before  TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_user_revocations_expires ON oauth_user_revocations (expires_at);
--bun:split
-- API keys as their owners list them: the id (jti) and metadata, never the key.
CREATE TABLE IF NOT EXISTS oauth_api_keys (
    jti             TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    label           TEXT,
    key_type        TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_api_keys_application ON oauth_api_keys (application_id, created_at);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_api_keys_expires ON oauth_api_keys (expires_at);
