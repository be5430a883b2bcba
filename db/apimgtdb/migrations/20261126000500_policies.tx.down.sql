DROP TABLE IF EXISTS blocking_conditions;
--bun:split
DROP TABLE IF EXISTS throttling_policies;
