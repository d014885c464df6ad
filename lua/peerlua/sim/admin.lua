-- peerlua.sim.admin: the /_sim/ endpoints used by tests and tools.
--   GET  /_sim/requests[?provider=P&limit=N]  the request log, oldest first:
--        [{time, method, path, status, credential, provider, action}]
--        (time: wall-clock epoch seconds, fractional)
--   GET  /_sim/stats    {total, by_provider, by_route, by_status,
--                        max_per_second = {credential = n}}
--   POST /_sim/reset    clear the log and every provider's state
--   GET  /_sim/health   {status = "ok", uptime, time_scale, seed, faults, providers}
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

  r:add("GET", "/requests", function(req)
    local limit = math.tointeger(tonumber(one(req.query.limit)))
    local entries = app.log:entries { provider = one(req.query.provider), limit = limit }
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

  return r
end

return M
