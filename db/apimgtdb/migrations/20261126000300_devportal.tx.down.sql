DROP TABLE IF EXISTS subscriptions;
--bun:split
DROP TABLE IF EXISTS applications;
