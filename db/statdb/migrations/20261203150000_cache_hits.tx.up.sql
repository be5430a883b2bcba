-- Requests a gateway answered from its response cache.
ALTER TABLE usage_rollups ADD COLUMN cache_hits BIGINT NOT NULL DEFAULT 0;
