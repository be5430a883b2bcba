-- Analytics batches already rolled up: a batch delivered twice is added once. Rows are
-- pruned after a day (the bus keeps messages no longer than that).
CREATE TABLE IF NOT EXISTS analytics_batches (
    id  TEXT PRIMARY KEY,
    at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS analytics_batches_at ON analytics_batches (at);
--bun:split
-- Requests that reached the backend, the divisor of backend_sum_us.
ALTER TABLE usage_rollups ADD COLUMN proxied BIGINT NOT NULL DEFAULT 0;
--bun:split
CREATE INDEX IF NOT EXISTS usage_rollups_api ON usage_rollups (api_id, granularity, bucket);
