DROP TABLE IF EXISTS api_comments;
--bun:split
DROP TABLE IF EXISTS api_ratings;
