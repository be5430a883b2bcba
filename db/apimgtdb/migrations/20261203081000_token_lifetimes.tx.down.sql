DROP TABLE IF EXISTS oauth_api_keys;
--bun:split
DROP TABLE IF EXISTS oauth_user_revocations;
--bun:split
ALTER TABLE oauth_refresh_tokens DROP COLUMN family_expires_at;
