-- peerlua.client: what every provider client shares. A client holds one
-- account's credentials and its auth, throttle and retry state; each
-- operation is one method call: validate (C tables), throttle (C GCRA),
-- authenticate, send, retry (C policy), decode, map the state.
--
-- A provider module (peerlua.providers.*) describes the differences:
--   name, api (default API generation),
--   options = {name = "string"|"number"|"boolean"|"table"} it accepts,
--   credentials(client, opts) -> creds | nil, err; the header every
--       request carries (Basic, a static token) new() has made from creds
--       in C by the table's pl_auth (core.hold_auth), which drops the
--       secret from creds; signing keys go in client.key (core.signing_key)
--       and a token request holding a secret in client.token_body
--       (core.seal); creds keep nothing secret
--   authorize(client, req) -> true | nil, err   (none: the header made
--       from the credentials is all a request needs; sets req.headers, or has
--       a fetched token's answer read into client.engine: core.take_token,
--       by the table's pl_token, which says when it is due again)
--   reauthorize(client, resp) -> true if a retry with fresh auth may help
--       (none: a fetched token, the table's pl_token, is dropped and one
--       more attempt fetches it again; without one nothing can be refreshed)
--       (asked on a 401, and on the answers the table's stale rules name)
--   reads = {op = true}  operations a dry run sends although they are not
--       GETs (AWS's Query API: Describe*, AssumeRole ... change nothing)
--   complete(client, p) -> p with what a list leaves out | nil (gone), for
--       a listed peering that ensure_peering or a reconcile found (how
--       they find it is the table's: pl_find, see find_created)
--   encode(client, req) -> true | nil, err  sets req.url, req.body_text and
--       req.content_type for an API that is not JSON (AWS's Query API)
--   decode(client, resp) -> body | nil, why  a success answer that is not JSON
--   confirm(client, op, resp, args) -> whether an error word of the table's
--       that covers more than the request (pl_done.confirm) means this
--       one is done (AWS's RouteAlreadyExists through the same peering)
--   throttle_classes = {name = {rate=, burst=}}  limits of their own for
--       classes of requests; encode sets req.throttle = client.throttles[name]
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
-- JSON and HTTP as they were loaded (core.json, core.http), not the public
-- modules' fields, which a script may replace for its own calls
require("peerlua.http")
local json, http = core.json, core.http
local plan = core.require("peerlua.plan")
local lock = core.require("peerlua.lock")
require("peerlua.throttle") -- sets core.throttle_state and core.throttle_redis

local M = {}

local Client = {}
Client.__index = Client
M.Client = Client

local Peering = {}
-- a peering's methods, in a table of their own: not its metafields, so
-- p.__index is nil (it would hand a script the table of every peering's
-- methods). A name that is neither a field nor a method is nil, unless it
-- is a near miss of a method's name (p:wiat()) or of a documented field's
-- (p.stat, which would be a silent nil), raised with that name. A field
-- is a near miss from three letters on: "id" is not near everything short.
local methods = {}
local METHODS = { "refresh", "wait", "delete", "wait_deleted" }
local FIELDS = { "state", "status", "raw", "provider", "client" }
setmetatable(methods, { __index = function(_, k)
  if type(k) ~= "string" then return nil end
  local hint = core.did_you_mean(k, METHODS)
  if hint ~= "" then error("a peering has no method '" .. k .. "'" .. hint, 2) end
  hint = #k >= 3 and core.did_you_mean(k, FIELDS) or ""
  if hint ~= "" then error("a peering has no field '" .. k .. "'" .. hint, 2) end
  return nil
end })
Peering.__index = methods
M.peering_methods = methods
-- what the REPL completes on a peering: its documented fields and methods
Peering.__complete = { "id", "state", "status", "raw", "provider", "client",
  "refresh", "wait", "delete", "wait_deleted" }
Peering.__name = "peerlua.peering"
-- locked, as a client's is: getmetatable(p) is this name, so a script
-- cannot change the methods of every peering (peerlua's own included), nor
-- give a peering another metatable; peerlua tells its values by their real
-- one (M.is_peering)
Peering.__metatable = Peering.__name
M.Peering = Peering

local metatable_of = core.metatable_of -- the real one (C: a host may leave the debug library out)

-- is_peering(v) -> whether v is a peering value (not a table that says so)
function M.is_peering(v) return metatable_of(v) == Peering end

-- Filled by peerlua (init.lua): core primitives and the error constructor.
M.error = nil

-- What a change answers in a dry run (peerlua.plan): a create is a peering
-- in state "planned", anything else true, "planned".
local PLANNED = setmetatable({}, { __name = "peerlua.planned" })

local common_options = {
  base_url = "string", rate = "number", burst = "number", timeout = "number",
  retries = "table", profile = "string", api = "string", insecure = "boolean", throttle = "table",
  tls_verify = "boolean", ca_file = "string", max_body = "number", poll_scale = "number",
}
-- Bounds of the numeric options: a value outside them would defeat the
-- policy (rate 1e-300: the next call never leaves; attempts 0/0 or 1e9).
local NUMBER_BOUNDS = {
  rate = { 0.001, 10000, "requests a second" }, burst = { 1, 10000, "requests", integer = true },
  timeout = { 0.001, 3600, "seconds" }, poll_scale = { 0.001, 100, "times the intervals" },
}
local RETRY_BOUNDS = {
  attempts = { 1, 100, "attempts", integer = true }, base = { 0, 600, "seconds" },
  cap = { 0, 3600, "seconds" }, deadline = { 0, 86400, "seconds" },
}

-- nil, or the rule v breaks: a finite number within b = {lo, hi, unit}.
local function bounds_rule(v, b)
  if v == nil then return nil end
  local ok = v == v and v >= b[1] and v <= b[2] and (not b.integer or math.type(v) == "integer" or v == math.floor(v))
  if ok then return nil end
  return string.format("must be a %s from %s to %s %s", b.integer and "whole number" or "number",
    tostring(b[1]), tostring(b[2]), b[3])
end

-- url_parts(url) -> scheme (lower-cased), authority, host ("[::1]" kept
-- bracketed, as the transfer's loopback test takes it), and the rest
-- after the authority (path, query); nil when url is not SCHEME://...
local function url_parts(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil end
  local authority = rest:match("^[^/?#]*")
  local host = authority:match("^%[[^%]]*%]") or authority:match("^[^:]*")
  return scheme:lower(), authority, host, rest:sub(#authority + 1)
end
M.url_parts = url_parts

-- nil, or what is wrong with a base_url: an http(s) URL with a host and no
-- user:password@ (which would show in traces and tostring(client)).
local function base_url_rule(url, insecure)
  local scheme, authority, host = url_parts(url)
  if scheme ~= "https" and scheme ~= "http" then
    return "must be an http or https URL like https://api.example.com"
  end
  if authority:find("@", 1, true) then
    return "must not hold a user name or password (give credentials as options)"
  end
  if authority == "" then return "must name a host" end
  -- the transfer's rule, said here rather than at the first call
  if scheme == "http" and not insecure then return core.plain_http_rule(host) end
  return nil
end

local function invalid(provider, field, rule)
  return nil, M.error({
    code = "invalid", provider = provider, op = "new", retryable = false,
    message = "invalid options: " .. field .. ": " .. rule,
    details = { { field = field, rule = rule } },
  })
end

M.invalid_option = invalid
M.url_rule = base_url_rule

-- Check the constructor options against the common and provider ones:
-- every problem at once, in the order of the fields' names.
local function check_options(spec, opts)
  local problems, seen = {}, {}
  local function bad(field, rule) -- the first problem of a field only
    if not seen[field] then problems[#problems + 1], seen[field] = { field = field, rule = rule }, true end
  end
  for k, v in pairs(opts) do
    local want = common_options[k] or spec.options[k]
    if not want then
      local names = {}
      for _, t in ipairs({ common_options, spec.options }) do
        for name in pairs(t) do names[#names + 1] = name end
      end
      bad(tostring(k), "is not an option of this client" .. core.did_you_mean(k, names))
    elseif k == "throttle" and type(v) == "string" then -- a Redis URL (not echoed: it may hold a password)
      bad(k, "must be a peerlua.throttle.redis{} value, not a URL: throttle = peerlua.throttle.redis{url = URL}"
        .. " (or set PEERLUA_REDIS_URL)")
    elseif type(v) ~= want then
      bad(k, "must be a " .. want)
    end
  end
  for k, b in pairs(NUMBER_BOUNDS) do
    local rule = type(opts[k]) == "number" and bounds_rule(opts[k], b)
    if rule then bad(k, rule) end
  end
  http.check_transport(opts, function(field, rule) bad(field, rule) return nil, rule end)
  for k, v in pairs(type(opts.retries) == "table" and opts.retries or {}) do
    local b = RETRY_BOUNDS[k]
    if not b then
      local names = {}
      for name in pairs(RETRY_BOUNDS) do names[#names + 1] = name end
      bad("retries." .. tostring(k), "is not a retry setting" .. core.did_you_mean(k, names))
    else
      local rule = type(v) ~= "number" and "must be a number" or bounds_rule(v, b)
      if rule then bad("retries." .. k, rule) end
    end
  end
  if type(opts.base_url) == "string" then
    local rule = base_url_rule(opts.base_url, opts.insecure)
    if rule then bad("base_url", rule) end
  end
  if #problems == 0 then return true end
  table.sort(problems, function(x, y) return x.field < y.field end)
  local said = {}
  for i, d in ipairs(problems) do said[i] = d.field .. ": " .. d.rule end
  return nil, M.error({ code = "invalid", provider = spec.name, op = "new", retryable = false,
                        message = "invalid options: " .. table.concat(said, "; "), details = problems })
end

-- The shared throttle of a new client: opts.throttle, else one on
-- $PEERLUA_REDIS_URL (made once per state), else none.
local env_throttle
local function shared_throttle(spec, opts)
  if opts.throttle ~= nil then
    local shared = core.throttle_state(opts.throttle)
    if not shared then return invalid(spec.name, "throttle", "must be a peerlua.throttle.redis{} value") end
    return shared
  end
  local url = os.getenv("PEERLUA_REDIS_URL")
  if not url or url == "" then return nil end
  if not env_throttle then
    local err
    env_throttle, err = core.throttle_redis({ url = url })
    if not env_throttle then -- the variable's fault, not a call of the script's (its URL may hold a password: not echoed)
      local d = type(err) == "table" and err.details and err.details[1]
      local rule = d and d.rule or tostring(type(err) == "table" and err.message or err)
      return invalid(spec.name, "PEERLUA_REDIS_URL", (d and d.field ~= "url" and d.field .. ": " or "") .. rule)
    end
  end
  return core.throttle_state(env_throttle)
end

-- new(spec, opts) -> client | nil, err
function M.new(spec, class, opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    -- level 2: peerlua's constructor calls this in a tail call, so 2 is its caller
    error("bad argument #1 to '" .. spec.name .. "' (table expected, got " .. type(opts) .. ")", 2)
  end
  local ok, err = check_options(spec, opts)
  if not ok then return nil, err end
  local api = opts.api or spec.api or ""
  local desc = core.providers[api ~= "" and spec.name .. "/" .. api or spec.name]
  if not desc then
    local known = {}
    for key in pairs(core.providers) do
      local gen = key:match("^" .. spec.name .. "/(.+)$")
      if gen then known[#known + 1] = gen end
    end
    table.sort(known)
    return invalid(spec.name, "api", "is not a known API generation"
      .. (#known > 0 and " (one of " .. table.concat(known, ", ") .. ")" or ""))
  end
  local sim = M.sim
  local self = setmetatable({
    spec = spec, name = spec.name, api = api, desc = desc, ops = desc.ops, own_base_url = opts.base_url ~= nil,
    timeout = opts.timeout or 30, read_private = core.read_private,
    transport = { insecure = opts.insecure, tls_verify = opts.tls_verify, ca_file = opts.ca_file,
                  max_body = opts.max_body },
    sim = sim and not opts.base_url and sim or nil,
  }, M.class_for(class, desc.ops))
  -- the real API's URL and the emulator's prefix for it are data (core/engine/pl_provider.c)
  self.base_url = opts.base_url or (self.sim and self.sim.url .. desc.sim_prefix) or desc.base_url
  -- what waits and workflow steps multiply their poll intervals by; an
  -- emulator (its hook, peerlua.set_sim) may give a default
  self.poll_scale = opts.poll_scale or (self.sim and self.sim.poll_scale) or 1
  self.base_url = self.base_url:gsub("/+$", "")
  local creds, cerr = spec.credentials(self, opts)
  if not creds and type(cerr) == "table" then return nil, cerr end
  if not creds then
    local fx = self.sim and self.sim.fixture
    if fx and not (type(fx[spec.name]) == "table" and type(fx[spec.name].accounts) == "table"
                   and fx[spec.name].accounts[1]) then
      -- under --sim the emulator's account is what is missing
      cerr = "the emulator's fixture has no " .. spec.name .. " account (add " .. spec.name
        .. ".accounts to it, or pass credentials); " .. cerr
    end
    return nil, M.error({ code = "auth", provider = spec.name, op = "new", retryable = false, message = cerr })
  end
  -- a regional API's URL ({region}): the region the credentials settled on
  self.base_url = self.base_url:gsub("{region}", function() return self.region end)
  self.creds = creds
  self.credential_id = self.credential_id or core.credential_id(spec.name, api, creds)
  self.throttle_key = spec.name .. ":" .. (self.credential_id or "anonymous")
  local shared, serr = shared_throttle(spec, opts)
  if serr then return nil, serr end
  self.shared = shared
  -- 10% under the documented limit: requests leave on schedule but arrive
  -- with network jitter, and the provider counts arrivals
  self.rate = opts.rate or desc.rate * 0.9
  self.burst = math.tointeger(opts.burst) or desc.burst
  -- classes with limits of their own (EC2's buckets), unless a rate is given
  local classes
  if spec.throttle_classes and not opts.rate and not opts.burst then
    self.throttles, classes = {}, {}
    for name, c in pairs(spec.throttle_classes) do
      classes[name] = { rate = c.rate * 0.9, burst = c.burst }
      self.throttles[name] = { class = name, throttle_key = self.throttle_key .. ":" .. name,
                               rate = classes[name].rate, burst = c.burst }
    end
  end
  -- the policy, fixed here and held in C (core/engine/pl_engine.c)
  local retries = opts.retries or {}
  self.engine = core.engine({
    provider = spec.name, api = api, key = self.throttle_key, rate = self.rate, burst = self.burst,
    attempts = retries.attempts, base = retries.base, cap = retries.cap, deadline = retries.deadline,
    classes = classes, redis = shared and shared.handle,
  })
  core.hold_auth(self.engine, spec.name, api, creds) -- made and kept in C, the secret dropped from creds
  self.deadline = self.engine:settings().deadline
  core.http_load() -- a failure shows on the first request
  -- what the script gets: a handle with the documented methods and no
  -- fields (core/binding/lua_client.c); this table stays with peerlua's modules
  self.public = core.client_wrap(self, M.methods_of(getmetatable(self)))
  return self.public
end

-- The secrets a client holds, dropped when it is closed (core/binding/lua_client.c
-- then drops the whole state): credentials, auth headers, tokens.
local SECRETS = { "creds", "assumed", "key", "token_body" }
function Client:wipe()
  if self.key then self.key:wipe() end -- signing keys (core.signing_key): zeroed in C
  if self.token_body then self.token_body:wipe() end -- a token request's body (core.seal)
  if self.assumed then self.assumed.key:wipe() end
  for _, k in ipairs(SECRETS) do self[k] = nil end
  if self.engine then self.engine:drop() end
end

-- settings() -> {rate=, burst=, timeout=, retries={attempts=, base=, cap=,
-- deadline=}}: what this client was made with (defaults filled in); a copy,
-- the policy itself is held in C and does not change.
function Client:settings()
  local e = self.engine:settings()
  local endpoints
  for _, service in ipairs(self.spec.services or {}) do
    endpoints = endpoints or {}
    endpoints[service] = self:service_url(service)
  end
  return { provider = self.name, api = self.api ~= "" and self.api or nil, base_url = self.base_url,
           region = self.region, endpoints = endpoints, rate = e.rate, burst = e.burst, timeout = self.timeout,
           retries = { attempts = e.attempts, base = e.base, cap = e.cap, deadline = e.deadline } }
end

function Client:__tostring()
  -- the endpoint requests go to (AWS: EC2's, which the environment may name)
  local url = self.spec.main_service and self:service_url(self.spec.main_service) or self.base_url
  return string.format("%s client (%s)", self.name, url)
end

-- ---- responses -----------------------------------------------------------

-- A dotted path's keys, split once: the paths are the providers' own
-- (result and field paths of their tables), a few dozen in all.
local path_keys = {}
local function keys_of(path)
  local keys = path_keys[path]
  if not keys then
    keys = {}
    for key in path:gmatch("[^.]+") do keys[#keys + 1] = key end
    path_keys[path] = keys
  end
  return keys
end

-- Follow a dotted result path ("a.b"; "*" flattens a list of objects).
local function dig(v, path)
  if not path then return v end
  local keys = keys_of(path)
  for i = 1, #keys do
    local key = keys[i]
    if type(v) ~= "table" then return nil end
    if key == "*" then
      local out = {}
      local rest = path:match("^%*%.(.+)$")
      for _, item in ipairs(v) do
        local list = dig(item, rest)
        for _, x in ipairs(list or {}) do out[#out + 1] = x end
      end
      return out
    end
    v = v[key]
  end
  return v
end

local function dig_string(obj, path)
  local v = dig(obj, path)
  return type(v) == "string" and v or nil
end

-- reason(raw) -> why the peering object raw says it stopped (the table's
-- reason_field), or nil
function Client:reason(raw)
  local why = dig_string(raw, self.desc.reason_field)
  return why ~= "" and why or nil
end

-- peering(obj) -> a peering value: id, state (canonical), status (the
-- provider's word), raw (the decoded object); seen is when we last knew it
-- existed (a list begun before then cannot say it is gone).
function Client:peering(obj)
  local status = dig_string(obj, self.desc.status_field)
  return setmetatable({
    id = self.spec.id_of and self.spec.id_of(obj) or dig_string(obj, self.desc.id_field),
    status = status,
    state = status and (self.desc.states[status] or "unknown") or "unknown",
    raw = obj,
    provider = self.name,
    client = self.public,
    seen = core.now(),
  }, Peering)
end

function Peering:__tostring()
  return string.format("%s peering %s (%s)", self.provider, tostring(self.id), self.state)
end

local status_codes = {
  [400] = "invalid", [422] = "invalid", [401] = "auth", [403] = "forbidden", [404] = "not_found",
  [409] = "conflict", [429] = "rate_limited", [500] = "unavailable", [502] = "unavailable", [503] = "unavailable",
  [504] = "unavailable", [408] = "timeout",
}

local function text(v) return type(v) == "string" and v or nil end

-- The error for an HTTP response that was not a success. What the body
-- says is read by the provider's error shapes, data in C
-- (core/engine/pl_provider.c, core.error_info), each field only where it
-- has the right type: a body of another shape than the provider's (a
-- proxy's, another API's) must not put a table where a message belongs.
local function response_error(self, op, resp, retryable)
  local info = core.error_info(self.name, self.api, resp) or {}
  return M.error({
    code = text(info.code) or status_codes[resp.status] or "provider",
    provider = self.name, op = op, http_status = resp.status,
    message = text(info.message) or ("HTTP " .. resp.status),
    provider_code = text(info.code_word),
    request_id = text(info.request_id) or text(resp.headers["x-request-id"]),
    retryable = retryable or false,
    details = type(info.details) == "table" and info.details or nil,
  })
end

-- ---- sending -------------------------------------------------------------

-- service_url(service) -> base URL of a sub-API ("" = the client's base)
function Client:service_url(service)
  if service == "" or not self.spec.service_url then return self.base_url end
  return self.spec.service_url(self, service)
end

local http_send = core.http_send -- taken at load, as http_request below (core/binding: not a script's)

-- request(opts) -> resp | nil, err: peerlua.http.request with the client's
-- timeout and transport options (insecure, tls_verify, ca_file, max_body),
-- for every request a client makes, token requests included. The function
-- is taken when this module loads: a script replacing peerlua.http.request
-- changes its own requests, not a client's. (Tests put a fake transport in
-- core.transport, which only the debug library reaches.)
local http_request = http.request
function Client:request(opts)
  opts.timeout = opts.timeout or self.timeout
  for k, v in pairs(self.transport) do opts[k] = v end
  return (core.transport or http_request)(opts)
end

-- post_sealed(url, sealed) -> resp | nil, err: a POST of a JSON body that
-- holds a credential (a token request's), held in C (core.seal) and sent
-- from there, with the client's timeout and transport options.
function Client:post_sealed(url, sealed)
  local opts = { method = "POST", url = url, sealed_body = sealed, timeout = self.timeout,
                 headers = { Accept = "application/json", ["Content-Type"] = "application/json" } }
  for k, v in pairs(self.transport) do opts[k] = v end
  return (core.transport or http_send)(opts)
end

local find_created -- (self, args[, all]), below

-- The error an attempt ended with: the transport's, or the answer's.
local function failure_of(self, opname, resp, terr, retryable)
  if terr and type(terr) == "table" then -- a transport error: say whose call it was
    terr.provider, terr.op = terr.provider or self.name, terr.op or opname
  end
  return terr or response_error(self, opname, resp, retryable)
end

-- The provider's token (its table's pl_token): one POST of the sealed
-- request to token_url (credentials made both), the answer read and the
-- token held in C (core.take_token).
local function fetch_token(client)
  local resp, err = client:post_sealed(client.token_url, client.token_body)
  if not resp then return nil, err end
  return core.take_token(client.engine, client.name, client.api, resp)
end

-- What the operation loop (core.operate, core/binding/lua_operate.c) asks
-- of this module: the task's sleep, the list that reconciles a create,
-- the error of a failed attempt (the provider's error shapes), and a
-- fetched token.
local OPERATE = {
  sleep = core.sleep,
  find_created = function(self, args) return find_created(self, args) end,
  failure = failure_of,
  -- one fetch at a time, shared by the calls that wait for it
  token = function(self) return core.require("peerlua.providers.common").token(self, fetch_token) end,
}

-- send(self, opname, req) -> decoded body (or true when there is none) | nil, err
-- The request is encoded here (the provider's encode, else JSON); the
-- operation runs in C (core.operate): the engine decides each step, the
-- loop there carries them out, asking the provider's rules (stale,
-- settled, confirm; busy and done answers are in its C table) and the
-- list that reconciles a create.
local function send(self, opname, req)
  if self.spec.encode then
    local ok, eerr = self.spec.encode(self, opname, req)
    if not ok then return nil, eerr end
  else
    local query = http.encode_query(req.query or {})
    req.url = self:service_url(req.service) .. req.path .. (query ~= "" and "?" .. query or "")
    if req.body ~= nil then req.body_text = assert(json.encode(req.body)) end
  end
  return core.operate(self, opname, req, OPERATE, core.transport or http_send)
end

-- prepare(self, opname, args) -> the request | nil, err: args checked
-- against the operation's parameters (core.prepare, C) and the rules
-- across fields that the provider's published types state (spec.check),
-- every problem in one error.
local function prepare(self, opname, args)
  local req, err = core.prepare(self.name, self.api, opname, args)
  local more = self.spec.check and self.spec.check(self, opname, args)
  if more and #more > 0 then
    err = err or M.error({ code = "invalid", provider = self.name, op = opname, retryable = false,
                           message = "invalid arguments", details = {} })
    for _, d in ipairs(more) do
      err.details[#err.details + 1] = d
      err.message = err.message .. (#err.details > 1 and "; " or ": ") .. d.field .. ": " .. d.rule
    end
    return nil, err
  end
  return req, err
end

-- reads_same(client, opname, read) -> does the read take the arguments of
-- opname (the same parameters: UpCloud's and Instaclustr's get and delete)?
local function reads_same(self, opname, read)
  local a, b = self.ops[opname], self.ops[read]
  if not (a and b) then return false end
  for name, where in pairs(a.params) do
    if b.params[name] ~= where then return false end
  end
  for name in pairs(b.params) do
    if not a.params[name] then return false end
  end
  return true
end

-- delete_finds_none(client, args) -> true (a dry run's delete would find nothing to
-- delete: get_peering answers not_found) | false | nil, err
local function delete_finds_none(self, args)
  local r, err = self:call("get_peering", args)
  if r then return false end
  if type(err) == "table" and err.code == "not_found" then return true end
  return nil, err
end

-- on_planned(client, opname, field, p) -> PLANNED, "planned" | nil, err: a
-- call in a dry run whose field names peering p, which the run only plans
-- to create: a change is planned as a step on p; a read has nothing to
-- read yet.
local function on_planned(self, opname, field, p)
  local op = self.ops[opname]
  local kind = not (self.spec.reads and self.spec.reads[opname]) and plan.kind_of(opname, op.method)
  if kind then
    plan.step(self.name, opname, kind, p, op.method .. " " .. op.path)
    return PLANNED, "planned"
  end
  return nil, M.error({ code = "invalid", provider = self.name, op = opname, retryable = false,
    message = "invalid arguments: " .. field .. ": " .. p.id .. " is a peering this dry run only plans to create: "
      .. "there is nothing to read yet (p.planned is true)",
    details = { { field = field, rule = "names a peering this dry run only plans to create" } } })
end

-- call(opname, args[, on_send]) -> decoded body | nil, err  (validation
-- first); on_send() runs as each attempt leaves (after the throttle).
function Client:call(opname, args, on_send)
  if type(args) ~= "table" then
    error("bad argument #1 to '" .. opname .. "' (table expected, got " .. type(args) .. ")", 3)
  end
  if self.spec.defaults then
    local derr
    args, derr = self.spec.defaults(self, opname, args)
    if not args then return nil, derr end
  end
  if plan.on then -- a planned peering's id ("planned-1") is no id the API takes: the call is said, not checked
    for name, v in pairs(args) do
      local p = type(v) == "string" and plan.planned_by_id(v)
      if p then return on_planned(self, opname, name, p) end
    end
  end
  local req, err = prepare(self, opname, args)
  if not req then return nil, err end
  if plan.on and plan.mutating(req.method) and not (self.spec.reads and self.spec.reads[opname]) then
    -- a dry run: shown, not sent; unless a read shows it done already
    local done = self.spec.plan_exists and self.spec.plan_exists[opname]
    if not done and opname == "delete_peering" and reads_same(self, opname, "get_peering") then done = delete_finds_none end
    if done then
      local yes, derr = done(self, args)
      if derr then return nil, derr end
      if yes then
        plan.exists(self.name, opname, req.body or args)
        return true, opname == "delete_peering" and "missing" or "exists" -- as the real run would answer
      end
    end
    plan.record(self, opname, req, self.spec.encode and args or nil)
    return PLANNED, "planned"
  end
  req.args, req.on_send = args, on_send
  return send(self, opname, req)
end

-- The path arguments of a call (cluster, data centre, project ...): kept
-- with each peering value so it can be read again or deleted.
local path_params = setmetatable({}, { __mode = "k" }) -- op -> its path parameters' names
local function scope_of(op, args)
  local names = path_params[op]
  if not names then
    names = {}
    for name, where in pairs(op.params) do
      if where == "path" then names[#names + 1] = name end
    end
    path_params[op] = names
  end
  local scope = {}
  for i = 1, #names do scope[names[i]] = args[names[i]] end
  return scope
end

-- args(opname, p) -> the arguments of opname for peering p: its scope,
-- and its id for the one path parameter the scope lacks (not one that
-- spec.defaults fills from the client: spec.default_params names those).
function Client:id_args(opname, p)
  if self.spec.id_args then return self.spec.id_args(self, opname, p) end
  local args, filled = {}, self.spec.default_params or {}
  for name, where in pairs(self.ops[opname].params) do
    if where == "path" then args[name] = p.scope and p.scope[name] end
  end
  for name, where in pairs(self.ops[opname].params) do
    if where == "path" and args[name] == nil and not filled[name] then args[name] = p.id end
  end
  return args
end

-- The error for a success answer whose body is not what the operation returns.
local function shape_error(self, opname, what)
  return M.error({ code = "provider", provider = self.name, op = opname, retryable = false,
                   message = "unexpected response shape: " .. what })
end

-- A list that comes in pages (the provider table's pl_pages: core.next_page
-- gives the arguments of the next page, or nil): every page, its items
-- joined into the first page's body. on_send goes with the first page
-- only: that is when the list began.
local MAX_PAGES = 1000
function Client:call_pages(opname, args, on_send)
  local body, err = self:call(opname, args, on_send)
  local more = type(body) == "table" and core.next_page(self.name, self.api, opname, args, body)
  if not more then return body, err end
  local path = self.ops[opname].result
  local items = dig(body, path)
  if type(items) ~= "table" then return body, err end
  for pages = 2, math.huge do
    if pages > MAX_PAGES then return nil, shape_error(self, opname, "more than " .. MAX_PAGES .. " pages") end
    local page, perr = self:call(opname, more)
    if page == nil then return nil, perr end
    local got = type(page) == "table" and dig(page, path)
    if type(got) ~= "table" then return nil, shape_error(self, opname, "a page without a list") end
    if #got == 0 then return body end
    table.move(got, 1, #got, #items + 1, items)
    more = core.next_page(self.name, self.api, opname, args, page)
    if not more then return body end
  end
end

-- A peering operation: the result as a peering value (or a list of them).
function Client:call_peering(opname, args, on_send)
  local body, err = self:call_pages(opname, args, on_send)
  if body == nil then return nil, err end
  if body == PLANNED then
    if opname ~= "create_peering" then return true, "planned" end
    plan.count = (plan.count or 0) + 1
    local raw = {}
    for k, v in pairs(args) do raw[k] = v end
    local p = setmetatable({ id = "planned-" .. plan.count, state = "planned", status = "planned", raw = raw,
                             provider = self.name, client = self.public, scope = scope_of(self.ops[opname], args),
                             seen = core.now(), planned = true }, Peering)
    return plan.planned_by_id(p.id, p), "planned"
  end
  if body == true then
    -- no body: fine for a delete or an update, or a peering already gone
    if err or not (opname:match("^list_") or opname:match("^get_") or opname == "create_peering") then
      return true, err
    end
    return nil, shape_error(self, opname, "no body")
  end
  if M.is_peering(body) then return body, err end -- reconciled: found by listing
  local result = dig(body, self.ops[opname].result)
  local scope = scope_of(self.ops[opname], args)
  if opname:match("^list_") then
    if result ~= nil and type(result) ~= "table" then return nil, shape_error(self, opname, "not a list") end
    local out = {}
    for i, obj in ipairs(result or {}) do
      if type(obj) ~= "table" then return nil, shape_error(self, opname, "a list item is not an object") end
      out[i] = self:peering(obj)
      out[i].scope = scope
    end
    return out
  end
  if type(result) == "string" then -- a bare id (Instaclustr v1 create)
    return setmetatable({ id = result, state = "unknown", raw = result, provider = self.name, client = self.public,
                          scope = scope, seen = core.now() }, Peering), err
  end
  if type(result) ~= "table" then return nil, shape_error(self, opname, "no peering object") end
  local p = self:peering(result)
  p.scope = scope
  return p, err
end

-- The peerings the provider's find (pl_find in core/engine/pl_provider.c)
-- looks through for the one args ask for: its list, as it comes. A method,
-- so that a test can make it lag behind the creates as real lists do.
function Client:find_list(args)
  local scope = core.find_args(self.name, self.api, args)
  if not scope then return {} end -- no find: AWS creates no peering
  return self:call_peering("list_peerings", scope)
end

-- find_created(args[, all]) -> peering | nil [, err], or with all, every
-- match (a list) | nil, err: a listed peering that is not gone and that the
-- provider's match pairs find to be the one args ask for (core.matches),
-- given what the list leaves out (spec.complete(client, p) -> the full p |
-- nil: gone).
function find_created(self, args, all)
  local gone, complete = self.desc.gone or {}, self.spec.complete
  local list, err = self:find_list(args)
  if not list then return nil, err end
  local found = {}
  for _, p in ipairs(list) do
    if not gone[p.state] and core.matches(self.name, self.api, p.raw, args) then
      if complete then
        local full, ferr = complete(self, p)
        if ferr then return nil, ferr end
        p = full and not gone[full.state] and full or nil
      end
      if p and not all then return p end
      found[#found + 1] = p
    end
  end
  if all then return found end
  return nil
end

-- The parts that name the peering args ask for: provider, endpoint,
-- account and the find's key (core.find_args).
local function peering_key(self, args)
  local parts = { self.name, self.base_url, self.credential_id or "" }
  local _, key = core.find_args(self.name, self.api, args)
  table.move(key or {}, 1, #(key or {}), 4, parts)
  return parts
end

-- The lock ensure_peering holds for the peering args ask for.
function Client:ensure_lock(args)
  local parts = peering_key(self, args)
  return lock.hold(table.concat(parts, "\0"), {
    redis = self.shared, wait = 2 * self.deadline + 30, provider = self.name, op = "ensure_peering",
    what = self.name .. " peering " .. table.concat(parts, " ", 4),
  })
end

-- A match in one of these states is refused: returned as "existing" it
-- would be waited on for nothing, and a second create beside it would
-- leave two peerings for the same networks.
local DEAD = { rejected = true, expired = true, failed = true }

-- nil, err for a step of ensure_peering that failed: err's op is
-- ensure_peering (the call the script made), its message says which step
-- when that is not plain (doing: "listing peerings").
local function ensure_failed(err, doing)
  if type(err) == "table" and err.op ~= "ensure_peering" then
    err.op = "ensure_peering"
    if doing then err.message = doing .. ": " .. tostring(err.message) end
  end
  return nil, err
end

-- ensure_peering(args) -> peering, how ("existing" | nil) | nil, err
-- Finds a peering that matches args (same networks/accounts/VPC, not
-- deleted) and returns it, or creates one: running a script twice, or
-- after it was killed half-way, never creates a second peering, and two
-- copies at once take turns (peerlua.lock).
function Client:ensure_peering(args)
  if type(args) ~= "table" then -- raised here, so that it points at the caller's line
    error(string.format("bad argument #1 to 'ensure_peering' (table expected, got %s): call it as "
      .. "client:ensure_peering{...}", type(args)), 2)
  end
  local full = args
  if self.spec.defaults then
    local derr
    full, derr = self.spec.defaults(self, "create_peering", args)
    if not full then return ensure_failed(derr) end
  end
  local prepared, perr = prepare(self, "create_peering", full)
  if not prepared then return ensure_failed(perr) end
  local held, lerr
  if not plan.on then -- a dry run creates nothing: nothing to take turns for
    held, lerr = self:ensure_lock(full)
    if not held then return nil, lerr end
  end
  local _ <close> = held
  local found, err = find_created(self, args)
  if found then
    local why, fix = core.conflict(self.name, self.api, found.raw, args), "change or delete it first"
    if DEAD[found.state] then why, fix = "is " .. found.state .. " (it will not become active)", "delete it first" end
    if why then
      return nil, M.error({ code = "conflict", provider = self.name, op = "ensure_peering", retryable = false,
                            message = "peering " .. tostring(found.id) .. " already exists for these networks but "
                              .. why .. "; " .. fix,
                            -- a plain copy: an error holds no path to the client and its credentials
                            peering = { id = found.id, state = found.state } })
    end
    if plan.on then plan.found(found) end
    return found, "existing"
  end
  if err then return ensure_failed(err, "listing peerings") end
  local key -- a dry run that planned this peering already: it is that one, as a real run would find it
  if plan.on then
    key = table.concat(peering_key(self, full), "\0")
    local earlier = plan.planned_peering(key)
    if earlier then
      plan.found(earlier)
      return earlier, "existing"
    end
  end
  local p, how = self:create_peering(args)
  if not p then return ensure_failed(how, "creating the peering") end
  if key and how == "planned" then plan.planned_peering(key, p) end
  if not plan.on then self:check_duplicates(args, p) end
  return p, how or "created" -- "reconciled" (found after an ambiguous create), "planned" (a dry run)
end

-- After ensure_peering created p: only one peering may match. A second one
-- (made by something that does not take peerlua's lock, or let through by
-- the provider) is reported loudly, and listed in p.duplicates.
function Client:check_duplicates(args, p)
  local all = find_created(self, args, true)
  if not all or #all < 2 then return end
  local ids = {}
  for _, q in ipairs(all) do ids[#ids + 1] = tostring(q.id) end
  p.duplicates = ids
  io.stderr:write(string.format("peerlua: warning: %s: %d peerings match what ensure_peering asked for (%s); "
    .. "delete all but one\n", self.name, #ids, table.concat(ids, ", ")))
end

-- ops_of(name) -> {op = "peering" | "raw"}: the operations of the
-- provider's C tables, of every API generation. One named *_peering or
-- *_peerings answers peering objects (its method returns peering values),
-- any other the decoded body (firewall rules, projects, AWS's actions).
local function ops_of(name)
  local ops = {}
  for _, desc in pairs(core.providers) do
    if desc.name == name then
      for opname in pairs(desc.ops) do ops[opname] = opname:match("_peerings?$") and "peering" or "raw" end
    end
  end
  return ops
end

-- A class for spec's clients: a method for every operation of its tables
-- (ops_of), each followed by spec.after[op](client, args, result, how)
-- when there is one; class_for leaves out those a generation has not.
function M.class(spec)
  local class = setmetatable({}, { __index = Client })
  class.__index = class
  class.__tostring = Client.__tostring
  class.__name = "peerlua." .. spec.name
  local after = spec.after or {}
  local ops = ops_of(spec.name)
  for opname, kind in pairs(ops) do
    local call = kind == "peering" and Client.call_peering or Client.call
    local post = after[opname]
    class[opname] = function(self, args)
      if args == nil and self.ops[opname].args_optional then args = {} end
      if type(args) ~= "table" then -- raised here, so that it points at the caller's line
        error(string.format("bad argument #1 to '%s' (table expected, got %s): call it as client:%s{...}",
          opname, type(args), opname), 2)
      end
      local r, how = call(self, opname, args)
      if r == PLANNED then return true, how end
      if r and post then return post(self, args, r, how) end
      if r == nil and type(how) == "table" then core.blame(how) end -- made in a library task
      return r, how
    end
  end
  for k, v in pairs(spec.methods or {}) do
    class[k] = function(self, ...)
      local out = table.pack(v(self, ...))
      if out[1] == nil and type(out[2]) == "table" then core.blame(out[2]) end -- made in a library task
      return table.unpack(out, 1, out.n)
    end
  end
  class.__ops = ops -- which methods are operations (called with a table)
  -- what the REPL completes on a client: its documented methods only
  class.__complete = { "close", "ensure_peering", "settings" }
  for _, names in ipairs({ ops, spec.methods or {} }) do
    for k in pairs(names) do table.insert(class.__complete, k) end
  end
  table.sort(class.__complete)
  return class
end

-- methods_of(class) -> name -> function: the methods of a client's handle,
-- each the class's method called with the handle's state (core.client_state
-- refuses a dot call and a closed client); made once per class.
local public = setmetatable({}, { __mode = "k" })
function M.methods_of(class)
  if public[class] then return public[class] end
  local m = {}
  for _, name in ipairs(class.__complete) do
    local impl = class[name]
    if name == "close" then impl = nil end
    local form = class.__ops[name] and "{...}" or "(...)" -- how the README shows the call
    m[name] = impl and function(c, ...) return impl(core.client_state(c, name, form), ...) end or nil
  end
  m.close = core.client_close
  public[class] = m
  return m
end

-- class_for(class, ops) -> the class for a client whose API generation
-- has the operations ops (its C table): class without the methods of the
-- other generations' operations, made once per generation.
local narrowed = setmetatable({}, { __mode = "k" }) -- class -> missing ops -> class
function M.class_for(class, ops)
  local missing = {}
  for opname in pairs(class.__ops) do
    if not ops[opname] then missing[#missing + 1] = opname end
  end
  if #missing == 0 then return class end
  table.sort(missing)
  local key = table.concat(missing, " ")
  narrowed[class] = narrowed[class] or {}
  local c = narrowed[class][key]
  if c then return c end
  c = {}
  for k, v in pairs(class) do c[k] = v end
  for _, opname in ipairs(missing) do c[opname] = nil end
  c.__index, c.__base = c, class
  c.__complete = {}
  for _, k in ipairs(class.__complete) do
    if c[k] ~= nil or Client[k] ~= nil then c.__complete[#c.__complete + 1] = k end
  end
  narrowed[class][key] = setmetatable(c, getmetatable(class))
  return c
end

return M
