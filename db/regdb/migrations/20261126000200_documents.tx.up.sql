-- API documents (inline Markdown, a URL, or an uploaded file). Uploaded files live in
-- document_files as blobs under a random storage name, never the uploader's file name, so
-- every control-plane replica serves them and a document commits with its bytes.
CREATE TABLE IF NOT EXISTS documents (
    id            TEXT PRIMARY KEY,
    api_id        TEXT NOT NULL,
    name          TEXT NOT NULL,
    summary       TEXT,
    source        TEXT NOT NULL,
    content       TEXT,
    url           TEXT,
    file_name     TEXT,
    storage_name  TEXT,
    content_type  TEXT,
    size          BIGINT,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS documents_api_name ON documents (api_id, name);
--bun:split
CREATE INDEX IF NOT EXISTS documents_api ON documents (api_id, created_at);
--bun:split
CREATE TABLE IF NOT EXISTS document_files (
    storage_name  TEXT PRIMARY KEY,
    data          {{if .Postgres}}BYTEA{{else}}BLOB{{end}} NOT NULL
);
