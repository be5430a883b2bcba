ALTER TABLE usage_rollups DROP COLUMN overage;
