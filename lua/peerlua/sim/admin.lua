-- peerlua.sim.admin: the /_sim/ endpoints used by tests and tools.
--   GET  /_sim/requests[?provider=P&limit=N]  the request log, oldest first:
--        [{time, method, path, status, credential, provider, action, fault}]
--        (time: wall-clock epoch seconds, fractional)
--   GET  /_sim/stats    {total, by_provider, by_route, by_status,
--                        max_per_second = {credential = n}}
--   POST /_sim/reset    clear the log and every provider's state; the random
--                       generator starts again from the seed
--   GET  /_sim/health   {status = "ok", uptime, time_scale, seed, faults, providers}
--   POST /_sim/peer-accept {provider, id, accept = true|false}: the peer side
--        (the AWS account, the peer VPC's owner) accepts or rejects a peering
--   POST /_sim/state    {provider, id, state}: force a provider status word
--   GET  /_sim/fixture  the loaded fixture: accounts, credentials and ids
--        (every secret in it is a fake, known to the emulator only)
--   GET  /_sim/faults   {spec}; POST /_sim/faults {spec} replaces it (400 if bad)
--   GET  /_sim/clock    {sim_time, time_scale}
--   POST /_sim/clock    {advance = seconds}: move emulated time forward
-- Requests to /_sim/ are not logged themselves.
local json = require("peerlua.json")
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")

local M = {}

local function one(v)
  if type(v) == "table" then return v[#v] end
  return v
end

function M.new(app)
  local r = router.new {
    not_found = function(req)
      return response.json(404, { error = "no such admin endpoint", path = req.path })
    end,
  }

  r:add("GET", "/fixture", function()
    return response.json(200, app.fixture)
  end)

  r:add("GET", "/requests", function(req)
    local limit = math.tointeger(tonumber(one(req.query.limit)))
    local provider = one(req.query.provider)
    if provider then -- a name no request is logged under would list nothing, silently
      local names = {}
      for _, p in ipairs(app.mounted) do
        if p.provider == provider then names = nil break end
        names[#names + 1] = p.provider
      end
      if names then
        return response.json(400, { error = "provider: '" .. provider .. "' is not one of this emulator's ("
          .. table.concat(names, ", ") .. ")" })
      end
    end
    local entries = app.log:entries { provider = provider, limit = limit }
    return response.json(200, json.array(entries))
  end)

  r:add("GET", "/stats", function()
    return response.json(200, app.log:stats())
  end)

  r:add("POST", "/reset", function()
    app:reset()
    return response.json(200, { reset = true })
  end)

  r:add("GET", "/health", function()
    local names = {}
    for _, p in ipairs(app.mounted) do names[#names + 1] = p.provider end
    return response.json(200, {
      status = "ok",
      uptime = app:now() - app.started_wall,
      sim_time = app:clock(),
      time_scale = app.time_scale,
      seed = app.seed,
      faults = app.faults,
      providers = json.array(names),
    })
  end)

  -- read {provider = ...} bodies and find the provider's hook
  local function provider_call(req, hook_name, fn)
    local body = json.decode(req.body or "")
    if type(body) ~= "table" then return response.json(400, { error = "the body must be a JSON object" }) end
    local hooks = type(body.provider) == "string" and app.providers[body.provider]
    if not hooks then return response.json(404, { error = "unknown provider: " .. tostring(body.provider) }) end
    if not hooks[hook_name] then
      return response.json(400, { error = body.provider .. " does not support " .. hook_name })
    end
    if type(body.id) ~= "string" then return response.json(400, { error = "id: must be a string" }) end
    local ok, msg = fn(hooks[hook_name], body)
    if not ok then return response.json(404, { error = msg or "failed" }) end
    return response.json(200, { ok = true })
  end

  r:add("POST", "/peer-accept", function(req)
    return provider_call(req, "accept", function(hook, body)
      if body.accept ~= nil and type(body.accept) ~= "boolean" then return nil, "accept: must be a boolean" end
      return hook(body.id, body.accept ~= false)
    end)
  end)

  r:add("POST", "/state", function(req)
    return provider_call(req, "set_state", function(hook, body)
      if type(body.state) ~= "string" then return nil, "state: must be a string" end
      return hook(body.id, body.state)
    end)
  end)

  r:add("GET", "/faults", function()
    return response.json(200, { spec = app.faults or "" })
  end)

  r:add("POST", "/faults", function(req)
    local body = json.decode(req.body or "")
    local spec = type(body) == "table" and body.spec
    if type(spec) ~= "string" then return response.json(400, { error = "spec: must be a string" }) end
    local ok, err = app:set_faults(spec)
    if not ok then return response.json(400, { error = err }) end
    return response.json(200, { spec = spec })
  end)

  r:add("GET", "/clock", function()
    return response.json(200, { sim_time = app:clock(), time_scale = app.time_scale })
  end)

  r:add("POST", "/clock", function(req)
    local body = json.decode(req.body or "")
    local s = type(body) == "table" and body.advance
    if type(s) ~= "number" or s < 0 then return response.json(400, { error = "advance: must be seconds >= 0" }) end
    app:advance(s)
    return response.json(200, { sim_time = app:clock(), time_scale = app.time_scale })
  end)

  return r
end

return M
