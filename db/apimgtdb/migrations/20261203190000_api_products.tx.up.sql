-- API products: a PRODUCT API's resources, a JSON list of {apiId, method, path}, each an
-- operation of an HTTP API ('[]' for every other API).
ALTER TABLE apis ADD COLUMN product_resources TEXT NOT NULL DEFAULT '[]';
