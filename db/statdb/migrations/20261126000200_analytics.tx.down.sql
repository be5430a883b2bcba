DROP INDEX IF EXISTS usage_rollups_api;
--bun:split
ALTER TABLE usage_rollups DROP COLUMN proxied;
--bun:split
DROP TABLE IF EXISTS analytics_batches;
