DROP TABLE IF EXISTS api_tags;
--bun:split
DROP TABLE IF EXISTS apis;
