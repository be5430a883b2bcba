ALTER TABLE apis DROP COLUMN pending_lifecycle_action;
--bun:split
ALTER TABLE subscriptions DROP COLUMN status_reason;
--bun:split
ALTER TABLE subscriptions DROP COLUMN pending_tier;
--bun:split
ALTER TABLE applications DROP COLUMN status_reason;
--bun:split
ALTER TABLE applications DROP COLUMN status;
--bun:split
DROP TABLE IF EXISTS workflow_deliveries;
--bun:split
DROP TABLE IF EXISTS workflow_webhook;
--bun:split
DROP TABLE IF EXISTS workflow_tasks;
--bun:split
DROP TABLE IF EXISTS workflow_settings;
