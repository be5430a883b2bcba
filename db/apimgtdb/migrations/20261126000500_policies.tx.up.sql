-- Throttling policies and blocking conditions (the Admin component owns writes). A policy is
-- identified by its kind and name; condition_groups is a JSON array (ADVANCED policies).
CREATE TABLE IF NOT EXISTS throttling_policies (
    kind                    TEXT NOT NULL,
    name                    TEXT NOT NULL,
    description             TEXT,
    limit_type              TEXT NOT NULL,
    request_count           BIGINT,
    data_amount_bytes       BIGINT,
    unit_time_seconds       BIGINT NOT NULL,
    burst_limit_per_second  BIGINT,
    stop_on_quota_reach     BOOLEAN NOT NULL DEFAULT TRUE,
    fail_closed             BOOLEAN NOT NULL DEFAULT FALSE,
    condition_groups        TEXT NOT NULL DEFAULT '[]',
    key_template            TEXT,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, name)
);
--bun:split
-- The defaults WSO2 API Manager ships.
INSERT INTO throttling_policies (kind, name, description, limit_type, request_count, unit_time_seconds, stop_on_quota_reach, fail_closed, condition_groups, created_at, updated_at) VALUES
    ('SUBSCRIPTION', 'Bronze',    'Allows 1000 requests per minute',   'REQUEST_COUNT', 1000,  60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('SUBSCRIPTION', 'Silver',    'Allows 2000 requests per minute',   'REQUEST_COUNT', 2000,  60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('SUBSCRIPTION', 'Gold',      'Allows 5000 requests per minute',   'REQUEST_COUNT', 5000,  60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('SUBSCRIPTION', 'Unlimited', 'Allows unlimited requests',         'REQUEST_COUNT', NULL,  60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('APPLICATION',  '10PerMin',  'Allows 10 requests per minute',     'REQUEST_COUNT', 10,    60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('APPLICATION',  '20PerMin',  'Allows 20 requests per minute',     'REQUEST_COUNT', 20,    60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('APPLICATION',  '50PerMin',  'Allows 50 requests per minute',     'REQUEST_COUNT', 50,    60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('APPLICATION',  'Unlimited', 'Allows unlimited requests',         'REQUEST_COUNT', NULL,  60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ADVANCED',     '10KPerMin', 'Allows 10000 requests per minute',  'REQUEST_COUNT', 10000, 60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ADVANCED',     '20KPerMin', 'Allows 20000 requests per minute',  'REQUEST_COUNT', 20000, 60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ADVANCED',     '50KPerMin', 'Allows 50000 requests per minute',  'REQUEST_COUNT', 50000, 60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ADVANCED',     'Unlimited', 'Allows unlimited requests',         'REQUEST_COUNT', NULL,  60, TRUE, FALSE, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
ON CONFLICT (kind, name) DO NOTHING;
--bun:split
-- Blocking conditions: calls matching an enabled condition are refused at every gateway.
CREATE TABLE IF NOT EXISTS blocking_conditions (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS blocking_conditions_type_value ON blocking_conditions (type, value);
