-- The emulated Huawei IAM, Cloud Stream and VPC APIs, driven directly (no
-- HTTP). AK/SK requests are signed with peerlua.auth.huawei_sign.
-- lua/ is on package.path, so `require "peerlua"` would find lua/peerlua/
-- init.lua before the C module: load build/peerlua.so itself.
local so = assert(package.searchpath("peerlua", package.cpath))
package.preload.peerlua = assert(package.loadlib(so, "luaopen_peerlua"))
local peerlua = require("peerlua")
local sim = require("peerlua.sim")
local json = require("peerlua.json")

local fixture = require("peerlua.sim.fixture").huawei
local A, B = fixture.accounts[1], fixture.accounts[2]
local CLUSTER = fixture.clusters[1].id
local PEER_VPC = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb" -- tenant B's
local CS = "/huawei/cs/v1.0/" .. A.project_id .. "/reserved_cluster/" .. CLUSTER .. "/peering"
local VPC = "/huawei/vpc/v2.0/vpc/peerings"
local HOST = "127.0.0.1:8080"

describe("emulated Huawei", function()
  local app, clock, wall

  local function signed(acct, method, path, body, opts)
    opts = opts or {}
    local headers = { host = HOST, ["content-type"] = "application/json" }
    local h = assert(peerlua.auth.huawei_sign({
      method = method, url = "http://" .. HOST .. path, headers = { ["Content-Type"] = "application/json" },
      body = body or "", ak = acct.ak, sk = opts.sk or acct.sk, date = opts.date or os.date("!%Y%m%dT%H%M%SZ", wall),
    }))
    headers.authorization = h.Authorization
    headers["x-sdk-date"] = h["X-Sdk-Date"]
    return headers
  end

  local function call(method, path, body, headers, query)
    local text = type(body) == "table" and json.encode(body) or body
    local resp = app:handle({ method = method, path = path, query = query or {}, headers = headers or {},
                              body = text or "" })
    return resp, resp.body ~= "" and json.decode(resp.body) or nil
  end

  -- a request signed by acct
  local function as(acct, method, path, body, opts)
    local text = type(body) == "table" and json.encode(body) or body
    return call(method, path, text, signed(acct, method, path, text, opts))
  end

  before_each(function()
    clock, wall = 0, os.time()
    app = sim.new({ clock = function() return clock end, now = function() return wall end })
  end)

  it("issues IAM tokens in X-Subject-Token and accepts them as X-Auth-Token", function()
    local body = { auth = { identity = { methods = { "password" }, password = { user = {
      name = A.user, password = A.password, domain = { name = A.domain } } } },
      scope = { project = { id = A.project_id } } } }
    local resp = call("POST", "/huawei/iam/v3/auth/tokens", body, { ["content-type"] = "application/json" })
    assert.equal(201, resp.status)
    local tok = resp.headers["X-Subject-Token"]
    assert.is_string(tok)
    assert.equal(200, call("GET", CS, nil, { ["x-auth-token"] = tok }).status)
    clock = clock + 24 * 3600
    local expired, err = call("GET", CS, nil, { ["x-auth-token"] = tok })
    assert.equal(401, expired.status)
    assert.equal("APIGW.0301", err.error_code)
    body.auth.identity.password.user.password = "wrong"
    local bad, e = call("POST", "/huawei/iam/v3/auth/tokens", body, { ["content-type"] = "application/json" })
    assert.equal(401, bad.status)
    assert.is_string(e.error.message)
  end)

  it("verifies AK/SK signatures: good, wrong secret, skewed date", function()
    assert.equal(200, as(A, "GET", CS).status)
    local resp, err = as(A, "GET", CS, nil, { sk = "not-the-secret" })
    assert.equal(401, resp.status)
    assert.matches("signature", err.error_msg)
    resp = as(A, "GET", CS, nil, { date = os.date("!%Y%m%dT%H%M%SZ", wall - 3600) })
    assert.equal(401, resp.status)
    -- a signed body that was changed on the way
    local headers = signed(A, "POST", CS, '{"a":1}')
    assert.equal(401, call("POST", CS, '{"a":2}', headers).status)
  end)

  it("creates a cross-tenant peering that waits for the peer tenant to accept", function()
    local resp, body = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p1", accept_tenant_id = B.tenant_id })
    assert.equal(201, resp.status)
    local p = body.peering
    assert.equal("PENDING_ACCEPTANCE", p.status)
    assert.equal(fixture.clusters[1].vpc_id, p.request_vpc_info.vpc_id)
    assert.equal(B.tenant_id, p.accept_vpc_info.tenant_id)
    -- only the accepting tenant may accept
    assert.equal(403, as(A, "PUT", VPC .. "/" .. p.id .. "/accept").status)
    local ok, acc = as(B, "PUT", VPC .. "/" .. p.id .. "/accept")
    assert.equal(200, ok.status)
    assert.equal("ACTIVE", acc.status)
    assert.equal(409, as(B, "PUT", VPC .. "/" .. p.id .. "/reject").status)
    local _, list = as(A, "GET", CS)
    assert.equal("ACTIVE", list.peerings[1].status)
    assert.equal("ACTIVE", select(2, as(B, "GET", VPC .. "/" .. p.id)).peering.status)
  end)

  it("expires an unanswered request and records a rejection", function()
    local _, b1 = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p1", accept_tenant_id = B.tenant_id })
    local _, b2 = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p2", accept_tenant_id = B.tenant_id })
    assert.equal(200, as(B, "PUT", VPC .. "/" .. b2.peering.id .. "/reject").status)
    clock = clock + 7 * 24 * 3600 + 1
    assert.equal("EXPIRED", select(2, as(A, "GET", VPC .. "/" .. b1.peering.id)).peering.status)
    assert.equal("REJECTED", select(2, as(A, "GET", VPC .. "/" .. b2.peering.id)).peering.status)
  end)

  it("validates the create body and the VPC's tenant", function()
    local resp, err = as(A, "POST", CS, { vpc_id = "nope", name = "" })
    assert.equal(400, resp.status)
    assert.matches("vpc_id", err.error_msg)
    assert.matches("name", err.error_msg)
    resp = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p" }) -- B's VPC without accept_tenant_id
    assert.equal(400, resp.status)
    assert.equal(403, as(B, "GET", CS).status) -- not B's project
  end)

  it("deletes: 204, 409 while deleting, then gone", function()
    local _, b = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p1", accept_tenant_id = B.tenant_id })
    local path = CS .. "/" .. b.peering.id
    assert.equal(204, as(A, "DELETE", path).status)
    assert.equal(409, as(A, "DELETE", path).status)
    clock = clock + 6
    assert.equal(404, as(A, "DELETE", path).status)
    assert.equal(0, #select(2, as(A, "GET", CS)).peerings)
  end)

  it("accepts through /_sim/peer-accept", function()
    local _, b = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p1", accept_tenant_id = B.tenant_id })
    local r = call("POST", "/_sim/peer-accept", { provider = "huawei", id = b.peering.id })
    assert.equal(200, r.status)
    assert.equal("ACTIVE", select(2, as(A, "GET", CS)).peerings[1].status)
  end)
end)
