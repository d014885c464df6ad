-- peerlua.emulator: the provider emulator started in this process, from any
-- Lua program (stock lua5.4 with peerlua.so, or peerlua), as
-- require("peerlua.sim").start{...}:
--
--   local sim <close> = require("peerlua.sim").start { time_scale = 600 }
--   local ic = peerlua.instaclustr {}      -- talks to it, with its accounts
--   ... sim:requests("instaclustr"), sim:reset(), sim:set_faults("500:0.1"),
--   sim:accept(p), sim.url, sim.fixture, sim:stop()
--
-- Each start is a server of its own (own port, thread, state, log), so
-- several can run at once. Clients made while one runs use the newest
-- unless given a base_url; when it stops, the one started before it (or
-- whatever peerlua.sim was before the first, e.g. --sim's) takes over.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local M = {}

M.peerlua = nil -- the module: set_sim, sim, http, json, error

local Emulator = {}
Emulator.__index = Emulator
Emulator.__name = "peerlua.emulator"

-- started and not stopped, oldest first; weak, so that one nobody holds
-- is collected (and stopped by its __gc), except the active one: clients
-- made later use it, so it lives until its stop() even if dropped
local running = setmetatable({}, { __mode = "v" })
local active -- the newest running one: a strong reference
local before -- peerlua.sim when the first of them started

local function live()
  local out = {}
  for i = 1, #running do
    if running[i] and running[i].handle then out[#out + 1] = running[i] end
  end
  for i = #running, 1, -1 do running[i] = nil end
  for i, e in ipairs(out) do running[i] = e end
  return running
end

local function invalid(field, rule)
  return nil, M.peerlua.error({ code = "invalid", op = "sim.start", retryable = false,
    message = "sim.start: " .. field .. ": " .. rule, details = { { field = field, rule = rule } } })
end

-- option -> rule it breaks (nil: fine)
local RULES = {
  listen = function(v) return type(v) ~= "string" and "must be HOST:PORT, such as 127.0.0.1:0" end,
  time_scale = function(v)
    -- at most an emulated hour a second, as --time-scale (core/emulator/cli.c)
    local ok = type(v) == "number" and v > 0 and v <= 3600 -- NaN fails both
    return not ok and "must be a number above 0 and at most 3600" or nil
  end,
  seed = function(v) return (math.type(v) ~= "integer" or v < 0) and "must be a whole number, 0 or more" or nil end,
  faults = function(v) return type(v) ~= "string" and "must be a fault spec such as \"429:0.05,500:0.05\"" or nil end,
  fixture = function(v)
    return type(v) ~= "string" and type(v) ~= "table" and "must be a JSON file's path or a table" or nil
  end,
}

-- start{listen =, time_scale = 60, faults =, seed = 0, fixture = path | table}
-- -> emulator | nil, err (invalid: a bad option, fault spec or fixture)
function M.start(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("sim.start: takes a table of options, start{time_scale = 60, ...}", 2)
  end
  opts = opts or {}
  local names = {}
  for k in pairs(RULES) do names[#names + 1] = k end
  table.sort(names)
  for k, v in pairs(opts) do
    if not RULES[k] then
      return invalid(tostring(k), "is not an option" .. core.did_you_mean(k, names) .. " (" .. table.concat(names, ", ") .. ")")
    end
    local rule = RULES[k](v)
    if rule then return invalid(k, rule) end
  end
  local fixture, tmp = opts.fixture, nil
  if type(fixture) == "table" then -- the server reads a file: write one it can read
    local text, jerr = M.peerlua.json.encode(fixture)
    if not text then return invalid("fixture", "cannot be written as JSON: " .. tostring(jerr)) end
    tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write(text)
    f:close()
    fixture = tmp
  end
  local handle, url, usage = core.sim_start({ listen = opts.listen or "127.0.0.1:0",
    time_scale = opts.time_scale or 60, faults = opts.faults, seed = opts.seed or 0, fixture = fixture })
  if tmp then os.remove(tmp) end
  if not handle then
    -- the C side names its own words ("emulator: bad fault spec ..."): here, the option's
    local faults = url:match("^emulator: (bad fault spec.*)$")
    return nil, M.peerlua.error({ code = usage and "invalid" or "network", op = "sim.start", retryable = false,
      message = "sim.start: " .. (faults and "faults: " .. faults or url),
      details = faults and { { field = "faults", rule = faults } } or nil })
  end
  local self = setmetatable({ url = url, handle = handle }, Emulator)
  local resp, err = M.peerlua.http.request({ url = url .. "/_sim/fixture", timeout = 10 })
  self.fixture = resp and resp.status == 200 and resp:json()
  if type(self.fixture) ~= "table" then
    core.sim_stop(handle)
    return nil, err or M.peerlua.error({ code = "network", op = "sim.start", message = "sim.start: no fixture" })
  end
  if #live() == 0 then before = M.peerlua.sim end
  running[#running + 1] = self
  active = self
  M.peerlua.set_sim({ url = url, fixture = self.fixture })
  self.sim = M.peerlua.sim
  return self
end

local function admin(self, method, path, body)
  if not self.handle then error("emulator: stopped (" .. self.url .. ")", 3) end
  local resp, err = M.peerlua.http.request({ method = method, url = self.url .. "/_sim/" .. path, json = body,
    timeout = 10 })
  if not resp then return nil, err end
  local v = resp:json()
  if resp.status ~= 200 then
    return nil, M.peerlua.error({ code = "invalid", op = "sim." .. path:match("^%a+"), http_status = resp.status,
      message = type(v) == "table" and tostring(v.error) or ("HTTP " .. resp.status) })
  end
  return v
end

-- requests([provider]) -> the request log, oldest first: {method, path, status, provider, credential, fault, ...}
function Emulator:requests(provider)
  return admin(self, "GET", "requests" .. (provider and "?provider=" .. provider or ""))
end

-- reset() -> true: forget every peering, rule, token and log entry
function Emulator:reset()
  local ok, err = admin(self, "POST", "reset")
  if not ok then return nil, err end
  return true
end

-- set_faults(spec) -> true | nil, err ("none" turns them off)
function Emulator:set_faults(spec)
  if type(spec) ~= "string" then
    error("bad argument #1 to 'set_faults' (a fault spec string expected, got " .. type(spec) .. ")", 2)
  end
  local ok, err = admin(self, "POST", "faults", { spec = spec })
  if not ok then
    err.message = "set_faults: " .. err.message
    return nil, err
  end
  return true
end

-- accept(p[, accept]) -> true | nil, err: the peer side accepts (or rejects)
function Emulator:accept(p, accept)
  if getmetatable(self) ~= Emulator then
    error("accept: call it as a method, sim:accept(p) (with a colon, not a dot)", 2)
  end
  if not self.handle then error("emulator: stopped (" .. self.url .. ")", 2) end
  return self.sim.accept(p, accept)
end

-- stop(): the server goes; clients made afterwards use the emulator started
-- before it, or what peerlua.sim was before. Stopping twice does nothing.
function Emulator:stop()
  if not self.handle then return end
  core.sim_stop(self.handle)
  self.handle = nil
  live() -- drops this one (stopped) and any collected
  if active == self then active = running[#running] end
  local sim = M.peerlua.sim
  if sim and sim.url == self.url then
    local last = running[#running]
    M.peerlua.set_sim(last and { url = last.url, fixture = last.fixture } or before)
  end
  if #running == 0 then before = nil end
end

Emulator.__close = Emulator.stop
Emulator.__gc = Emulator.stop

function Emulator:__tostring()
  return "peerlua emulator (" .. self.url .. (self.handle and "" or ", stopped") .. ")"
end

return M
