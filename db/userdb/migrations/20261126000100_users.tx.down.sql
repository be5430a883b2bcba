DROP TABLE IF EXISTS login_failures;
--bun:split
DROP TABLE IF EXISTS sessions;
--bun:split
DROP TABLE IF EXISTS users;
