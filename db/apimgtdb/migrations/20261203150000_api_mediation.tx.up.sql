-- An API's mediation: the built-in policies run on every call (a JSON list of
-- {name, flow, parameters}, before each resource's, which live in resources), its response
-- cache settings (JSON {enabled, ttlSeconds, maxBodyBytes}; NULL when never set) and whether
-- requests are checked against its OpenAPI definition. Circuit breaking and retries live in
-- endpoints.
ALTER TABLE apis ADD COLUMN policies TEXT NOT NULL DEFAULT '[]';
--bun:split
ALTER TABLE apis ADD COLUMN response_cache TEXT;
--bun:split
ALTER TABLE apis ADD COLUMN validate_requests BOOLEAN NOT NULL DEFAULT FALSE;
