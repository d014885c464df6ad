-- peerlua.sim.check: what the emulated providers share to read requests:
-- format checks (each returns nil when fine, or the rule broken), the JSON
-- body, Basic credentials, lazy lifecycle steps, and lookups in a fixture.
local json = require("peerlua.json")
local credential = require("peerlua.sim.credential")

local M = {}

function M.uuid(s)
  if type(s) ~= "string" or not s:lower():match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") then
    return "must be a UUID"
  end
end

-- an IPv4 CIDR block a.b.c.d/n with no host bits set
function M.cidr4(s)
  if type(s) ~= "string" then return "must be an IPv4 CIDR block" end
  local a, b, c, d, n = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
  if not a then return "must be an IPv4 CIDR block (a.b.c.d/n)" end
  local addr = 0
  for _, part in ipairs({ a, b, c, d }) do
    local v = tonumber(part)
    if v > 255 or (#part > 1 and part:sub(1, 1) == "0") then return "must be an IPv4 CIDR block (a.b.c.d/n)" end
    addr = addr * 256 + v
  end
  n = tonumber(n)
  if n > 32 then return "prefix length must be 0..32" end
  if n < 32 and addr % (1 << (32 - n)) ~= 0 then return "has host bits set" end
end

-- does CIDR x overlap CIDR y? (both valid)
function M.overlaps(x, y)
  local function range(s)
    local a, b, c, d, n = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
    local lo = ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
    return lo, lo + (1 << (32 - tonumber(n))) - 1
  end
  local xl, xh = range(x)
  local yl, yh = range(y)
  return xl <= yh and yl <= xh
end

function M.vpc(s)
  if type(s) ~= "string" or not (s:match("^vpc%-%x%x%x%x%x%x%x%x$") or s:match("^vpc%-" .. ("%x"):rep(17) .. "$")) then
    return "must be an AWS VPC id (vpc- and 8 or 17 hex digits)"
  end
end

function M.aws_account(s)
  if type(s) ~= "string" or not s:match("^" .. ("%d"):rep(12) .. "$") then return "must be a 12-digit AWS account id" end
end

-- AWS region as AWS writes it (us-east-1) or as Instaclustr does (US_EAST_1)
function M.aws_region(s)
  if type(s) ~= "string" or not s:match("^%l%l%-%l+%-%d$") then return "must be an AWS region such as us-east-1" end
end

function M.ic_region(s)
  if type(s) ~= "string" or not s:match("^%u%u_%u+_%d$") then return "must be a region such as US_EAST_1" end
end

-- body(req) -> decoded JSON object | nil, why ("media" when the
-- Content-Type is not JSON, "json" when the text is not a JSON object)
function M.body(req)
  local ct = (req.headers["content-type"] or ""):lower()
  if not ct:match("^application/[%w.+-]*json") then return nil, "media" end
  local v = json.decode(req.body or "")
  if type(v) ~= "table" then return nil, "json" end
  return v
end

-- basic(req) -> user, password | nil (no or malformed Basic credentials)
function M.basic(req)
  local auth = req.headers.authorization
  local b64 = auth and auth:match("^[Bb][Aa][Ss][Ii][Cc]%s+(%S+)%s*$")
  local plain = b64 and credential.base64_decode(b64)
  if not plain then return nil end
  return plain:match("^([^:]*):(.*)$")
end

-- step(times, now) -> the name of the last step whose time has come.
-- times is a list of {name, at} in time order (at = nil: not yet known).
function M.step(times, now)
  local current
  for _, t in ipairs(times) do
    if t[2] and t[2] <= now then current = t[1] else break end
  end
  return current
end

-- an RFC 3339 UTC timestamp for emulated-or-wall seconds
function M.timestamp(epoch)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(epoch))
end

-- a list value that encodes as a JSON array even when empty
function M.list(t)
  return json.array(t or {})
end

-- find(list, field, value) -> the first item of list (a fixture's, or
-- nil) whose field is value, or nil
function M.find(list, field, value)
  for _, item in ipairs(list or {}) do
    if item[field] == value then return item end
  end
end

return M
