-- The emulated Aerospike Cloud API, driven directly (no HTTP), with a fake clock.
local sim = require("peerlua.sim")
local json = require("peerlua.json")

local CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local PEERINGS = "/aerospike/v1/database/clusters/" .. CLUSTER .. "/vpc-peerings"

describe("emulated Aerospike Cloud", function()
  local app, now

  local function call(method, path, body, token, query, ctype)
    local headers = { authorization = token and "Bearer " .. token or nil }
    if body ~= nil then headers["content-type"] = ctype or "application/json" end
    local resp = app:handle({ method = method, path = path, query = query or {}, headers = headers,
                              body = type(body) == "table" and json.encode(body) or body or "" })
    return resp, resp.body ~= "" and json.decode(resp.body) or nil
  end

  local function token(id, secret)
    local resp, body = call("POST", "/aerospike/oauth/token", { client_id = id or "sim-aerospike-key-id",
      client_secret = secret or "sim-aerospike-key-secret-0001", grant_type = "client_credentials" })
    return resp.status == 200 and body.access_token or nil, resp, body
  end

  local function create(tok, extra)
    local b = { vpcId = "vpc-0123456789abcdef0", cidrBlock = "192.168.0.0/16", accountId = "123456789012",
                region = "us-east-1", isSecureConnection = true }
    for k, v in pairs(extra or {}) do b[k] = v end
    return call("POST", PEERINGS, b, tok)
  end

  before_each(function()
    now = 0
    app = sim.new({ clock = function() return now end, now = function() return now end })
  end)

  it("under a seed, gives a peering the same ids whatever requests came before it", function()
    local function first_peering(extra_requests)
      app = sim.new({ clock = function() return now end, now = function() return now end, seed = 42 })
      for _ = 1, extra_requests do
        call("GET", PEERINGS) -- a 401 with its own X-Request-Id
        token()               -- a token of its own
      end
      local _, body = create(token())
      return body.id .. " " .. body.peeringId
    end
    local quiet = first_peering(0)
    assert.equal(quiet, first_peering(3))
    -- and the seed still decides them
    local other = sim.new({ clock = function() return now end, now = function() return now end, seed = 43 })
    app = other
    local _, body = create(token())
    assert.not_equal(quiet, body.id .. " " .. body.peeringId)
  end)

  it("issues tokens for client credentials (JSON or form) and refuses wrong ones", function()
    local tok, _, body = token()
    assert.is_string(tok)
    assert.equal("Bearer", body.token_type)
    assert.equal(3600, body.expires_in)
    local resp = call("POST", "/aerospike/oauth/token",
      "grant_type=client_credentials&client_id=sim-aerospike-key-id&client_secret=sim-aerospike-key-secret-0001",
      nil, nil, "application/x-www-form-urlencoded")
    assert.equal(200, resp.status)
    local none, bad = token("sim-aerospike-key-id", "wrong")
    assert.is_nil(none)
    assert.equal(401, bad.status)
  end)

  it("answers problem details with X-Request-Id: no token, expired token, missing scope", function()
    local resp, body = call("GET", PEERINGS)
    assert.equal(401, resp.status)
    assert.equal("application/problem+json", resp.headers["Content-Type"])
    assert.equal("urn:aerospike:errors:auth:unauthorized", body.type)
    assert.is_string(resp.headers["X-Request-Id"])
    local tok = token()
    now = now + 3601
    resp, body = call("GET", PEERINGS, nil, tok)
    assert.equal(401, resp.status)
    assert.equal("urn:aerospike:errors:auth:token-expired", body.type)
    local ro = token("sim-aerospike-readonly", "sim-aerospike-key-secret-0002")
    assert.equal(200, call("GET", PEERINGS, nil, ro).status)
    assert.equal(403, create(ro).status)
  end)

  it("validates every field at once with context.invalid and context.missing", function()
    local tok = token()
    local resp, body = call("POST", PEERINGS, { vpcId = "vpc-1", cidrBlock = "10.0.0.0/33", region = "US_EAST_1" }, tok)
    assert.equal(400, resp.status)
    assert.equal("urn:aerospike:errors:validation:failed", body.type)
    local fields = {}
    for _, x in ipairs(body.context.invalid) do fields[#fields + 1] = x.field end
    table.sort(fields)
    assert.same({ "/cidrBlock", "/region", "/vpcId" }, fields)
    assert.same({ "/accountId", "/isSecureConnection" }, body.context.missing)
    resp, body = create(tok, { cidrBlock = "10.128.0.0/24" })
    assert.equal(400, resp.status)
    assert.matches("overlaps", body.context.invalid[1].description)
  end)

  it("creates with 201, refuses the same VPC twice, and moves through the lifecycle", function()
    local tok = token()
    local resp, p = create(tok)
    assert.equal(201, resp.status)
    assert.equal("initiating-request", p.status)
    assert.matches("^pcx%-", p.peeringId)
    assert.equal(409, create(tok).status)
    now = now + 11
    local _, list = call("GET", PEERINGS, nil, token())
    assert.equal("pending-acceptance", list.vpcPeerings[1].status)
    assert.is_true(app.providers.aerospike.accept(p.id, true))
    now = now + 61
    _, list = call("GET", PEERINGS, nil, token())
    assert.equal("active", list.vpcPeerings[1].status)
  end)

  it("pages the list and checks limit", function()
    local tok = token()
    for i = 1, 12 do create(tok, { vpcId = string.format("vpc-%08x", i) }) end
    local _, page = call("GET", PEERINGS, nil, tok)
    assert.same({ 10, 12, 10, 0 }, { page.count, page.meta.total, page.meta.limit, page.meta.offset })
    _, page = call("GET", PEERINGS, nil, tok, { limit = "5", offset = "10" })
    assert.equal(2, page.count)
    assert.equal(400, call("GET", PEERINGS, nil, tok, { limit = "101" }).status)
  end)

  it("deletes by id or by VPC id with 204, then 404", function()
    local tok = token()
    local _, p = create(tok)
    assert.equal(204, call("DELETE", PEERINGS .. "/" .. p.vpcId, nil, tok).status)
    assert.equal(404, call("DELETE", PEERINGS .. "/" .. p.id, nil, tok).status)
    now = now + 11
    local _, list = call("GET", PEERINGS, nil, token())
    assert.equal(0, list.count)
  end)

  it("rejects and forces states through the hooks", function()
    local tok = token()
    local _, p = create(tok)
    assert.is_true(app.providers.aerospike.accept(p.id, false))
    local _, list = call("GET", PEERINGS, nil, tok)
    assert.equal("rejected", list.vpcPeerings[1].status)
    assert.is_true(app.providers.aerospike.set_state(p.id, "failed"))
    _, list = call("GET", PEERINGS, nil, tok)
    assert.equal("failed", list.vpcPeerings[1].status)
  end)
end)
