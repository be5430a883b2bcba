DROP TABLE IF EXISTS api_deployments;
--bun:split
DROP TABLE IF EXISTS api_revisions;
--bun:split
DROP TABLE IF EXISTS api_revision_counters;
--bun:split
DROP TABLE IF EXISTS gateway_environments;
