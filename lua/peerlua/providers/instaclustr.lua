-- peerlua.providers.instaclustr: Instaclustr provisioning API, v1 (the
-- default, documented in shared/seeds) and v2 (cluster-management,
-- `api = "v2"`). HTTP Basic with the user name and provisioning API key.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local common = core.require("peerlua.providers.common")

local M = {
  name = "instaclustr",
  api = "v1",
  options = { username = "string", api_key = "string" },
}

-- HTTP Basic with the user name and API key: made in C (pl_provider.c, instaclustr_auth)
function M.credentials(client, opts)
  return common.credentials(client, opts, { what = "Instaclustr credentials" })
end


-- v2 lists carry summaries without statusCode (providers.md 1.4;
-- AwsVpcPeerSummaryV2 in shared/reference/instaclustr_api_v2_openapi.yaml):
-- read p on its own for its status. nil when it is gone meanwhile.
local function with_status(client, p)
  if p.status ~= nil or client.api ~= "v2" or not p.id then return p end
  local full, err = client:get_peering({ vpc_peer_id = p.id })
  if full then return full end
  if err and err.code == "not_found" then return nil end
  return nil, err
end

-- v1 create answers with the new id only: read the peering back (many
-- creates at once share one list for it). A v2 list: each peering read
-- for its status.
M.after = {
  create_peering = function(client, _, p, how)
    if client.api ~= "v1" or type(p.raw) ~= "string" then return p, how end
    local full, err = core.require("peerlua.peering").read_new(p)
    if not full then return nil, err end
    return full, how
  end,
  list_peerings = function(client, _, list, how)
    if client.api ~= "v2" then return list, how end
    local out = {}
    for _, p in ipairs(list) do
      local full, err = with_status(client, p)
      if err then return nil, err end
      out[#out + 1] = full
    end
    return out, how
  end,
}

-- A dry run reads before it plans a firewall rule: is every (address,
-- type) asked for already there? Then the POST would be answered 409
-- "already exists" (providers.md 1.3, 1.4), nothing would change.
-- v1 lists {network | securityGroupId, rules = {{type, status}}}; v2
-- {{clusterId, firewallRules = {{network, type, status}}}}. A rule being
-- deleted does not count.
local GONE = { DELETED = true, DELETING = true }
local function present(client, args)
  local body, err = client:call("list_firewall_rules", { cluster_id = args.cluster_id })
  if body == nil then return nil, err end
  local have = {}
  local function add(addr, x)
    if addr ~= nil and type(x) == "table" and not GONE[x.status] then have[tostring(addr) .. " " .. tostring(x.type)] = true end
  end
  for _, e in ipairs(type(body) == "table" and body or {}) do
    if type(e) == "table" then
      if client.api == "v1" then
        for _, x in ipairs(type(e.rules) == "table" and e.rules or {}) do add(e.network or e.securityGroupId, x) end
      else
        for _, x in ipairs(type(e.firewallRules) == "table" and e.firewallRules or {}) do add(x.network, x) end
      end
    end
  end
  return have
end

M.plan_exists = {
  add_firewall_rule = function(client, args)
    local have, err = present(client, args)
    if not have then return nil, err end
    if client.api ~= "v1" then return have[args.network .. " " .. args.type] == true end
    local addr = args.network or args.security_group_id
    for _, x in ipairs(args.rules) do -- {type = T} or T
      if not have[addr .. " " .. tostring(type(x) == "table" and x.type or x)] then return false end
    end
    return true
  end,
}

-- ensure_peering finds the peering (the same VPC and account peered with
-- the data centre, not deleted or being deleted) and refuses one with
-- other subnets by the table's find (core/engine/pl_provider.c,
-- instaclustr_v1_find, instaclustr_v2_find); a v2 list's summaries lack
-- the status, read with the peering.
M.complete = with_status

return M
