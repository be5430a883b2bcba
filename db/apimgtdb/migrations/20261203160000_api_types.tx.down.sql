ALTER TABLE throttling_policies DROP COLUMN graphql_max_complexity;
--bun:split
ALTER TABLE throttling_policies DROP COLUMN graphql_max_depth;
--bun:split
ALTER TABLE throttling_policies DROP COLUMN cost_count;
--bun:split
ALTER TABLE apis DROP COLUMN count_events;
--bun:split
ALTER TABLE apis DROP COLUMN require_persisted_queries;
--bun:split
ALTER TABLE apis DROP COLUMN persisted_queries;
--bun:split
ALTER TABLE apis DROP COLUMN graphql_schema;
--bun:split
ALTER TABLE apis DROP COLUMN type;
