ALTER TABLE usage_rollups DROP COLUMN cache_hits;
