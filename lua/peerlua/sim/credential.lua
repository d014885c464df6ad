-- peerlua.sim.credential: which credential a request used, for the request
-- log and the per-credential rate statistics. A provider handler may set
-- req.credential itself; otherwise it is derived from the headers:
--   Authorization: Basic u:p            -> u
--   Authorization: Bearer t             -> "bearer:" .. first 12 chars of t
--   Authorization: SDK-HMAC-SHA256 Access=AK, ...  -> AK (Huawei AK/SK)
--   Authorization: AWS4-HMAC-SHA256 Credential=AKID/..., ...  -> AKID (SigV4)
--   X-Auth-Token: t                     -> "token:" .. first 12 chars of t
local M = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local DEC = {}
for i = 1, #B64 do DEC[B64:byte(i)] = i - 1 end
DEC[("-"):byte()] = 62
DEC[("_"):byte()] = 63

-- base64_decode(s) -> string | nil (invalid input)
function M.base64_decode(s)
  s = s:gsub("[%s=]", "")
  local out, bits, nbits = {}, 0, 0
  for i = 1, #s do
    local v = DEC[s:byte(i)]
    if not v then return nil end
    bits = (bits << 6) | v
    nbits = nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      out[#out + 1] = string.char((bits >> nbits) & 0xff)
    end
  end
  return table.concat(out)
end

-- base64_encode(s) -> standard base64 with padding (RFC 4648), for tests
-- that speak to the emulator as a client would
function M.base64_encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a << 16 | (b or 0) << 8 | (c or 0)
    local function at(shift) local k = (n >> shift & 63) + 1 return B64:sub(k, k) end
    out[#out + 1] = at(18) .. at(12) .. (b and at(6) or "=") .. (c and at(0) or "=")
  end
  return table.concat(out)
end

-- of(headers) -> credential string | nil
function M.of(headers)
  local auth = headers.authorization
  if auth then
    local scheme, rest = auth:match("^(%S+)%s+(.-)%s*$")
    scheme = scheme and scheme:lower()
    if scheme == "basic" then
      local plain = M.base64_decode(rest)
      local user = plain and plain:match("^([^:]*)")
      if user then return user end
    elseif scheme == "bearer" then
      return "bearer:" .. rest:sub(1, 12)
    elseif scheme and rest then
      local ak = rest:match("Access=([^,%s]+)") or rest:match("Credential=([^/,%s]+)/")
      if ak then return ak end
    end
    return "authorization:" .. auth:sub(1, 12)
  end
  local token = headers["x-auth-token"]
  if token then return "token:" .. token:sub(1, 12) end
  return nil
end

return M
