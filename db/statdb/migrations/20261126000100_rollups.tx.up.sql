-- Analytics rollups: one row per (granularity, bucket start, API, application).
CREATE TABLE IF NOT EXISTS usage_rollups (
    granularity        TEXT NOT NULL,
    bucket             TIMESTAMPTZ NOT NULL,
    api_id             TEXT NOT NULL,
    application_id     TEXT NOT NULL,
    requests           BIGINT NOT NULL,
    errors_4xx         BIGINT NOT NULL,
    errors_5xx         BIGINT NOT NULL,
    throttled          BIGINT NOT NULL,
    latency_sum_us     BIGINT NOT NULL,
    latency_max_us     BIGINT NOT NULL,
    backend_sum_us     BIGINT NOT NULL,
    bytes              BIGINT NOT NULL,
    PRIMARY KEY (granularity, bucket, api_id, application_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS usage_rollups_app ON usage_rollups (application_id, granularity, bucket);
