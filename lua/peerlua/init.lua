-- peerlua: the Lua layer on top of the C core (core/lua_*.c).
-- core/binding/lua_peerlua.c calls this chunk with its table of primitives.
local core = ...

if type(core) ~= "table" then
  -- Loaded by require from LUA_PATH (the installed sources in
  -- share/peerlua/lua, say) rather than by the C module: hand over to the
  -- module, which runs its own copy of this layer.
  local so = package.searchpath("peerlua", package.cpath)
  local open = so and package.loadlib(so, "luaopen_peerlua")
  if open then return open(...) end
  error("peerlua: this is the Lua layer of the C module peerlua.so, found through LUA_PATH, and the module "
    .. "itself is not on LUA_CPATH (" .. package.cpath .. "): add the directory of peerlua.so to LUA_CPATH "
    .. "(installed under lib/lua/5.4), or take the Lua sources' directory out of LUA_PATH", 0)
end

local M = {
  version = core.version,
  spawn = core.spawn,
  sleep = core.sleep,
  now = core.now,
  stats = core.stats,
  error = core.error,
  is_error = core.is_error,
  options = {},
  -- auth.huawei_sign{method=, url=, headers=, body=, ak=, sk=[, date=]} ->
  -- the headers to add (X-Sdk-Date, Authorization) | nil, err
  -- auth.aws_sign{method=, url=, headers=, body=, access_key=, secret_key=,
  -- session_token=, region=, service=[, date=]} -> the headers to add
  -- (X-Amz-Date, Authorization[, X-Amz-Security-Token][, Host]) | nil, err
  -- auth.aws_presign{... as aws_sign ...[, expires=]} -> the URL signed in
  -- its query (X-Amz-*), good for expires seconds (3600) | nil, err
  auth = { huawei_sign = core.huawei_sign, aws_sign = core.aws_sign, aws_presign = core.aws_presign },
  -- xml.decode(text) -> value, root element name | nil, err: XML as AWS
  -- writes it, in tables (core/binding/lua_xml.c says the shape)
  -- xml.list(v) -> v as a list: an empty set (decoded "") is {}, one
  -- element seen once is {it}
  xml = {
    decode = core.xml_decode,
    list = function(v)
      if type(v) ~= "table" then return {} end
      if v[1] == nil and next(v) ~= nil then return { v } end
      return v
    end,
  },
}

-- Modules load on first use, so that start-up stays close to lua5.4's: a
-- script that never makes a request or a client does not pay for them.
local lazy = {}

function lazy.json()
  return require("peerlua.json")
end

function lazy.http()
  local http = require("peerlua.http")
  http.error = core.error
  return http
end

function lazy.progress()
  local progress = require("peerlua.progress")
  progress.isatty = core.isatty
  progress.rows = core.term_rows
  return progress
end

function lazy.bulk()
  return require("peerlua.bulk")
end

function lazy.throttle()
  local throttle = require("peerlua.throttle")
  return throttle
end

setmetatable(M, {
  __index = function(t, k)
    local load = lazy[k]
    if not load then
      -- a near miss of a field (peerlua.instaclusterr) is a mistake, said
      -- here rather than as "attempt to call a nil value"; anything else
      -- (peerlua.sim when no emulator runs) is nil
      if type(k) ~= "string" then return nil end
      local names = { "sim" }
      for name in pairs(t) do names[#names + 1] = name end
      for name in pairs(lazy) do names[#names + 1] = name end
      local near = core.nearest(k, names)
      if near then error(("peerlua has no field '%s' (did you mean peerlua.%s?)"):format(k, near), 2) end
      return nil
    end
    local v = load()
    rawset(t, k, v)
    return v
  end,
  -- the REPL's completion of "peerlua.": the loaded fields and those not yet,
  -- but not the internals the README does not document
  __complete = function(t)
    local hidden = { set_sim = true, connect_sim_env = true, start_emulator = true, plan = true, progress = true }
    local names = {}
    for k in pairs(t) do
      if not hidden[k] then names[#names + 1] = k end
    end
    for k in pairs(lazy) do
      if rawget(t, k) == nil and not hidden[k] then names[#names + 1] = k end
    end
    return names
  end,
})

-- The provider layer (client, providers, peering values), loaded with the
-- first client.
local client
local function provider_layer()
  if client then return client end
  local _ = M.http -- wired before any provider module requires it
  core.set_array_mt(getmetatable(M.json.array()))
  client = core.require("peerlua.client")
  client.error = core.error
  client.sim = M.sim
  local lock = core.require("peerlua.lock")
  lock.error = core.error
  local peering = core.require("peerlua.peering")
  peering.emit = function(p, elapsed, timed_out) M.progress.event(p, elapsed, M.options, timed_out) end
  peering.emit_end = function(p) M.progress.finish(p) end
  return client
end

-- PEERLUA_SIM_URL=http://127.0.0.1:8080: a standalone emulator
-- (`peerlua --emulator`) for every client made without base_url (and
-- the fixture's credentials for one made without credentials), with the
-- fixture it serves at GET /_sim/fixture. Read when the first client is
-- made; an emulator that does not answer makes that constructor return
-- nil, err (never a silent fall-back to the real APIs).
-- connect_sim_env() -> true (connected) | nil (not set) | nil, err
local sim_env_tried = false
function M.connect_sim_env()
  local url = os.getenv("PEERLUA_SIM_URL")
  if not url or url == "" then
    sim_env_tried = true
    return nil
  end
  url = url:gsub("/+$", "")
  if not url:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]") then -- not a server's address: say so, do not try it
    return nil, core.error({ code = "invalid", op = "new", retryable = false,
      message = "PEERLUA_SIM_URL=" .. url .. ": not an emulator's address (give it as http://HOST:PORT, "
        .. "as `peerlua --emulator` prints it)" })
  end
  local scheme, _, host, path = core.require("peerlua.client").url_parts(url)
  if path ~= "" then -- a provider's prefix (/upcloud), say: the emulator is the whole server
    return nil, core.error({ code = "invalid", op = "new", retryable = false,
      message = "PEERLUA_SIM_URL=" .. url .. ": give the emulator's address without a path (" .. path
        .. "): http://HOST:PORT, as `peerlua --emulator` prints it; each client finds its own prefix" })
  end
  -- the transfer's own rule (the emulator's fixture credentials, or a
  -- script's real ones, are not sent in clear past this machine), said
  -- here for what it is rather than as an emulator that does not answer
  if scheme == "http" and core.plain_http_rule(host) then
    return nil, core.error({ code = "invalid", op = "new", retryable = false,
      message = "PEERLUA_SIM_URL=" .. url .. ": " .. host .. " is not this machine, and plain http:// goes to "
        .. "loopback hosts only: run the emulator here, or reach it through a tunnel to 127.0.0.1 "
        .. "(ssh -L PORT:127.0.0.1:PORT HOST)" })
  end
  local resp, err = M.http.request({ url = url .. "/_sim/fixture", timeout = 10 })
  local fixture = resp and resp.status == 200 and resp:json()
  if type(fixture) ~= "table" then
    return nil, core.error({ code = "network", op = "new", retryable = true,
      message = "PEERLUA_SIM_URL=" .. url .. ": no emulator answers there (" ..
        (resp and "GET /_sim/fixture: HTTP " .. resp.status or tostring(err and err.message or err)) ..
        "); start one with `peerlua --emulator --listen HOST:PORT`" })
  end
  sim_env_tried = true -- not before: a failure must not fall back to the real APIs on the next try
  M.set_sim({ url = url, fixture = fixture })
  return true
end

-- Provider clients: peerlua.instaclustr{...}, peerlua.huawei{...},
-- peerlua.aerospike{...}, peerlua.upcloud{...}, peerlua.aiven{...}, and the
-- customer's side, peerlua.aws{...} -> client | nil, err
for _, name in ipairs({ "instaclustr", "huawei", "aerospike", "upcloud", "aiven", "aws" }) do
  local spec, class
  M[name] = function(opts)
    local c = provider_layer()
    if M.sim == nil and not sim_env_tried then
      local ok, err = M.connect_sim_env()
      if ok == nil and err then return nil, err end
    end
    if not spec then
      spec = core.require("peerlua.providers." .. name)
      class = c.class(spec)
    end
    return c.new(spec, class, opts)
  end
end

-- set_sim{url=, fixture=table | fixture_file=path[, poll_scale=]}: clients
-- created without base_url use this emulator, with its fixture's
-- credentials unless given (`peerlua --sim` calls it): the one hook
-- through which the product learns of an emulator. The fixture defaults
-- to the emulator's own (peerlua.sim.fixture); poll_scale (default 0.1:
-- the emulator runs its lifecycles faster) is those clients' default
-- poll_scale option. set_sim(nil) turns it off.
function M.set_sim(sim)
  if sim then
    local fixture = sim.fixture
    if sim.fixture_file then
      local f, err = io.open(sim.fixture_file)
      if not f then error("sim fixture: " .. err, 0) end
      local text = f:read("a")
      f:close()
      local decoded, jerr = M.json.decode(text)
      if type(decoded) ~= "table" then
        error(("sim fixture: %s: %s"):format(sim.fixture_file, jerr or "not a JSON object"), 0)
      end
      fixture = decoded
    end
    local url = sim.url
    local scale = sim.poll_scale
    if scale ~= nil and (type(scale) ~= "number" or scale ~= scale or scale <= 0 or scale > 100) then
      error("set_sim: poll_scale must be a number above 0 and at most 100", 2)
    end
    sim = { url = url, fixture = fixture or require("peerlua.sim.fixture"), poll_scale = sim.poll_scale or 0.1 }
    -- sim.accept(peering[, accept]) -> true | nil, err: what the peer side
    -- does (the AWS account accepting a pcx-, the peer VPC's owner), done
    -- through the emulator's /_sim/peer-accept.
    function sim.accept(p, accept, ...)
      if p == sim then p, accept = accept, ... end -- peerlua.sim:accept(p), as an emulator handle is called
      if not core.require("peerlua.client").is_peering(p) then
        error(("bad argument #1 to 'accept' (a peering value expected, got %s): call it as "
          .. "peerlua.sim.accept(p), p from a client of this emulator"):format(type(p)), 2)
      end
      local plan = core.require("peerlua.plan")
      if plan.on then -- a dry run: the peer's side is not touched either
        plan.peer(p.provider, accept == false and "peer_reject" or "peer_accept", p.id)
        return true
      end
      local resp, err = M.http.request({ method = "POST", url = url .. "/_sim/peer-accept",
        json = { provider = p.provider, id = p.id, accept = accept ~= false } })
      if not resp then return nil, err end
      if resp.status ~= 200 then
        local body = resp:json()
        return nil, M.error({ code = "invalid", message = "peer-accept: " .. tostring(body and body.error or resp.status) })
      end
      return true
    end
  end
  M.sim = sim
  if client then client.sim = sim end
end

-- start_emulator{...} -> emulator | nil, err: the emulator in this process
-- (peerlua.emulator; also require("peerlua.sim").start{...}).
function M.start_emulator(opts)
  local emulator = require("peerlua.emulator")
  emulator.peerlua = M
  return emulator.start(opts)
end

-- The dry run's plan, wired to the options and the JSON stream.
function lazy.plan()
  local plan = core.require("peerlua.plan")
  plan.options = M.options
  plan.json_out = M.progress.json_out
  return plan
end

-- dry_run(fn, ...) -> summary | nil, err: runs fn (as peerlua.run does)
-- with every change planned, not sent (peerlua.plan); the summary is
-- {create =, change =, delete =, existing =, items = {...}}, also shown.
function M.dry_run(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'dry_run' (function expected, got " .. type(fn) .. "): call it as "
      .. "peerlua.dry_run(function() ... end)", core.caller_level())
  end
  local plan = M.plan
  if plan.on then error("dry_run: a dry run is already under way", core.caller_level()) end
  plan.start()
  local ok, err = pcall(M.run, fn, ...)
  plan.stop()
  if not ok then return nil, err end -- no summary of a plan that did not run to its end
  return plan.report()
end

-- run(fn, ...) -> fn's results; runs fn as a task and waits for it, raising
-- its error (with the task's traceback) if it fails.
function M.run(fn, ...)
  local t = core.spawn(fn, ...)
  local r = table.pack(t:wait())
  if t:status() ~= "done" then error(r[2], 0) end
  return table.unpack(r, 1, r.n)
end

-- wait_all(tasks[, timeout]) -> list of table.pack(task:wait()) per task.
-- The timeout (seconds) is for the whole group.
function M.wait_all(tasks, timeout)
  if type(tasks) ~= "table" then
    error("bad argument #1 to 'wait_all' (a list of tasks expected, got " .. type(tasks) .. ")", core.caller_level())
  end
  if timeout ~= nil and (type(timeout) ~= "number" or timeout ~= timeout or timeout < 0) then -- NaN too
    error("bad argument #2 to 'wait_all' (seconds, a number 0 or more, expected, got " .. tostring(timeout) .. ")",
      core.caller_level())
  end
  for i, t in ipairs(tasks) do
    if getmetatable(t) ~= "peerlua.task" then
      error(string.format("bad argument #1 to 'wait_all' (item %d is a %s, not a task: make one with "
        .. "peerlua.spawn(fn))", i, type(t)), core.caller_level())
    end
  end
  local out = {}
  local deadline = timeout and core.now() + timeout
  for i, t in ipairs(tasks) do
    local left = deadline and math.max(0, deadline - core.now())
    out[i] = table.pack(t:wait(left))
  end
  return out
end

return M
