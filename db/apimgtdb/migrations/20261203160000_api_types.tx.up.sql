-- API types: an API's kind (HTTP, GRAPHQL, WS, SSE), a GRAPHQL API's SDL and persisted-query
-- allowlist (a JSON array of hex SHA-256 hashes) with whether only those documents pass, and
-- whether an SSE API's events count against the tiers. Query-cost tiers: cost units per unit
-- time, and the bounds of one GraphQL document's depth and complexity (SUBSCRIPTION tiers).
ALTER TABLE apis ADD COLUMN type TEXT NOT NULL DEFAULT 'HTTP';
--bun:split
ALTER TABLE apis ADD COLUMN graphql_schema TEXT;
--bun:split
ALTER TABLE apis ADD COLUMN persisted_queries TEXT NOT NULL DEFAULT '[]';
--bun:split
ALTER TABLE apis ADD COLUMN require_persisted_queries BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE apis ADD COLUMN count_events BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE throttling_policies ADD COLUMN cost_count BIGINT;
--bun:split
ALTER TABLE throttling_policies ADD COLUMN graphql_max_depth BIGINT;
--bun:split
ALTER TABLE throttling_policies ADD COLUMN graphql_max_complexity BIGINT;
