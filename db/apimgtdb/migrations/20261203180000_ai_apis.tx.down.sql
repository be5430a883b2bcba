ALTER TABLE throttling_policies DROP COLUMN completion_token_count;
--bun:split
ALTER TABLE throttling_policies DROP COLUMN prompt_token_count;
--bun:split
ALTER TABLE throttling_policies DROP COLUMN total_token_count;
--bun:split
ALTER TABLE apis DROP COLUMN ai_backend_key;
--bun:split
ALTER TABLE apis DROP COLUMN ai;
