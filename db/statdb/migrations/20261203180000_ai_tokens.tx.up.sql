-- AI APIs: the tokens the providers reported (or gateways estimated: tokens_estimated counts
-- those requests) and the providers' latency, per API and application...
ALTER TABLE usage_rollups ADD COLUMN prompt_tokens BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE usage_rollups ADD COLUMN completion_tokens BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE usage_rollups ADD COLUMN total_tokens BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE usage_rollups ADD COLUMN tokens_estimated BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE usage_rollups ADD COLUMN provider_latency_sum_us BIGINT NOT NULL DEFAULT 0;
--bun:split
-- ...and per model: one row per (granularity, bucket start, API, application, model).
-- provider_timed counts the requests with a provider latency, the divisor of its sum.
CREATE TABLE IF NOT EXISTS model_usage_rollups (
    granularity             TEXT NOT NULL,
    bucket                  TIMESTAMPTZ NOT NULL,
    api_id                  TEXT NOT NULL,
    application_id          TEXT NOT NULL,
    model                   TEXT NOT NULL,
    requests                BIGINT NOT NULL,
    prompt_tokens           BIGINT NOT NULL,
    completion_tokens       BIGINT NOT NULL,
    total_tokens            BIGINT NOT NULL,
    tokens_estimated        BIGINT NOT NULL,
    provider_latency_sum_us BIGINT NOT NULL,
    provider_timed          BIGINT NOT NULL,
    PRIMARY KEY (granularity, bucket, api_id, application_id, model)
);
--bun:split
CREATE INDEX IF NOT EXISTS model_usage_rollups_api ON model_usage_rollups (api_id, granularity, bucket);
--bun:split
CREATE INDEX IF NOT EXISTS model_usage_rollups_app ON model_usage_rollups (application_id, granularity, bucket);
