-- Groups of users (managed by admins) and API visibility. user_groups holds the groups,
-- group_members their members by user id (users live in userdb: no foreign key; the username
-- is kept for display). An API is PUBLIC or RESTRICTED; its visible_to_groups and
-- editable_by_groups are JSON arrays of group names, mirrored in api_groups (kind VIEW or
-- EDIT) so that the catalog filter and deleteGroup's check are plain SQL.
CREATE TABLE IF NOT EXISTS user_groups (
    name         TEXT PRIMARY KEY,
    description  TEXT,
    created_at   TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS group_members (
    group_name  TEXT NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    username    TEXT NOT NULL,
    PRIMARY KEY (group_name, user_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS group_members_user ON group_members (user_id);
--bun:split
CREATE TABLE IF NOT EXISTS api_groups (
    api_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    PRIMARY KEY (api_id, kind, group_name)
);
--bun:split
CREATE INDEX IF NOT EXISTS api_groups_group ON api_groups (group_name);
--bun:split
ALTER TABLE apis ADD COLUMN visibility TEXT NOT NULL DEFAULT 'PUBLIC';
--bun:split
ALTER TABLE apis ADD COLUMN visible_to_groups TEXT NOT NULL DEFAULT '[]';
--bun:split
ALTER TABLE apis ADD COLUMN editable_by_groups TEXT NOT NULL DEFAULT '[]';
