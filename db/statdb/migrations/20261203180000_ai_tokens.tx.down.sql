DROP TABLE IF EXISTS model_usage_rollups;
--bun:split
ALTER TABLE usage_rollups DROP COLUMN provider_latency_sum_us;
--bun:split
ALTER TABLE usage_rollups DROP COLUMN tokens_estimated;
--bun:split
ALTER TABLE usage_rollups DROP COLUMN total_tokens;
--bun:split
ALTER TABLE usage_rollups DROP COLUMN completion_tokens;
--bun:split
ALTER TABLE usage_rollups DROP COLUMN prompt_tokens;
