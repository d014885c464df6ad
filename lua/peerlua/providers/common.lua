-- peerlua.providers.common: helpers the provider modules share.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local M = {}

-- The first fixture account of provider under --sim, or nil.
function M.sim_account(client, provider)
  local f = client.sim and client.sim.fixture and client.sim.fixture[provider]
  return f and f.accounts and f.accounts[1] or nil
end

-- "a", "a and b", "a, b and c"
local function words(list)
  if #list < 2 then return list[1] or "" end
  return table.concat(list, ", ", 1, #list - 1) .. " and " .. list[#list]
end

-- hint(client, what, sets) -> "no <what>: pass a and b (or c and d), or set
-- A and B (or C and D), or add them to the profile file": the message when
-- none of the sets of fields is complete. The variables are each field's
-- first (client.desc.creds.env, from core/engine/pl_provider.c), or all
-- of them for a set of one field ("set AIVEN_TOKEN or AIVEN_AUTH_TOKEN").
function M.hint(client, what, sets)
  local env = client.desc.creds.env or {}
  local fields, vars = {}, {}
  for i, set in ipairs(sets) do
    local names = {} -- a field with no variable of its own (none today) is not named
    for _, f in ipairs(set) do
      names[#names + 1] = env[f] and (#set == 1 and table.concat(env[f], " or ") or env[f][1])
    end
    fields[i], vars[i] = words(set), words(names)
  end
  local function alts(list)
    return list[1] .. (#list > 1 and " (or " .. table.concat(list, ", or ", 2) .. ")" or "")
  end
  return ("no %s: pass %s, or set %s, or add %s to the profile file"):format(what, alts(fields), alts(vars),
    #sets == 1 and #sets[1] == 1 and "it" or "them")
end

-- A complete-check for credentials.resolve: every field in `need` present.
function M.need(fields, hint)
  return function(c)
    for _, f in ipairs(fields) do
      if c[f] == nil or c[f] == "" then return nil, hint end
    end
    return true
  end
end

-- credentials(client, opts, spec) -> creds, source | nil, err: the
-- credentials of a client made with opts (credentials.resolve). spec is
-- what is the provider's own: provider, fields, env, settings, secrets,
-- and complete, or need (the fields that must all be there; the table's
-- by default) and what (what the message calls them when they are not:
-- M.hint); sim_account when the fixture's first account is not it. Every
-- provider looks in the same places the same way: the options, the
-- environment, the profile (opts.profile, $PEERLUA_PROFILE, "default"),
-- and under an emulator its fixture account alone.
function M.credentials(client, opts, spec)
  -- the provider's fields, their environment variables and which are
  -- required or secret: data (core/engine/pl_provider.c, pl_cred)
  local data = client.desc.creds
  spec.provider = spec.provider or client.name
  for _, k in ipairs({ "fields", "need", "secrets", "settings", "env" }) do
    if spec[k] == nil then spec[k] = data[k] end
  end
  spec.given = opts
  spec.profile = opts.profile or os.getenv("PEERLUA_PROFILE") or "default"
  spec.read_private, spec.emulated = client.read_private, client.sim ~= nil
  if spec.sim_account == nil then spec.sim_account = M.sim_account(client, spec.provider) end
  if spec.need then spec.complete = M.need(spec.need, M.hint(client, spec.what, { spec.need })) end
  -- looked up when called: the emulator loads this file with a core of its own, which has no require
  return core.require("peerlua.credentials").resolve(spec)
end

-- settled(client, opname, args) -> the object | nil: whether a change
-- refused with 409 is made already, by the provider table's rule
-- (core/engine/pl_provider.c, pl_settled): read it with the rule's
-- operation, given the arguments that operation takes, and look at the
-- field. The object is where the read's result is ({"peering": {...}}).
function M.settled(client, opname, args)
  local rule = client.desc.settled[opname]
  if not rule then return nil end
  local read = client.desc.ops[rule.read]
  local given = {}
  for name in pairs(read.params) do given[name] = args[name] end
  local body = client:call(rule.read, given)
  local obj = body
  for key in (read.result or ""):gmatch("[^.]+") do obj = type(obj) == "table" and obj[key] or nil end
  if type(obj) == "table" and obj[rule.field] == rule.want then return obj end
  return nil
end


-- The decoded JSON body of resp, or nil.
function M.body(resp)
  local ok, v = pcall(resp.json, resp)
  if ok and type(v) == "table" then return v end
  return nil
end

-- shared(holder, key, fn, ...) -> what fn(...) returns, run as a task
-- kept in holder[key] while it runs: tasks asking meanwhile wait for that
-- one run and share its answer (one token refresh, one AssumeRole for
-- every concurrent call), and the next ask after it starts a new one.
function M.shared(holder, key, fn, ...)
  if not holder[key] then holder[key] = core.spawn(fn, ...) end
  local task = holder[key]
  local a, b = task:wait()
  if holder[key] == task then holder[key] = nil end
  return a, b
end

-- token(client, fetch) -> true | nil, err: the client's engine holds a
-- token that is not due to be replaced (engine:fresh(), the time is C's:
-- pl_token), else one is fetched by fetch(client) -> true | nil, err, which
-- gives the answer to core.take_token: one fetch at a time, shared by
-- every call that waits for it.
function M.token(client, fetch)
  if client.engine:fresh() then return true end
  return M.shared(client, "refreshing", fetch, client)
end

-- A list in XML decoded by core.xml_decode: peerlua.xml.list (looked up
-- when called: the emulator loads this file without the C module)
function M.xml_list(v) return require("peerlua").xml.list(v) end

return M
