DROP TABLE IF EXISTS document_files;
--bun:split
DROP TABLE IF EXISTS documents;
