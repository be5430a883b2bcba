DROP TABLE IF EXISTS oauth_scope_roles;
--bun:split
DROP TABLE IF EXISTS oauth_signing_keys;
--bun:split
DROP TABLE IF EXISTS oauth_revocations;
--bun:split
DROP TABLE IF EXISTS oauth_authorization_codes;
--bun:split
DROP TABLE IF EXISTS oauth_refresh_tokens;
--bun:split
DROP TABLE IF EXISTS oauth_clients;
