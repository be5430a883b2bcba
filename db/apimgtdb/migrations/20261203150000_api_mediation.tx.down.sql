ALTER TABLE apis DROP COLUMN validate_requests;
--bun:split
ALTER TABLE apis DROP COLUMN response_cache;
--bun:split
ALTER TABLE apis DROP COLUMN policies;
