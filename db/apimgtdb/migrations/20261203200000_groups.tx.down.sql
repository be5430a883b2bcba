ALTER TABLE apis DROP COLUMN editable_by_groups;
--bun:split
ALTER TABLE apis DROP COLUMN visible_to_groups;
--bun:split
ALTER TABLE apis DROP COLUMN visibility;
--bun:split
DROP TABLE IF EXISTS api_groups;
--bun:split
DROP TABLE IF EXISTS group_members;
--bun:split
DROP TABLE IF EXISTS user_groups;
