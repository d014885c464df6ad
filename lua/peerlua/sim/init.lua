-- peerlua.sim: the provider emulator's request handling, run by the HTTP
-- server in core/emulator/server.c inside its own lua_State (core/emulator/handler.c).
--
--   local app = require("peerlua.sim").new(opts)
--   local resp = app:handle(req)
--
-- opts: time_scale, faults (a fault spec, see peerlua.sim.faults; a bad one
-- raises),
-- seed, fixture (path of a JSON file), url (the server's address),
-- now (wall-clock seconds), clock (monotonic seconds), log_capacity.
-- req: {method, path, query = {k = v | {v...}}, headers = {lower-case
-- name = value}, body}. The response is a table, see peerlua.sim.response.
--
-- Provider modules are listed in PROVIDERS below, one line each: a module
-- returns {new = function(app) -> router} and its routes are relative to
-- its prefix. It may call app:on_reset(fn) to clear its state on
-- POST /_sim/reset, and set req.credential when it authenticates a request.
--
-- Services a provider module uses (see each method below):
--   app.fixture[provider]       its accounts, clusters, networks, durations
--   app:clock()                 emulated seconds (time scale, /_sim/clock)
--   app:uuid()                  a fresh resource id, deterministic under --seed
--   app:request_id()            a fresh id of what an answer says about itself
--       (request ids, tokens), from a generator of its own: under --seed, the
--       ids of resources do not move with how many requests came between
--   app:duration(provider, name, default)  a lifecycle step's length
--   app:register(provider, hooks)  hooks.accept(id, accept) and
--       hooks.set_state(id, state) for /_sim/peer-accept and /_sim/state;
--       hooks.error(req, status, code, message) builds the provider's own
--       error response (used for rate limits and injected faults);
--       hooks.credential(req) names the rate limit's key when the headers
--       alone do not say it (AWS: the access key's account);
--       hooks.pcx() -> list of the AWS VPC peering connections the provider
--       asked for: {id (the provider's peering), pcx, status (AWS's word),
--       created, expires (emulated seconds), requester = {account, vpc,
--       cidr, region}, accepter = {account, vpc, region}}
--       (peerlua.sim.lifecycle makes accept, set_state and peerings from a
--       peering lifecycle declared as rules: Instaclustr, Aerospike, Huawei)
--   app:aws_peerings()          every provider's hooks.pcx() together, each
--       with provider and accept(bool) (its hooks.accept): what the emulated
--       AWS (peerlua.sim.aws) lists, accepts and rejects
--
-- Around every provider route, App:handle applies the per-credential rate
-- limit (fixture[provider].rate_limit, peerlua.sim.ratelimit) and the
-- injected faults (peerlua.sim.faults); the request log records both
-- (entry.fault).
local json = require("peerlua.json")
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")
local credential = require("peerlua.sim.credential")
local faults = require("peerlua.sim.faults")
local ratelimit = require("peerlua.sim.ratelimit")

local M = {}

-- { prefix, module, provider name }
M.PROVIDERS = {
  { "/instaclustr", "peerlua.sim.instaclustr", "instaclustr" },
  { "/upcloud/1.3", "peerlua.sim.upcloud", "upcloud" },
  { "/aerospike", "peerlua.sim.aerospike", "aerospike" },
  { "/huawei", "peerlua.sim.huawei", "huawei" },
  { "/aiven", "peerlua.sim.aiven", "aiven" },
  { "/aws", "peerlua.sim.aws", "aws" },
}

-- Each API also answers at its real paths on the root, so that a tool given
-- only the emulator's host and port works unmodified (Huawei's SDK keeps
-- only the scheme and host of an endpoint). The Host header picks the API
-- when it names a real one (vpc.eu-de.myhuaweicloud.com sent to
-- 127.0.0.1:PORT); otherwise the path does. Hosts are the documented base
-- URLs (the client defaults: api.instaclustr.com, api.upcloud.com/1.3,
-- api.aerospike.com/v1 with auth.control.aerospike.cloud/oauth/token,
-- api.aiven.io, {iam,cs,vpc}.REGION.myhuaweicloud.com; AWS's
-- ec2.REGION.amazonaws.com, sts[.REGION].amazonaws.com and
-- route53.amazonaws.com, botocore's endpoint rules). The emulator's own
-- prefix is put before the path; handlers see req.path as under that
-- prefix and req.sent_path as it came (Huawei checks signatures over it).
M.ROOT_HOSTS = {
  { "^api%.instaclustr%.com$", "/instaclustr" },
  { "^api%.upcloud%.com$", "/upcloud" },
  { "^api%.aerospike%.com$", "/aerospike" },
  { "^auth%.control%.aerospike%.cloud$", "/aerospike" },
  { "^api%.aiven%.io$", "/aiven" },
  { "^iam%.[%w-]+%.myhuaweicloud%.com$", "/huawei/iam" },
  { "^cs%.[%w-]+%.myhuaweicloud%.com$", "/huawei/cs" },
  { "^vpc%.[%w-]+%.myhuaweicloud%.com$", "/huawei/vpc" },
  { "^ec2%.[%w-]+%.amazonaws%.com$", "/aws/ec2" },
  { "^ec2%.amazonaws%.com$", "/aws/ec2" },
  { "^sts%.amazonaws%.com$", "/aws/sts" },
  { "^sts%.[%w-]+%.amazonaws%.com$", "/aws/sts" },
  { "^route53%.amazonaws%.com$", "/aws/route53" },
}
M.ROOT_PATHS = { -- no API host named: the first path prefix that matches
  { "^/provisioning/", "/instaclustr" },
  { "^/cluster%-management/", "/instaclustr" },
  { "^/1%.3/", "/upcloud" },
  { "^/v1/database", "/aerospike" },
  { "^/oauth/token$", "/aerospike" },
  { "^/v1/project/", "/aiven" },
  { "^/v3/auth/", "/huawei/iam" },
  { "^/v1%.0/", "/huawei/cs" },
  { "^/v2%.0/vpc/", "/huawei/vpc" },
  { "^/2013%-04%-01/", "/aws/route53" },
}

-- the mounts under path's first segment, longest prefix first (the
-- router's own index: app:mount and the /_sim, /_test routes), or nil
local function mounts_under(app, path)
  return app.router.mounts[path:match("^/([^/]*)")]
end

-- the emulator prefix for a request at a real API path, or nil
local function root_prefix(app, req)
  if mounts_under(app, req.path) then return nil end -- under an emulator prefix already
  local host = ((req.headers and req.headers.host) or ""):lower():gsub(":%d+$", "")
  for _, h in ipairs(M.ROOT_HOSTS) do
    if host:match(h[1]) then return h[2] end
  end
  for _, r in ipairs(M.ROOT_PATHS) do
    if req.path:match(r[1]) then return r[2] end
  end
end

-- start{...} -> emulator | nil, err: this emulator served in the calling
-- process, for any Lua program (see peerlua.emulator).
function M.start(opts)
  return require("peerlua").start_emulator(opts)
end

local App = {}
App.__index = App

-- fixture_problem(v) -> what is wrong with the shape of fixture v, or nil:
-- an object of providers (the names above), each an object whose accounts
-- are a list of objects, durations an object of numbers, rate_limit and
-- rate_window numbers.
function M.fixture_problem(v)
  if type(v) ~= "table" or v[1] ~= nil then return "must be an object of providers" end
  local known = {}
  for _, p in ipairs(M.PROVIDERS) do known[p[3]] = true end
  for name, fx in pairs(v) do
    if not known[name] then
      local names = {}
      for _, p in ipairs(M.PROVIDERS) do names[#names + 1] = p[3] end
      return tostring(name) .. ": is not a provider (known: " .. table.concat(names, ", ") .. ")"
    end
    if type(fx) ~= "table" or (next(fx) ~= nil and fx[1] ~= nil) then return name .. ": must be an object" end
    if fx.accounts ~= nil then
      if type(fx.accounts) ~= "table" then return name .. ".accounts: must be a list of objects" end
      for i, a in pairs(fx.accounts) do
        if math.type(i) ~= "integer" or type(a) ~= "table" then
          return name .. ".accounts: must be a list of objects"
        end
      end
    end
    if fx.durations ~= nil then
      if type(fx.durations) ~= "table" then return name .. ".durations: must be an object of seconds" end
      for k, d in pairs(fx.durations) do
        if type(d) ~= "number" or d < 0 then return name .. ".durations." .. tostring(k) .. ": must be seconds >= 0" end
      end
    end
    if fx.rate_limit ~= nil and (type(fx.rate_limit) ~= "number" or fx.rate_limit <= 0) then
      return name .. ".rate_limit: must be a number > 0"
    end
    if fx.rate_window ~= nil and (type(fx.rate_window) ~= "number" or fx.rate_window <= 0) then
      return name .. ".rate_window: must be a number of seconds > 0"
    end
  end
  return nil
end

-- refuse(option, message): raise a refusal of the option the emulator was
-- started with (faults, fixture, state): the server names that option to
-- whoever started it (core/emulator/handler.c), as its own or --sim-*.
local refusal = { __tostring = function(e) return e.message end }
local function refuse(option, message)
  error(setmetatable({ option = option, message = message }, refusal), 0)
end

local function load_fixture(path)
  local f, err = io.open(path, "rb")
  if not f then refuse("fixture", "cannot read fixture: " .. err) end
  local text, rerr = f:read("a")
  f:close()
  if not text then refuse("fixture", "cannot read fixture: " .. path .. ": " .. tostring(rerr)) end
  local v, derr = json.decode(text)
  if v == nil then refuse("fixture", "fixture " .. path .. " is not valid JSON: " .. tostring(derr)) end
  local why = M.fixture_problem(v)
  if why then refuse("fixture", "fixture " .. path .. ": " .. why) end
  return v
end

local function wall_clock()
  return os.time()
end

-- new(opts) -> app
function M.new(opts)
  opts = opts or {}
  local scale = opts.time_scale or 1
  if type(scale) ~= "number" or scale ~= scale or scale <= 0 then error("time_scale must be > 0", 2) end
  local app = setmetatable({
    time_scale = scale,
    faults = opts.faults,
    seed = opts.seed or 0,
    url = opts.url,
    wall = opts.now or wall_clock,
    mono = opts.clock or os.clock,
    log = require("peerlua.sim.log").new(opts.log_capacity),
    reset_hooks = {},
    mounted = {},
  }, App)
  local groups, ferr = faults.parse(opts.faults)
  if not groups then refuse("faults", ferr) end
  app.fault_groups = groups
  app.limiter = ratelimit.new(app.wall)
  app.started = app.mono()
  app.started_wall = app.wall()
  app.clock_offset = 0
  app.providers = {}
  app:reseed()
  math.randomseed(app.seed)
  if opts.fixture then
    app.fixture = load_fixture(opts.fixture)
  else
    app.fixture = require("peerlua.sim.fixture")
  end

  app.router = router.new {
    not_found = function(req)
      return response.json(404, { error = "not found", path = req.path })
    end,
  }
  app.router:mount("/_sim", require("peerlua.sim.admin").new(app))
  app.router:mount("/_test", require("peerlua.sim.test").new(app))
  app.states = {}
  for _, p in ipairs(M.PROVIDERS) do
    app:mount(p[1], require(p[2]).new(app), p[3])
  end
  if opts.state then
    local snapshot, serr = require("peerlua.sim.state").load(opts.state, app.fixture)
    if serr then refuse("state", "--state " .. opts.state .. ": " .. serr) end
    if snapshot then app:restore(snapshot) end
  end
  return app
end

-- app:register_state(provider, t): t (the provider's store) is saved by
-- app:save_state and filled back in place by a restore.
function App:register_state(provider, t)
  self.states[provider] = t
end

-- app:save_state(path) -> true | nil, message: every provider's store, the
-- emulated clock and the id generator, so a restart goes on from there.
function App:save_state(path)
  return require("peerlua.sim.state").save(path, {
    version = require("peerlua.sim.state").VERSION, clock = self:clock(), rng = self.rng,
    providers = self.states,
  }, self.fixture)
end

function App:restore(snapshot)
  for provider, t in pairs(self.states) do
    local saved = snapshot.providers[provider]
    if type(saved) == "table" then
      for k in pairs(t) do t[k] = nil end
      for k, v in pairs(saved) do t[k] = v end
    end
  end
  if type(snapshot.clock) == "number" then self.clock_offset = snapshot.clock - self:clock() end
  local rng = snapshot.rng
  if math.type(rng) == "integer" then rng = { ids = rng } end -- a file from before the three generators
  if type(rng) == "table" then
    for name in pairs(self.rng) do
      if math.type(rng[name]) == "integer" then self.rng[name] = rng[name] end
    end
  end
end

-- app:mount(prefix, router, provider): serve a provider on prefix.
function App:mount(prefix, r, provider)
  self.router:mount(prefix, r, { provider = provider })
  self.mounted[#self.mounted + 1] = { prefix = prefix, provider = provider }
end

-- app:now() -> wall-clock epoch seconds (fractional).
function App:now()
  return self.wall()
end

-- app:clock() -> emulated seconds since start (real seconds * time_scale,
-- plus whatever POST /_sim/clock advanced).
function App:clock()
  return (self.mono() - self.started) * self.time_scale + self.clock_offset
end

-- app:advance(seconds): move emulated time forward.
function App:advance(seconds)
  self.clock_offset = self.clock_offset + seconds
end

-- app:duration(provider, name, default) -> emulated seconds a lifecycle
-- step takes, from fixture[provider].durations[name].
function App:duration(provider, name, default)
  local p = self.fixture[provider]
  local d = p and p.durations and p.durations[name]
  return tonumber(d) or default
end

-- The app's own generators (xorshift64*), each deterministic under --seed
-- and independent of the others and of math.random: what one kind of draw
-- takes does not move the rest. ids: resources (the seed's ids of before);
-- requests: request ids and tokens; faults: which request a fault hits.
local STREAMS = { ids = 0, requests = 0x5851F42D4C957F2D, faults = 0x14057B7EF767814F }

-- app:reseed(): every generator back to where the seed starts it.
function App:reseed()
  self.rng = {}
  for name, salt in pairs(STREAMS) do self.rng[name] = self.seed ~ salt end
end

-- app:random([stream]) -> [0, 1), from stream (default ids).
function App:random(stream)
  stream = stream or "ids"
  local x = assert(self.rng[stream], "no such generator") ~ 0x9E3779B97F4A7C15
  x = x ~ (x >> 12)
  x = x ~ (x << 25)
  x = x ~ (x >> 27)
  self.rng[stream] = x
  return ((x * 0x2545F4914F6CDD1D) >> 11) / 9007199254740992.0
end

-- app:uuid([stream]) -> a random version-4 UUID (deterministic under --seed).
function App:uuid(stream)
  local b = {}
  for i = 1, 16 do b[i] = math.floor(self:random(stream) * 256) end
  b[7] = (b[7] & 0x0f) | 0x40
  b[9] = (b[9] & 0x3f) | 0x80
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
    table.unpack(b))
end

-- app:request_id() -> a UUID from the requests generator (see the header).
function App:request_id()
  return self:uuid("requests")
end

-- app:register(provider, hooks): see the header comment.
function App:register(provider, hooks)
  self.providers[provider] = hooks
end

-- app:aws_peerings() -> list: see the header comment.
function App:aws_peerings()
  local out = {}
  for _, m in ipairs(self.mounted) do
    local hooks = self.providers[m.provider]
    if hooks and hooks.pcx then
      for _, x in ipairs(hooks.pcx()) do
        x.provider = m.provider
        x.accept = function(accept) return hooks.accept(x.id, accept) end
        out[#out + 1] = x
      end
    end
  end
  return out
end

-- app:on_reset(fn): fn() is called by app:reset().
function App:on_reset(fn)
  self.reset_hooks[#self.reset_hooks + 1] = fn
end

-- app:set_faults(spec) -> true | nil, message
function App:set_faults(spec)
  local groups, err = faults.parse(spec)
  if not groups then return nil, err end
  self.faults, self.fault_groups = spec, groups
  return true
end

function App:reset()
  self:reseed() -- the same ids and faults again, request for request
  self.log:reset()
  self.limiter:reset()
  for _, fn in ipairs(self.reset_hooks) do fn() end
end

local function failed()
  return {
    status = 500,
    headers = { ["Content-Type"] = "application/json" },
    body = '{"error":"emulator handler failed"}',
  }
end

local function dispatch(r, req)
  return response.normalize(r:dispatch(req))
end

-- the provider whose prefix starts path, or nil
local function provider_of(app, path)
  local list = mounts_under(app, path)
  if not list then return nil end
  for i = 1, #list do
    local m = list[i]
    local n = m.len
    if m.provider and path:sub(1, n) == m.prefix and (#path == n or path:sub(n + 1, n + 1) == "/") then
      return m.provider
    end
  end
end

-- an error in the provider's own shape
local function provider_error(app, provider, req, status, message)
  local hooks = app.providers[provider]
  local resp = hooks and hooks.error and hooks.error(req, status, nil, message)
    or response.json(status, { error = message })
  resp.headers = resp.headers or {}
  if status == 429 or status == 503 then resp.headers["Retry-After"] = resp.headers["Retry-After"] or "1" end
  return resp
end

local function is_admin(path)
  return path:sub(1, 5) == "/_sim" and (#path == 5 or path:sub(6, 6) == "/")
end

-- A provider request (at an emulator prefix, or at a real API path: see
-- ROOT_HOSTS): rate limit, faults before, the handler, faults after.
local function serve(app, req)
  local root = not is_admin(req.path) and req.path:sub(1, 6) ~= "/_test" and root_prefix(app, req)
  if root then req.sent_path, req.path = req.path, root .. req.path end
  local provider = provider_of(app, req.path)
  if not provider then return dispatch(app.router, req) end
  local p = app.fixture[provider]
  local hooks = app.providers[provider]
  local cred = (hooks and hooks.credential and hooks.credential(req)) or credential.of(req.headers) or "anonymous"
  local ok, wait = app.limiter:allow(provider .. " " .. cred, p and p.rate_limit, p and p.rate_window)
  if not ok then
    req.provider = provider
    local resp
    if hooks and hooks.rate_limited then -- the provider's own words, and headers
      resp = hooks.rate_limited(req, p.rate_limit, wait)
      resp.headers = resp.headers or {}
      if not resp.no_retry_after then resp.headers["Retry-After"] = tostring(math.max(1, math.ceil(wait))) end
      resp.no_retry_after = nil
    else
      resp = provider_error(app, provider, req, 429, "Too many requests: rate limit exceeded")
      resp.headers["Retry-After"] = tostring(math.max(1, math.ceil(wait)))
    end
    resp.fault = "rate-limit"
    return resp
  end
  local f = faults.pick(app.fault_groups, req.method, req.path, function() return app:random("faults") end)
  if f and not f.after then
    req.provider = provider
    local resp = f.reset and { status = 500, headers = {}, body = "", action = "reset" }
      or provider_error(app, provider, req, f.status, "injected fault")
    resp.fault = f.text
    return resp
  end
  local resp = dispatch(app.router, req)
  if f then
    if f.status then
      resp = provider_error(app, provider, req, f.status, "injected fault")
    elseif f.reset then
      resp.action = "reset"
    elseif f.truncate then
      resp.action = "truncate"
    elseif f.slow then
      resp.delay = (resp.delay or 0) + f.slow
    end
    resp.fault = f.text
  end
  return resp
end

-- app:handle(req) -> response table; never raises for a handler's error
-- (it is written to stderr and answered with a 500).
function App:handle(req)
  local ok, resp = xpcall(serve, debug.traceback, self, req)
  if not ok then
    io.stderr:write("peerlua emulator: ", req.method, " ", req.path, ": ", tostring(resp), "\n")
    resp = failed()
  end
  if not is_admin(req.path) then
    self.log:add {
      time = self.wall(),
      method = req.method,
      path = req.path,
      status = math.tointeger(resp.status) or 500,
      credential = req.credential or credential.of(req.headers),
      provider = req.provider,
      route = req.route,
      action = resp.action,
      op = req.op, -- the API's name of the operation, where the path does not say it (AWS's Action=)
      fault = resp.fault,
    }
  end
  return resp
end

-- handler(opts) -> function(req) -> response: what core/emulator/handler.c calls.
function M.handler(opts)
  local app = M.new(opts)
  return function(req) return app:handle(req) end, app
end

return M
