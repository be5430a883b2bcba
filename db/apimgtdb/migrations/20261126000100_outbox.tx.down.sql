DROP TABLE IF EXISTS runtime_instances;
--bun:split
DROP TABLE IF EXISTS control_events;
--bun:split
DROP TABLE IF EXISTS revisions;
