DROP TABLE IF EXISTS lifecycle_history;
--bun:split
DROP TABLE IF EXISTS api_definitions;
