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
  it("peerlua.auth.huawei_sign: headers to add, or nil and an invalid error naming the field", function()
    local h = assert(peerlua.auth.huawei_sign({ method = "GET", url = "https://vpc.example.com/v2.0/vpc/peerings",
                                                ak = A.ak, sk = A.sk }))
    assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", h["X-Sdk-Date"]) -- now, in UTC
    assert.equal("vpc.example.com", h.Host)
    assert.matches("^SDK%-HMAC%-SHA256 Access=" .. A.ak .. ", SignedHeaders=host;x%-sdk%-date, Signature=%x+$",
                   h.Authorization)
    h = assert(peerlua.auth.huawei_sign({ method = "GET", url = "https://vpc.example.com/", ak = A.ak, sk = A.sk,
                                          headers = { Host = "vpc.example.com" }, date = "20191115T033655Z" }))
    assert.is_nil(h.Host)
    assert.equal("20191115T033655Z", h["X-Sdk-Date"])
    for field, req in pairs({
      sk = { method = "GET", url = "https://h/", ak = A.ak },
      ak = { method = "GET", url = "https://h/", sk = A.sk },
      url = { method = "GET", url = "/relative", ak = A.ak, sk = A.sk },
      date = { method = "GET", url = "https://h/", ak = A.ak, sk = A.sk, date = "2019-11-15" },
      body = { method = "GET", url = "https://h/", ak = A.ak, sk = A.sk, body = 42 },
      headers = { method = "GET", url = "https://h/", ak = A.ak, sk = A.sk, headers = { X = 1 } },
    }) do
      local ok, e = peerlua.auth.huawei_sign(req)
      assert.is_nil(ok)
      assert.equal("invalid", e.code)
      assert.matches(field, tostring(e.message or e))
      assert.is_nil(tostring(e.message or e):find(A.sk, 1, true))
    end
  end)

  it("answers unknown routes, wrong methods and missing or bad credentials in Huawei's shape", function()
    local resp, e = as(A, "GET", "/huawei/vpc/v2.0/nothing")
    assert.equal(404, resp.status)
    assert.equal("APIGW.0101", e.error_code)
    assert.is_string(e.error_msg)
    resp, e = as(A, "PATCH", VPC)
    assert.equal(404, resp.status)
    assert.equal("APIGW.0101", e.error_code)
    resp, e = call("GET", VPC)
    assert.equal(401, resp.status)
    assert.equal("APIGW.0301", e.error_code)
    assert.equal(401, call("GET", VPC, nil, { ["x-auth-token"] = "MIIforged" }).status)
    -- an unknown AK, a malformed Authorization, a date 16 minutes ahead; 14 minutes is fine
    local unknown = { ak = "SIMAKUNKNOWN", sk = A.sk }
    assert.equal(401, as(unknown, "GET", VPC).status)
    assert.equal(401, call("GET", VPC, nil, { host = HOST, authorization = "SDK-HMAC-SHA256 garbage",
                                               ["x-sdk-date"] = os.date("!%Y%m%dT%H%M%SZ", wall) }).status)
    assert.equal(401, as(A, "GET", VPC, nil, { date = os.date("!%Y%m%dT%H%M%SZ", wall + 16 * 60) }).status)
    assert.equal(200, as(A, "GET", VPC, nil, { date = os.date("!%Y%m%dT%H%M%SZ", wall - 14 * 60) }).status)
    -- a signed query string: signed as sent, and tampering with it is caught
    local path = VPC
    local headers = signed(A, "GET", path .. "?status=ACTIVE&limit=10")
    assert.equal(200, call("GET", path, nil, headers, { status = "ACTIVE", limit = "10" }).status)
    assert.equal(401, call("GET", path, nil, headers, { status = "PENDING_ACCEPTANCE", limit = "10" }).status)
    -- no error message carries a secret
    local _, bad = as(A, "GET", VPC, nil, { sk = "wrong-secret" })
    assert.is_nil(bad.error_msg:find(A.sk, 1, true))
    assert.is_nil(bad.error_msg:find("wrong-secret", 1, true))
  end)

  it("scopes tokens to their project", function()
    local function token(acct, scope)
      return call("POST", "/huawei/iam/v3/auth/tokens", { auth = {
        identity = { methods = { "password" }, password = { user = {
          name = acct.user, password = acct.password, domain = { name = acct.domain } } } },
        scope = { project = scope } } }, { ["content-type"] = "application/json" })
    end
    local wrong, e = token(A, { id = B.project_id })
    assert.equal(401, wrong.status)
    assert.is_string(e.error.message)
    local named = token(A, { name = A.project_name })
    assert.equal(201, named.status)
    local tok = named.headers["X-Subject-Token"]
    assert.equal(200, call("GET", VPC, nil, { ["x-auth-token"] = tok }).status)
    -- the token does not open another project's Cloud Stream path
    local other = "/huawei/cs/v1.0/" .. B.project_id .. "/reserved_cluster/" .. CLUSTER .. "/peering"
    assert.equal(403, call("GET", other, nil, { ["x-auth-token"] = tok }).status)
    -- a body that is not password auth
    local bad = call("POST", "/huawei/iam/v3/auth/tokens", { auth = { identity = { methods = { "token" } } } },
                     { ["content-type"] = "application/json" })
    assert.equal(400, bad.status)
  end)

  it("reads one Cloud Stream peering; unknown peering and cluster are 404", function()
    local _, b = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p1", accept_tenant_id = B.tenant_id })
    local resp, one = as(A, "GET", CS .. "/" .. b.peering.id)
    assert.equal(200, resp.status)
    assert.equal(b.peering.id, one.peering.id)
    assert.equal("p1", one.peering.name)
    assert.equal(fixture.clusters[1].vpc_cidr, one.peering.request_vpc_info.vpc_cidr)
    local missing, e = as(A, "GET", CS .. "/00000000-0000-4000-8000-000000000000")
    assert.equal(404, missing.status)
    assert.is_string(e.error_code)
    local nocluster = "/huawei/cs/v1.0/" .. A.project_id .. "/reserved_cluster/no-such-cluster/peering"
    assert.equal(404, as(A, "GET", nocluster).status)
    -- invalid JSON and an unknown VPC
    assert.equal(400, as(A, "POST", CS, "{not json").status)
    assert.equal(404, as(A, "POST", CS, { vpc_id = "00000000-0000-4000-8000-000000000000", name = "x" }).status)
  end)

  it("VPC peerings: create, get, list, update, delete within a tenant; another tenant sees none of it", function()
    local mine = fixture.clusters[1].vpc_id
    local own = fixture.vpcs[2].id -- A's other VPC
    local body = { peering = { name = "same-tenant", request_vpc_info = { vpc_id = mine },
                               accept_vpc_info = { vpc_id = own } } }
    local resp, b = as(A, "POST", VPC, body)
    assert.equal(201, resp.status)
    local p = b.peering
    assert.equal("ACTIVE", p.status) -- one tenant: no acceptance needed
    assert.equal(A.tenant_id, p.request_vpc_info.tenant_id)
    assert.equal(own, p.accept_vpc_info.vpc_id)
    local _, got = as(A, "GET", VPC .. "/" .. p.id)
    assert.equal("same-tenant", got.peering.name)
    local _, list = as(A, "GET", VPC)
    assert.equal(1, #list.peerings)
    -- ownership: B neither lists nor reads nor deletes it
    assert.equal(0, #select(2, as(B, "GET", VPC)).peerings)
    assert.equal(404, as(B, "GET", VPC .. "/" .. p.id).status)
    assert.equal(404, as(B, "DELETE", VPC .. "/" .. p.id).status)
    -- update
    local up, u = as(A, "PUT", VPC .. "/" .. p.id, { peering = { name = "renamed", description = "d" } })
    assert.equal(200, up.status)
    assert.equal("renamed", u.peering.name)
    assert.equal("d", u.peering.description)
    assert.equal(400, as(A, "PUT", VPC .. "/" .. p.id, { peering = { name = "" } }).status)
    -- delete: DELETED while it goes, 409 for a second delete, then 404
    assert.equal(204, as(A, "DELETE", VPC .. "/" .. p.id).status)
    assert.equal("DELETED", select(2, as(A, "GET", VPC .. "/" .. p.id)).peering.status)
    local busy, e = as(A, "DELETE", VPC .. "/" .. p.id)
    assert.equal(409, busy.status)
    assert.is_string(e.error_code)
    clock = clock + 5
    assert.equal(404, as(A, "GET", VPC .. "/" .. p.id).status)
    assert.equal(0, #select(2, as(A, "GET", VPC)).peerings)
  end)

  -- Huawei VPC API reference, ListVpcPeerings (support.huaweicloud.com/
  -- api-vpc/vpc_peering_0001.html): limit and marker, peerings_links "next"
  it("VPC peering lists come in pages by limit and marker, with a next link while more remain", function()
    local mine, own = fixture.clusters[1].vpc_id, fixture.vpcs[2].id
    local ids = {}
    for i = 1, 5 do
      local resp, b = as(A, "POST", VPC, { peering = { name = "p" .. i, request_vpc_info = { vpc_id = mine },
                                                      accept_vpc_info = { vpc_id = own } } })
      assert.equal(201, resp.status)
      ids[i] = b.peering.id
    end
    -- a GET with a query, signed over it
    local function get(q)
      local keys = {}
      for k in pairs(q) do keys[#keys + 1] = k end
      table.sort(keys)
      for i, k in ipairs(keys) do keys[i] = k .. "=" .. q[k] end
      return call("GET", VPC, nil, signed(A, "GET", VPC .. "?" .. table.concat(keys, "&")), q)
    end
    local seen, query, pages = {}, { limit = "2" }, 0
    repeat
      local resp, b = get(query)
      assert.equal(200, resp.status)
      pages = pages + 1
      for _, p in ipairs(b.peerings) do seen[#seen + 1] = p.id end
      local link = b.peerings_links and b.peerings_links[1]
      if link then
        assert.equal("next", link.rel)
        local marker = link.href:match("[?&]marker=([^&]+)")
        assert.equal(seen[#seen], marker)
        assert.matches("^http://" .. HOST:gsub("%.", "%%.") .. VPC:gsub("%.", "%%."):gsub("%-", "%%-") .. "%?", link.href)
        query = { limit = "2", marker = marker }
      end
    until not link
    assert.equal(3, pages)
    assert.same(ids, seen)
    -- without limit: every record, no links
    local _, all = as(A, "GET", VPC)
    assert.equal(5, #all.peerings)
    assert.is_nil(all.peerings_links)
    -- a limit out of 0..2000, a marker that names no peering: 400
    for _, q in ipairs({ { limit = "2001" }, { limit = "x" }, { marker = "00000000-0000-4000-8000-000000000000" } }) do
      assert.equal(400, get(q).status)
    end
  end)

  -- Huawei's SDK reads the request id from the X-Request-Id response header
  -- only (huaweicloud-sdk-python-v3, exceptions/exception_handler.py)
  it("answers every request with X-Request-Id, the error body's request_id being the same", function()
    local ok = as(A, "GET", VPC)
    assert.equal(200, ok.status)
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", ok.headers["X-Request-Id"])
    local bad, b = as(A, "GET", VPC .. "/00000000-0000-4000-8000-000000000000")
    assert.equal(404, bad.status)
    assert.equal(b.request_id, bad.headers["X-Request-Id"])
    local unauth = call("GET", VPC, nil, {})
    assert.equal(401, unauth.status)
    assert.is_string(unauth.headers["X-Request-Id"])
    assert.are_not.equal(ok.headers["X-Request-Id"], unauth.headers["X-Request-Id"])
    -- answers that do not pass the router: an injected fault
    assert(app:set_faults("500:1"))
    local fault, fb = as(A, "GET", VPC)
    assert.equal(500, fault.status)
    assert.equal(fb.request_id, fault.headers["X-Request-Id"])
  end)

  it("VPC peerings across tenants: the peer lists it, filters by status, accepts; create is validated", function()
    local mine = fixture.clusters[1].vpc_id
    local resp, b = as(A, "POST", VPC, { peering = { name = "x-tenant", request_vpc_info = { vpc_id = mine },
      accept_vpc_info = { vpc_id = PEER_VPC, tenant_id = B.tenant_id } } })
    assert.equal(201, resp.status)
    local id = b.peering.id
    assert.equal("PENDING_ACCEPTANCE", b.peering.status)
    local r = call("GET", VPC, nil, signed(B, "GET", VPC .. "?status=PENDING_ACCEPTANCE"),
                   { status = "PENDING_ACCEPTANCE" })
    assert.equal(200, r.status)
    local pending = json.decode(r.body).peerings
    assert.equal(1, #pending)
    assert.equal(id, pending[1].id)
    r = call("GET", VPC, nil, signed(B, "GET", VPC .. "?status=ACTIVE"), { status = "ACTIVE" })
    assert.equal(0, #json.decode(r.body).peerings)
    r = call("GET", VPC, nil, signed(B, "GET", VPC .. "?vpc_id=" .. mine), { vpc_id = mine })
    assert.equal(1, #json.decode(r.body).peerings)
    r = call("GET", VPC, nil, signed(B, "GET", VPC .. "?name=other"), { name = "other" })
    assert.equal(0, #json.decode(r.body).peerings)
    local acc, a = as(B, "PUT", VPC .. "/" .. id .. "/accept")
    assert.equal(200, acc.status)
    assert.equal("ACTIVE", a.status) -- the bare object
    assert.equal(id, a.id)
    assert.is_nil(a.peering)
    -- either tenant may delete
    assert.equal(204, as(B, "DELETE", VPC .. "/" .. id).status)
    -- validation
    local bad, e = as(A, "POST", VPC, { peering = { request_vpc_info = { vpc_id = mine } } })
    assert.equal(400, bad.status)
    assert.is_string(e.error_msg)
    assert.equal(400, as(A, "POST", VPC, "[").status)
    -- the peer VPC without its tenant, and a local VPC that is not the caller's
    assert.equal(404, as(A, "POST", VPC, { peering = { name = "n", request_vpc_info = { vpc_id = mine },
      accept_vpc_info = { vpc_id = PEER_VPC } } }).status)
    assert.equal(404, as(B, "POST", VPC, { peering = { name = "n", request_vpc_info = { vpc_id = mine },
      accept_vpc_info = { vpc_id = PEER_VPC } } }).status)
  end)

  it("hooks: reject through /_sim/peer-accept, forced statuses, errors in Huawei's shape", function()
    local _, b = as(A, "POST", CS, { vpc_id = PEER_VPC, name = "p1", accept_tenant_id = B.tenant_id })
    local id = b.peering.id
    assert.equal(200, call("POST", "/_sim/peer-accept", { provider = "huawei", id = id, accept = false }).status)
    assert.equal("REJECTED", select(2, as(A, "GET", VPC .. "/" .. id)).peering.status)
    assert.is_not.equal(200, call("POST", "/_sim/peer-accept", { provider = "huawei", id = id }).status)
    assert.equal(200, call("POST", "/_sim/state", { provider = "huawei", id = id, state = "EXPIRED" }).status)
    assert.equal("EXPIRED", select(2, as(A, "GET", CS .. "/" .. id)).peering.status)
    assert.is_not.equal(200, call("POST", "/_sim/state", { provider = "huawei", id = id, state = "BOGUS" }).status)
    -- a forced PENDING_ACCEPTANCE can then be accepted
    call("POST", "/_sim/state", { provider = "huawei", id = id, state = "PENDING_ACCEPTANCE" })
    assert.equal(200, as(B, "PUT", VPC .. "/" .. id .. "/accept").status)
    assert.equal("ACTIVE", select(2, as(A, "GET", CS .. "/" .. id)).peering.status)
    local hooks = app.providers.huawei
    local throttled = hooks.error({}, 429, nil, "slow down")
    assert.equal(429, throttled.status)
    local t = json.decode(throttled.body)
    assert.equal("APIG.0308", t.error_code)
    assert.matches("throttling threshold", t.error_msg)
    local e = json.decode(hooks.error({}, 503, nil, "injected fault").body)
    assert.is_string(e.error_code)
    assert.equal("injected fault", e.error_msg)
  end)
end)
