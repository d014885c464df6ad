-- peerlua.http: HTTP requests that suspend the calling task instead of
-- blocking the process (see core/binding/lua_http.c for the transfer itself).
local core = select(3, ...) -- the C primitives (core/binding/lua_peerlua.c)
require("peerlua.json")
local json = core.json -- its functions as loaded: a script replacing peerlua.json.decode changes no client

local M = {}

-- A response's methods, and its metatable: locked, and its methods not a
-- field of it (resp.__index), since the responses a client reads are made
-- here too: a script replacing resp.json would change what every client
-- decodes (a list that reconciles a create, say), not only its own.
local methods = {}
local Response = { __index = methods, __name = "peerlua.http.response", __metatable = "peerlua.http.response" }

-- resp:json() -> value | nil, err
function methods:json()
  return json.decode(self.body)
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end
M.urlencode = urlencode

-- query table -> "k=v&k=v" with sorted keys; array values repeat the key.
local function encode_query(q)
  if next(q) == nil then return "" end -- most requests: no tables, no sort
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    if v == nil then v = q[tonumber(k)] end
    if type(v) == "table" then
      for _, x in ipairs(v) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(x) end
    elseif v == true then
      parts[#parts + 1] = urlencode(k)
    elseif v ~= false then
      parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(v)
    end
  end
  return table.concat(parts, "&")
end
M.encode_query = encode_query

local function invalid(field, rule)
  local err = { code = "invalid", message = field .. ": " .. rule,
                details = { { field = field, rule = rule } } }
  return nil, (core.error or M.error)(err) -- core's: a script replacing http.error changes only its own
end

local allowed = { method = true, url = true, headers = true, query = true, body = true,
                  json = true, timeout = true, connect_timeout = true, insecure = true, ca_file = true,
                  tls_verify = true, max_body = true }
local allowed_names = {}
for k in pairs(allowed) do allowed_names[#allowed_names + 1] = k end
table.sort(allowed_names)

local MAX_BODY_LIMIT = 1 << 30 -- the largest max_body: 1 GiB
M.MAX_BODY_LIMIT = MAX_BODY_LIMIT

-- check_transport(opts, invalid) -> true | invalid(field, rule): the
-- transport options a request and a client share.
local BOOLEANS, SECONDS = { "insecure", "tls_verify" }, { "timeout", "connect_timeout" }
-- Why the file at path is no CA bundle libcurl can use, or nil: checked
-- when the options are, so a missing or wrong file is named then and not
-- reported later as a certificate that did not verify. Once per path.
local pem_ok = {}
local function pem_problem(path)
  local f, err = io.open(path, "rb")
  if not f then return "cannot be read: " .. tostring(err) end
  local text, rerr = f:read(1 << 20)
  f:close()
  if not text then return rerr and ("cannot be read: " .. tostring(rerr)) or "is empty, not a PEM file" end
  if not text:find("%-%-%-%-%-BEGIN [%u ]*CERTIFICATE%-%-%-%-%-") then
    return "is not a PEM file of CA certificates (no -----BEGIN CERTIFICATE----- in it)"
  end
  return nil
end

local function check_transport(opts, fail)
  for _, k in ipairs(BOOLEANS) do
    if opts[k] ~= nil and type(opts[k]) ~= "boolean" then return fail(k, "must be true or false") end
  end
  if opts.ca_file ~= nil and (type(opts.ca_file) ~= "string" or opts.ca_file == "") then
    return fail("ca_file", "must be the path of a PEM file")
  end
  if opts.ca_file ~= nil and not pem_ok[opts.ca_file] then
    local why = pem_problem(opts.ca_file)
    if why then return fail("ca_file", why) end
    pem_ok[opts.ca_file] = true
  end
  local mb = opts.max_body
  if mb ~= nil and (math.type(mb) ~= "integer" or mb < 1 or mb > MAX_BODY_LIMIT) then
    return fail("max_body", "must be a whole number of bytes from 1 to " .. MAX_BODY_LIMIT)
  end
  return true
end
M.check_transport = check_transport

-- Certificate checks off is said once per process, where it cannot be missed.
local warned_verify = false
local function warn_no_verify()
  if warned_verify then return end
  warned_verify = true
  io.stderr:write("peerlua: warning: tls_verify = false: TLS certificates are not checked; "
    .. "anyone on the path can read and change these requests (ca_file trusts a CA instead)\n")
end

-- request{method=, url=, headers=, query=, body=, json=, timeout=,
--         connect_timeout=, insecure=, tls_verify=, ca_file=, max_body=}
--   -> resp | nil, err
function M.request(opts)
  if type(opts) ~= "table" then
    error("bad argument #1 to 'request' (table expected, got " .. type(opts) .. ")", 2)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      return invalid(tostring(k), "unknown option" .. core.did_you_mean(k, allowed_names))
    end
  end
  local url, method = opts.url, opts.method or "GET"
  if type(url) ~= "string" then return invalid("url", "must be a string") end
  if type(method) ~= "string" then return invalid("method", "must be a string") end
  local tok, terr = check_transport(opts, invalid)
  if not tok then return nil, terr end
  for _, k in ipairs(SECONDS) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v <= 0) then
      return invalid(k, "must be a number of seconds > 0")
    end
  end
  local headers = {}
  if opts.headers ~= nil then
    if type(opts.headers) ~= "table" then return invalid("headers", "must be a table") end
    for k, v in pairs(opts.headers) do
      if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
        return invalid("headers", "names and values must be strings")
      end
      headers[k] = tostring(v)
    end
  end
  local body = opts.body
  if opts.json ~= nil then
    if body ~= nil then return invalid("json", "cannot be given together with body") end
    body = opts.json
  end
  if body ~= nil then
    if type(body) == "table" then
      local s, err = json.encode(body)
      if not s then return invalid("body", "cannot be encoded as JSON: " .. tostring(err)) end
      body = s
      local has_ct = false
      for k in pairs(headers) do
        if k:lower() == "content-type" then has_ct = true end
      end
      if not has_ct then headers["Content-Type"] = "application/json" end
    elseif type(body) ~= "string" then
      return invalid("body", "must be a string or a table (sent as JSON)")
    end
  end
  if opts.query ~= nil then
    if type(opts.query) ~= "table" then return invalid("query", "must be a table") end
    local q = encode_query(opts.query)
    if q ~= "" then url = url .. (url:find("?", 1, true) and "&" or "?") .. q end
  end
  if opts.tls_verify == false then warn_no_verify() end
  local resp, err = core.http_request({
    method = method:upper(), url = url, headers = headers, body = body,
    timeout = opts.timeout, connect_timeout = opts.connect_timeout,
    insecure = opts.insecure and true or false, ca_file = opts.ca_file,
    tls_verify = opts.tls_verify ~= false, max_body = opts.max_body,
  })
  if not resp then
    if err.code == "invalid" then
      local field, rule = err.message:match("^(%w+): (.*)$")
      err.details = { { field = field, rule = rule } }
    end
    return nil, err
  end
  return setmetatable(resp, Response)
end

-- core.http_send(opts) -> resp | nil, err: request's transfer for peerlua's own
-- callers, whose options are known good (a client's engine, its options
-- checked when it was made): an upper-case method, the url, headers of
-- strings, a string body or nil, timeout and the transport options.
-- Kept in core, where peerlua's own modules find it and a script does not:
-- it takes a client's engine (auth =), signing key (sign =) and sealed body,
-- which a script must not send outside the engine's throttle and retries.
function core.http_send(opts)
  if opts.tls_verify == false then warn_no_verify() end
  opts.insecure, opts.tls_verify = opts.insecure and true or false, opts.tls_verify ~= false
  local resp, err = core.http_request(opts)
  if not resp then return nil, err end
  return setmetatable(resp, Response)
end

-- The functions as loaded, for peerlua's own modules (client, providers):
-- a script replacing peerlua.http.encode_query changes its own calls, not
-- the URLs every client builds.
core.http = { encode_query = encode_query, urlencode = urlencode, check_transport = check_transport,
              request = M.request }

return M
