-- MCP servers: an MCP API's settings (runtime/contract.MCPConfig as JSON: the mode, the API
-- its tools were made from and the tools, or the upstream tools a proxy hides); NULL for
-- every other API.
ALTER TABLE apis ADD COLUMN mcp TEXT;
