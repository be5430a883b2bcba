-- Developer Portal feedback on APIs: one rating (1 to 5) per user and API, and comments.
CREATE TABLE IF NOT EXISTS api_ratings (
    api_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (api_id, user_id)
);
--bun:split
CREATE TABLE IF NOT EXISTS api_comments (
    id          TEXT PRIMARY KEY,
    api_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS api_comments_api ON api_comments (api_id, created_at);
