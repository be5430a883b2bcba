ALTER TABLE apis DROP COLUMN product_resources;
