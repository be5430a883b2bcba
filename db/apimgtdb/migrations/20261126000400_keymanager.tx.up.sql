-- Key Manager: OAuth2 clients (one per application and key type), refresh tokens,
-- authorization codes, revoked access tokens, signing keys and scope-to-role bindings.
-- Secrets, refresh tokens and codes are stored as SHA-256 hashes only.
CREATE TABLE IF NOT EXISTS oauth_clients (
    consumer_key          TEXT PRIMARY KEY,
    application_id        TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_type              TEXT NOT NULL,
    secret_hash           TEXT NOT NULL,
    grant_types           TEXT NOT NULL,
    callback_url          TEXT,
    auth_failures         INTEGER NOT NULL DEFAULT 0,
    last_auth_failure_at  TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS oauth_clients_app_key_type ON oauth_clients (application_id, key_type);
--bun:split
-- A refresh token belongs to a family (one grant: the tokens that rotate from each other).
-- access_jti/access_expires_at name the access token issued with it, so that revoking the
-- family revokes the access tokens too.
CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (
    id                 TEXT PRIMARY KEY,
    family_id          TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    scope              TEXT NOT NULL,
    grant_type         TEXT NOT NULL,
    access_jti         TEXT NOT NULL,
    access_expires_at  TIMESTAMPTZ NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    used_at            TIMESTAMPTZ,
    revoked_at         TIMESTAMPTZ
);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_refresh_tokens_client ON oauth_refresh_tokens (client_id);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires_at);
--bun:split
CREATE TABLE IF NOT EXISTS oauth_authorization_codes (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    family_id          TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    used_at            TIMESTAMPTZ,
    access_jti         TEXT,
    access_expires_at  TIMESTAMPTZ
);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_authorization_codes_expires ON oauth_authorization_codes (expires_at);
--bun:split
-- Revoked access tokens, kept until they would have expired anyway.
CREATE TABLE IF NOT EXISTS oauth_revocations (
    jti         TEXT PRIMARY KEY,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS oauth_revocations_expires ON oauth_revocations (expires_at);
--bun:split
-- Token signing keys. private_key is AES-256-GCM ciphertext (nonce || sealed PKCS#8, the kid
-- as additional data) under the configured encryption key. One key is active; retired keys
-- stay published in the JWKS until the tokens they signed have expired (publish_until).
CREATE TABLE IF NOT EXISTS oauth_signing_keys (
    kid            TEXT PRIMARY KEY,
    algorithm      TEXT NOT NULL,
    private_key    BYTEA NOT NULL,
    public_jwk     TEXT NOT NULL,
    active         BOOLEAN NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    retired_at     TIMESTAMPTZ,
    publish_until  TIMESTAMPTZ
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS oauth_signing_keys_one_active ON oauth_signing_keys (active) WHERE active;
--bun:split
-- Scope-to-role bindings: a scope with rows here is granted only to holders of one of its
-- roles; a scope without rows is granted to any user.
CREATE TABLE IF NOT EXISTS oauth_scope_roles (
    scope       TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, role)
);
