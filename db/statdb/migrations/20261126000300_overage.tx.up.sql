-- Requests let through over a quota whose policy does not stop them (billing).
ALTER TABLE usage_rollups ADD COLUMN overage BIGINT NOT NULL DEFAULT 0;
