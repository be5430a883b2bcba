-- What each gateway reports: the gateway environments it belongs to (a JSON array, in its
-- order) and the digest of the enforced set stored below, so that a heartbeat carrying only
-- the digest can be checked without reading the set.
ALTER TABLE runtime_instances ADD COLUMN environments TEXT NOT NULL DEFAULT '[]';
--bun:split
ALTER TABLE runtime_instances ADD COLUMN enforced_digest TEXT;
--bun:split
-- The revision of each API a gateway reports enforcing; acknowledged_at is when the control
-- plane first recorded that revision for that gateway (a deployment's acknowledgement).
CREATE TABLE IF NOT EXISTS gateway_enforced (
    instance_id      TEXT NOT NULL,
    api_id           TEXT NOT NULL,
    revision_id      TEXT NOT NULL,
    acknowledged_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance_id, api_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS gateway_enforced_api ON gateway_enforced (api_id);
