DROP TABLE IF EXISTS gateway_enforced;
--bun:split
ALTER TABLE runtime_instances DROP COLUMN enforced_digest;
--bun:split
ALTER TABLE runtime_instances DROP COLUMN environments;
