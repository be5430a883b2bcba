-- Approval workflows: which kinds of request need an admin's approval (a missing row is
-- "off"), the tasks (one per request; decided once, by a conditional update on status), the
-- webhook each new task and decision is posted to (its secret sealed under the control
-- plane's encryption key), and the webhook deliveries not yet made (written in the
-- transaction that creates or decides the task, posted after commit with retries).
CREATE TABLE IF NOT EXISTS workflow_settings (
    type               TEXT PRIMARY KEY,
    approval_required  BOOLEAN NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS workflow_tasks (
    id                  TEXT PRIMARY KEY,
    type                TEXT NOT NULL,
    status              TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    requested_by_name   TEXT NOT NULL,
    subject             TEXT NOT NULL,
    target_id           TEXT NOT NULL,
    detail              TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    decided_by          TEXT,
    decided_by_name     TEXT,
    decided_at          TIMESTAMPTZ,
    comment             TEXT
);
--bun:split
CREATE INDEX IF NOT EXISTS workflow_tasks_status ON workflow_tasks (status, created_at);
--bun:split
CREATE INDEX IF NOT EXISTS workflow_tasks_requester ON workflow_tasks (requested_by, created_at);
--bun:split
CREATE INDEX IF NOT EXISTS workflow_tasks_target ON workflow_tasks (target_id, status);
--bun:split
CREATE TABLE IF NOT EXISTS workflow_webhook (
    id             INTEGER PRIMARY KEY,
    url            TEXT,
    secret_sealed  TEXT,
    updated_at     TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS workflow_deliveries (
    id               TEXT PRIMARY KEY,
    payload          TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS workflow_deliveries_due ON workflow_deliveries (next_attempt_at);
--bun:split
ALTER TABLE applications ADD COLUMN status TEXT NOT NULL DEFAULT 'APPROVED';
--bun:split
ALTER TABLE applications ADD COLUMN status_reason TEXT;
--bun:split
ALTER TABLE subscriptions ADD COLUMN pending_tier TEXT;
--bun:split
ALTER TABLE subscriptions ADD COLUMN status_reason TEXT;
--bun:split
ALTER TABLE apis ADD COLUMN pending_lifecycle_action TEXT;
