-- Fuzz driver (tests/fuzz/fuzz_lua.c): the emulator's request handling.
--
-- The input is one request, written much as it goes on the wire, after a
-- word saying which valid credentials to add (so the fuzzer reaches the
-- handlers behind authentication):
--
--   ic-basic POST /instaclustr/provisioning/v1/vpc-peering?x=1
--   Content-Type: application/json
--
--   {"peerVpcId":"vpc-0a1b2c3d"}
--
-- Credentials: none, ic-basic, uc-basic, uc-bearer, as-bearer (an OAuth2
-- token fetched first), hw-token (an IAM token fetched first), hw-aksk (the
-- request signed with SDK-HMAC-SHA256), av-token, aws-sigv4 (signed with
-- AWS Signature Version 4 for the service the /aws/ path names). Each input gets a fresh emulator on
-- a fixed clock. Whatever the request, the emulator must answer with a
-- well-formed response and never fail inside (its "emulator handler failed"
-- 500); anything else is a bug (fuzz_lua.c aborts on a Lua error).
local peerlua = require("peerlua")
local json = require("peerlua.json")
local sim = require("peerlua.sim")
local fixture = require("peerlua.sim.fixture")

local HOST = "127.0.0.1:9"
local NOW = 1780000000

-- Basic by the emulator's own encoder (the client's header is made in C, pl_auth)
local b64 = require("peerlua.sim.credential").base64_encode
local function basic(user, secret) return "Basic " .. b64(user .. ":" .. secret) end

-- A token from the emulator itself: POST path with body, header name.
local function fetch(app, path, body, header)
  local resp = app:handle({ method = "POST", path = path, version = "HTTP/1.1", query = {},
                            headers = { ["content-type"] = "application/json", host = HOST },
                            body = json.encode(body) })
  if header then return resp.headers and (resp.headers[header] or resp.headers[header:lower()]) end
  local b = json.decode(resp.body)
  return b and b.access_token
end

local auth = {
  ["ic-basic"] = function(_, req)
    local a = fixture.instaclustr.accounts[1]
    req.headers.authorization = basic(a.username, a.api_key)
  end,
  ["uc-basic"] = function(_, req)
    local a = fixture.upcloud.accounts[1]
    req.headers.authorization = basic(a.username, a.password)
  end,
  ["uc-bearer"] = function(_, req) req.headers.authorization = "Bearer " .. fixture.upcloud.accounts[1].token end,
  ["as-bearer"] = function(app, req)
    local a = fixture.aerospike.accounts[1]
    local t = fetch(app, "/aerospike/oauth/token", { client_id = a.client_id, client_secret = a.client_secret,
                                                     grant_type = "client_credentials" })
    req.headers.authorization = "Bearer " .. assert(t, "no Aerospike token from the emulator")
  end,
  ["av-token"] = function(_, req) req.headers.authorization = "aivenv1 " .. fixture.aiven.accounts[1].token end,
  ["hw-token"] = function(app, req)
    local a = fixture.huawei.accounts[1]
    local t = fetch(app, "/huawei/iam/v3/auth/tokens", { auth = {
      identity = { methods = { "password" }, password = { user = { name = a.user, password = a.password,
                                                                    domain = { name = a.domain } } } },
      scope = { project = { id = a.project_id } } } }, "X-Subject-Token")
    req.headers["x-auth-token"] = assert(t, "no Huawei IAM token from the emulator")
  end,
  ["hw-aksk"] = function(_, req, raw_query)
    local a = fixture.huawei.accounts[1]
    local headers = {}
    for k, v in pairs(req.headers) do headers[k] = v end
    local signed = peerlua.auth.huawei_sign({
      method = req.method, url = "http://" .. HOST .. req.path .. (raw_query ~= "" and "?" .. raw_query or ""),
      headers = headers, body = req.body, ak = a.ak, sk = a.sk, date = os.date("!%Y%m%dT%H%M%SZ", NOW),
    })
    for k, v in pairs(signed or {}) do req.headers[k:lower()] = v end -- nil: a request it cannot sign
  end,
  ["aws-sigv4"] = function(_, req, raw_query)
    local a = fixture.aws.accounts[1]
    local headers = {}
    for k, v in pairs(req.headers) do headers[k] = v end
    local service = req.path:match("^/aws/(%w+)") or "ec2"
    local signed = peerlua.auth.aws_sign({
      method = req.method, url = "http://" .. HOST .. req.path .. (raw_query ~= "" and "?" .. raw_query or ""),
      headers = headers, body = req.body, access_key = a.access_key_id, secret_key = a.secret_access_key,
      region = "us-east-1", service = service, date = os.date("!%Y%m%dT%H%M%SZ", NOW),
    })
    for k, v in pairs(signed or {}) do req.headers[k:lower()] = v end -- nil: a request it cannot sign
  end,
}

local function unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- query string -> table as core/emulator/handler.c builds it (repeated keys: a list)
local function parse_query(q)
  local t = {}
  for part in q:gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=?(.*)$")
    k, v = unescape(k), unescape(v)
    local old = t[k]
    if old == nil then
      t[k] = v
    elseif type(old) == "table" then
      old[#old + 1] = v
    else
      t[k] = { old, v }
    end
  end
  return t
end

local function parse(data)
  local head, rest = data:match("^([^\n]*)\n?(.*)$")
  local cred, method, target = head:match("^(%S+)%s+(%S+)%s+(%S+)")
  if not cred then return nil end
  local path, query = target:match("^([^?]*)%??(.*)$")
  local req = { method = method, path = path, version = "HTTP/1.1", query = parse_query(query),
                headers = { host = HOST } }
  local headers, body = rest:match("^(.-)\n\n(.*)$")
  if not headers then headers, body = "", rest end
  for line in headers:gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then
      k = k:lower()
      req.headers[k] = req.headers[k] and req.headers[k] .. ", " .. v or v
    end
  end
  req.body = body
  return cred, req, query
end

local function check(resp, what)
  if type(resp) ~= "table" then error(what .. ": response is a " .. type(resp)) end
  local status = math.tointeger(resp.status)
  if not status or status < 100 or status > 599 then error(what .. ": bad status " .. tostring(resp.status)) end
  if resp.body ~= nil and type(resp.body) ~= "string" then error(what .. ": body is a " .. type(resp.body)) end
  if status == 500 and resp.body == '{"error":"emulator handler failed"}' then
    error(what .. ": the emulator failed inside (see its message above)")
  end
  for k, v in pairs(resp.headers or {}) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number" and type(v) ~= "table") then
      error(what .. ": bad header " .. tostring(k))
    end
  end
end

local SHOW = os.getenv("PEERLUA_FUZZ_SHOW") -- print each response (to read a finding)
return function(data)
  local cred, req, query = parse(data)
  if not cred then return end
  local app = sim.new({ now = function() return NOW end, clock = function() return 0 end, seed = 1 })
  local add = auth[cred]
  if add then add(app, req, query) end
  local resp = app:handle(req)
  if SHOW then io.stderr:write(req.method, " ", req.path, " -> ", tostring(resp.status), " ", tostring(resp.body), "\n") end
  check(resp, req.method .. " " .. req.path)
end
