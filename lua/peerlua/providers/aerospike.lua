-- peerlua.providers.aerospike: Aerospike Cloud public API v1. OAuth2 client
-- credentials (API key id and secret) give a bearer token, cached per
-- client and refreshed before it expires, or once after a 401
-- token-expired; concurrent tasks share one refresh.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local common = core.require("peerlua.providers.common")
require("peerlua.json") -- loaded first: it sets core.json
local json = core.json -- as loaded (lua/peerlua/json.lua), not fields a script may replace

local M = {
  name = "aerospike",
  options = { client_id = "string", client_secret = "string", token_url = "string" },
}

function M.credentials(client, opts)
  local creds, err = common.credentials(client, opts, { what = "Aerospike Cloud API key" })
  if not creds then return nil, err end
  client.credential_id = creds.client_id
  local where = client.desc.token -- the table's (core/engine/pl_provider.c, aerospike_token)
  client.token_url = opts.token_url or (client.sim and client.sim.url .. where.sim_path) or where.url
  -- the token request's body holds the secret: sealed in C (core.seal), the secret dropped here
  client.token_body = core.seal(assert(json.encode_sorted({
    client_id = creds.client_id, client_secret = creds.client_secret, grant_type = "client_credentials" })))
  creds.client_secret = nil
  return creds
end

-- The token is fetched when it is due (one POST of token_body to
-- token_url, its answer read by the table's pl_token) by the operation
-- loop (core/binding/lua_operate.c, client.lua's OPERATE.token).

-- A 401 drops the token, and one more attempt fetches a fresh one when a
-- token was held or the answer says it expired: the operation loop's
-- (core/binding/lua_operate.c), by the table's pl_token and aerospike_stale.

-- The list's page size (the most, 100) and a create's isSecureConnection
-- (true) are the table's defaults (core/engine/pl_provider.c, as_list and
-- as_create).

-- The list comes in pages (core/engine/pl_provider.c, aerospike_pages): a
-- list without an offset is every page, one with an offset that page only.

-- ensure_peering finds the peering (the same VPC peered with the cluster,
-- not deleted or being deleted) and refuses one with another CIDR block
-- by the table's find (core/engine/pl_provider.c, aerospike_find).

return M
