-- peerlua.auth.aws_sign and aws_presign: AWS Signature Version 4 through
-- the Lua API, header and query forms.
-- Every case of the AWS test suite (shared/fixtures/aws-sigv4/, read from
-- ../shared beside the repository) is checked in C by tests/c/test_sigv4.c,
-- intermediate strings included; here a few of them go through the Lua
-- API end to end, then bad input. Keys and tokens are never printed.
local peerlua = require("peerlua")
local json = require("peerlua.json")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local SUITE = here .. "/../../../shared/fixtures/aws-sigv4/"

local function read(case, file)
  local f = assert(io.open(SUITE .. case .. "/" .. file, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- The suite's request and context as aws_sign's argument (cases without
-- repeated, folded headers or a body).
local function request(case)
  local ctx = assert(json.decode(read(case, "context.json")))
  local text = read(case, "request.txt")
  local method, path = text:match("^(%u+) (.-) HTTP/1%.1\n")
  local headers = {}
  for name, value in text:gmatch("\n([^:\n]+):([^\n]*)") do headers[name] = value end
  local stamp = ctx.timestamp:gsub("[-:]", "")
  return {
    method = method, url = "https://" .. headers.Host .. path, headers = headers,
    access_key = ctx.credentials.access_key_id, secret_key = ctx.credentials.secret_access_key,
    session_token = ctx.credentials.token, region = ctx.region, service = ctx.service, date = stamp,
  }
end

-- the header named name of the suite's signed request
local function signed_header(case, name)
  return read(case, "header-signed-request.txt"):match("\n" .. name .. ":([^\n]*)")
end

describe("peerlua.auth.aws_sign", function()
  for _, case in ipairs({ "get-vanilla", "get-vanilla-query-order-encoded", "get-header-value-trim",
                          "post-header-key-sort", "get-vanilla-with-session-token", "post-sts-header-before" }) do
    it("signs the suite's " .. case .. " as the suite does", function()
      local req = request(case)
      local h = assert(peerlua.auth.aws_sign(req))
      assert.equal(signed_header(case, "Authorization"), h.Authorization)
      assert.equal("20150830T123600Z", h["X-Amz-Date"])
      assert.is_nil(h.Host) -- given
      assert.equal(req.session_token, h["X-Amz-Security-Token"]) -- the token sent, when there is one
    end)
  end

  it("adds Host when not given, and the date defaults to now", function()
    local req = request("get-vanilla")
    req.headers, req.date = nil, nil
    local h = assert(peerlua.auth.aws_sign(req))
    assert.equal("example.amazonaws.com", h.Host)
    assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", h["X-Amz-Date"]) -- in UTC
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/" .. h["X-Amz-Date"]:sub(1, 8)
                   .. "/us%-east%-1/service/aws4_request, SignedHeaders=host;x%-amz%-date, Signature=%x+$",
                   h.Authorization)
    assert.is_nil(h["X-Amz-Security-Token"])
  end)

  it("the secret is part of the signature", function()
    local req = request("get-vanilla")
    req.secret_key = req.secret_key:sub(1, -2) .. "X"
    local h = assert(peerlua.auth.aws_sign(req))
    assert.is_not.equal(signed_header("get-vanilla", "Authorization"), h.Authorization)
  end)

  it("refuses bad input with an invalid error naming the field and the rule", function()
    local function without(field, value)
      local req = request("get-vanilla")
      req[field] = value
      return req
    end
    local secret = request("get-vanilla").secret_key
    for field, req in pairs({
      access_key = without("access_key", nil),
      secret_key = without("secret_key", nil),
      region = without("region", nil),
      service = without("service", nil),
      date = without("date", "2015-08-30T12:36:00Z"),
      url = without("url", "ftp://example.amazonaws.com/"),
      session_token = without("session_token", 42),
      headers = without("headers", { Host = 1 }),
      body = without("body", {}),
    }) do
      local ok, e = peerlua.auth.aws_sign(req)
      assert.is_nil(ok, field)
      assert.equal("invalid", e.code)
      assert.equal(field, e.details[1].field)
      assert.is_string(e.details[1].rule)
      local msg = tostring(e.message or e)
      assert.truthy(msg:find(field, 1, true), field)
      assert.is_nil(msg:find(secret, 1, true))
    end
    local ok, e = peerlua.auth.aws_sign(without("sesion_token", "t")) -- signed without its token, else
    assert.is_nil(ok)
    assert.equal("sesion_token", e.details[1].field)
    assert.matches("did you mean session_token?", e.message, 1, true)
    ok, e = peerlua.auth.aws_sign(without("method", "post"))
    assert.is_nil(ok)
    assert.equal("method", e.details[1].field)
    ok, e = peerlua.auth.huawei_sign({ method = "GET", url = "https://u:p@vpc.eu-de.myhuaweicloud.com/", ak = "A",
                                       sk = "S", bodyy = "" })
    assert.is_nil(ok)
    assert.equal("bodyy", e.details[1].field)
    ok, e = peerlua.auth.aws_sign(without("url", "/relative"))
    assert.is_nil(ok)
    assert.equal("url", e.details[1].field)
    ok, e = peerlua.auth.aws_sign(without("region", "us-east-1/x"))
    assert.is_nil(ok)
    assert.equal("region", e.details[1].field)
    assert.has_error(function() peerlua.auth.aws_sign("GET") end) -- misuse raises
  end)
end)

describe("peerlua.auth.aws_presign", function()
  -- the suite's signed request's first line: "GET /?X-Amz-...&X-Amz-Signature=... HTTP/1.1"
  local function first_line(case) return read(case, "query-signed-request.txt"):match("^[^\n]*") end

  for _, case in ipairs({ "get-vanilla", "get-vanilla-query-order-encoded", "get-utf8", "post-header-key-sort",
                          "get-vanilla-with-session-token", "post-sts-header-before" }) do
    it("presigns the suite's " .. case .. " as the suite does, parameter order and all", function()
      local req = request(case)
      req.expires = 3600
      local url = assert(peerlua.auth.aws_presign(req))
      assert.equal(first_line(case), req.method .. " " .. url:gsub("^https://[^/]+", "") .. " HTTP/1.1")
    end)
  end

  it("lives an hour unless told, and the date defaults to now", function()
    local req = request("get-vanilla")
    req.date = nil
    local url = assert(peerlua.auth.aws_presign(req))
    assert.matches("&X%-Amz%-Expires=3600&X%-Amz%-Signature=%x+$", url)
    local date = url:match("X%-Amz%-Date=(%d+T%d+Z)")
    assert.equal(os.date("!%Y%m%d"), date:sub(1, 8))
    assert.matches("X%-Amz%-Credential=AKIDEXAMPLE%%2F" .. date:sub(1, 8) .. "%%2Fus%-east%-1%%2Fservice%%2Faws4_request",
                   url)
  end)

  it("refuses an expires that is not 1 to 604800 whole seconds, naming the field", function()
    local secret = request("get-vanilla").secret_key
    for _, bad in ipairs({ 0, -1, 604801, 1.5, "60" }) do
      local req = request("get-vanilla")
      req.expires = bad
      local url, e = peerlua.auth.aws_presign(req)
      assert.is_nil(url, tostring(bad))
      assert.equal("invalid", e.code)
      assert.equal("expires", e.details[1].field)
      assert.is_nil(tostring(e):find(secret, 1, true))
    end
    local req = request("get-vanilla")
    req.expires = 604800 -- seven days: the longest
    assert.is_string(peerlua.auth.aws_presign(req))
    req.region = "US"
    local _, e = peerlua.auth.aws_presign(req)
    assert.equal("region", e.details[1].field)
  end)

  it("refuses a URL signed already or holding a user, a lower-case method, and a misspelled field", function()
    local secret = request("get-vanilla").secret_key
    local function refused(field, edit)
      local req = request("get-vanilla")
      edit(req)
      local url, e = peerlua.auth.aws_presign(req)
      assert.is_nil(url, field)
      assert.equal("invalid", e.code)
      assert.equal(field, e.details[1].field)
      assert.is_nil(tostring(e):find(secret, 1, true))
      return e
    end
    refused("url", function(r) r.url = r.url .. "?Action=X&X-Amz-Signature=abc" end)
    refused("url", function(r) r.url = "https://AKID:pw@example.amazonaws.com/" end)
    refused("method", function(r) r.method = "get" end)
    local e = refused("expire", function(r) r.expire = 60 end) -- a longer-lived URL than asked for, else
    assert.matches("did you mean expires?", e.details[1].rule, 1, true)
    local ok, err = pcall(peerlua.auth.aws_presign)
    assert.is_false(ok)
    assert.matches("aws_presign: expects a table of fields", err, 1, true)
  end)
end)

-- What a client signs with: its keys copied into C (core.signing_key), so
-- no Lua value keeps the secret. The signature is the suite's all the same.
describe("a signing key held in C", function()
  local core = require("internals").core

  it("signs the suite's cases as the plain key fields do, the session token included", function()
    for _, case in ipairs({ "get-vanilla", "get-vanilla-with-session-token", "post-sts-header-before" }) do
      local req = request(case)
      req.key = core.signing_key(req.access_key, req.secret_key, req.session_token)
      req.access_key, req.secret_key, req.session_token = nil, nil, nil
      local h = assert(peerlua.auth.aws_sign(req))
      assert.equal(signed_header(case, "Authorization"), h.Authorization, case)
      assert.equal(request(case).session_token, h["X-Amz-Security-Token"], case)
    end
  end)

  it("signs a Huawei request with its security token as a signed header, as setting the header does", function()
    local base = { method = "GET", url = "https://vpc.eu-de.myhuaweicloud.com/v2.0/vpc/peerings", body = "",
                   date = "20261206T120000Z" }
    local plain = {}
    for k, v in pairs(base) do plain[k] = v end
    plain.ak, plain.sk, plain.headers = "AKEXAMPLE", "sk-example", { ["X-Security-Token"] = "tok-example" }
    local want = assert(peerlua.auth.huawei_sign(plain))
    base.key, base.headers = core.signing_key("AKEXAMPLE", "sk-example", "tok-example"), {}
    local got = assert(peerlua.auth.huawei_sign(base))
    assert.equal(want.Authorization, got.Authorization)
    assert.matches("SignedHeaders=host;x%-sdk%-date;x%-security%-token", got.Authorization)
    assert.equal("tok-example", got["X-Security-Token"])
  end)

  it("is refused once wiped, and is no other value", function()
    local key = core.signing_key("AKIDEXAMPLE", "secret")
    assert.equal("peerlua signing key", tostring(key))
    key:wipe()
    local req = request("get-vanilla")
    req.key = key
    local h, err = peerlua.auth.aws_sign(req)
    assert.is_nil(h)
    assert.equal("invalid", err.code)
    assert.matches("key: is wiped", err.message, 1, true)
    req.key = "AKIDEXAMPLE"
    h, err = peerlua.auth.aws_sign(req)
    assert.is_nil(h)
    assert.matches("key: must be a signing key", err.message, 1, true)
  end)
end)
