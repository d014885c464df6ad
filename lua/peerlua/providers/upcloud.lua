-- peerlua.providers.upcloud: UpCloud API 1.3 network peerings. Auth is a
-- bearer API token (preferred) or HTTP Basic with a (sub-)account.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local base = core.require("peerlua.client")
local common = core.require("peerlua.providers.common")

local M = {
  name = "upcloud",
  options = { token = "string", username = "string", password = "string" },
}

-- a token, or a username and password
local function completer(client)
  local hint = common.hint(client, "UpCloud credentials", { { "token" }, { "username", "password" } })
  return function(c)
    if c.token and c.token ~= "" then return true end
    if c.username and c.username ~= "" and c.password and c.password ~= "" then return true end
    return nil, hint
  end
end

function M.credentials(client, opts)
  if opts.token and (opts.username or opts.password) then
    return nil, "give either token or username and password, not both"
  end
  -- the header (a Bearer token, else Basic) is made in C (pl_provider.c, upcloud_auth)
  return common.credentials(client, opts, { complete = completer(client) })
end


-- UpCloud deletes only disabled peerings: disable this one and wait until
-- UpCloud reports it disabled (its own state, not "peer-disabled").
function M.before_delete(client, p)
  if p.status ~= "disabled" then
    local ok, how = client:update_peering({ uuid = p.id, configured_status = "disabled" })
    if not ok then return nil, how end
    if how == "planned" then return true end -- a dry run: it would not become disabled
  end
  local deadline = core.now() + 600
  local interval = 2 * client.poll_scale
  while true do
    local ok, err = p:refresh()
    if not ok then return nil, err end
    if p.status == "disabled" then return true end
    if core.now() + interval > deadline then
      return nil, base.error({ code = "timeout", provider = "upcloud", op = "delete", state = p.state,
                               message = "peering " .. p.id .. " is still " .. tostring(p.status) .. ", not disabled",
                               retryable = true })
    end
    core.sleep(interval)
  end
end

-- network = "<uuid>" or {uuid = "<uuid>"}
local function uuid_of(v)
  return type(v) == "table" and v.uuid or v
end

-- A network peered with itself: two networks whose CIDRs overlap cannot
-- be peered (aiven/aiven-docs docs/platform/howto/vpc-peering-upcloud.md,
-- "Limitations"), and a network overlaps itself. Refused before sending;
-- UpCloud's own answer to it is not published.
function M.check(_, opname, args)
  if opname ~= "create_peering" then return nil end
  local a, b = uuid_of(args.network), uuid_of(args.peer_network)
  if type(a) == "string" and type(b) == "string" and a:lower() == b:lower() then
    return { { field = "peer_network", rule = "must be another network than network (a network cannot be peered with itself)" } }
  end
end

-- ensure_peering finds the peering (one between the same two networks,
-- in any state) by the table's find (core/engine/pl_provider.c,
-- upcloud_find).

return M
