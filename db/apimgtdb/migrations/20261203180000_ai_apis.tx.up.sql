-- AI APIs: an LLM provider's settings (JSON: vendor, models, promptGuard) and its key, sealed
-- with AES-256-GCM under the deployment's encryption key (never stored in the clear).
-- AI_TOKENS throttling policies: LLM tokens per unit time, as the provider reports them.
ALTER TABLE apis ADD COLUMN ai TEXT;
--bun:split
ALTER TABLE apis ADD COLUMN ai_backend_key {{if .Postgres}}BYTEA{{else}}BLOB{{end}};
--bun:split
ALTER TABLE throttling_policies ADD COLUMN total_token_count BIGINT;
--bun:split
ALTER TABLE throttling_policies ADD COLUMN prompt_token_count BIGINT;
--bun:split
ALTER TABLE throttling_policies ADD COLUMN completion_token_count BIGINT;
