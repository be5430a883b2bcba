-- The SQL bus backend (watermill-sql) creates its own topic and offset tables on first use;
-- this table records which bus schema version the store was prepared for.
CREATE TABLE IF NOT EXISTS bus_store_info (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
--bun:split
INSERT INTO bus_store_info (name, value) VALUES ('schema', 'watermill-sql-v4') ON CONFLICT (name) DO NOTHING;
