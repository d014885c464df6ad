-- Unit tests of the emulator's Lua side (lua/peerlua/sim), run by busted
-- under stock lua5.4 with lua/ on the path (see tests/server/tests.cmake).
local router = require("peerlua.sim.router")
local logmod = require("peerlua.sim.log")
local credential = require("peerlua.sim.credential")
local sim = require("peerlua.sim")
local json = require("peerlua.json")

local function req(method, path, headers)
  return { method = method, path = path, query = {}, headers = headers or {}, body = "" }
end

local function ok_handler(tag)
  return function(_, params) return { status = 200, body = tag, params = params } end
end

describe("router", function()
  it("matches static routes and captures parameters", function()
    local r = router.new()
    r:add("GET", "/provisioning/v1/vpc-peering/{cdcId}", ok_handler("list"))
    r:add("GET", "/provisioning/v1/vpc-peering/{cdcId}/{id}", ok_handler("get"))
    r:add("GET", "/provisioning/v1/vpc-peering/special/x", ok_handler("static"))
    local q = req("GET", "/provisioning/v1/vpc-peering/c1/p2")
    local resp = r:dispatch(q)
    assert.equal("get", resp.body)
    assert.same({ cdcId = "c1", id = "p2" }, resp.params)
    assert.equal("/provisioning/v1/vpc-peering/{cdcId}/{id}", q.route)
    assert.equal("list", r:dispatch(req("GET", "/provisioning/v1/vpc-peering/c1")).body)
    assert.equal("static", r:dispatch(req("GET", "/provisioning/v1/vpc-peering/special/x")).body)
  end)

  it("escapes pattern characters in literal segments", function()
    local r = router.new()
    r:add("GET", "/a.b/{id}/c-d+e", ok_handler("x"))
    assert.equal("x", r:dispatch(req("GET", "/a.b/1/c-d+e")).body)
    assert.equal(404, r:dispatch(req("GET", "/aXb/1/c-d+e")).status)
    assert.equal(404, r:dispatch(req("GET", "/a.b/1/c-dde")).status)
  end)

  it("keeps trailing slashes significant and captures one segment only", function()
    local r = router.new()
    r:add("GET", "/provisioning/v1/{clusterId}/firewallRules/", ok_handler("rules"))
    assert.equal("rules", r:dispatch(req("GET", "/provisioning/v1/c/firewallRules/")).body)
    assert.equal(404, r:dispatch(req("GET", "/provisioning/v1/c/firewallRules")).status)
    assert.equal(404, r:dispatch(req("GET", "/provisioning/v1/c/d/firewallRules/")).status)
    assert.equal(404, r:dispatch(req("GET", "/provisioning/v1//firewallRules/")).status)
  end)

  it("answers 405 with the allowed methods, and HEAD uses GET", function()
    local r = router.new()
    r:add({ "GET", "DELETE" }, "/x/{id}", ok_handler("x"))
    r:add("PUT", "/x/{id}", ok_handler("put"))
    local resp = r:dispatch(req("POST", "/x/1"))
    assert.equal(405, resp.status)
    assert.equal("DELETE, GET, PUT", resp.headers.Allow)
    assert.equal("x", r:dispatch(req("HEAD", "/x/1")).body)
    assert.equal("put", r:dispatch(req("PUT", "/x/1")).body)
  end)

  it("accepts any method with '*'", function()
    local r = router.new()
    r:add("*", "/any", ok_handler("any"))
    assert.equal("any", r:dispatch(req("BREW", "/any")).body)
  end)

  it("uses overridable 404 and 405 handlers", function()
    local r = router.new {
      not_found = function() return { status = 404, body = "custom" } end,
      method_not_allowed = function(_, allowed) return { status = 405, body = table.concat(allowed) } end,
    }
    r:add("GET", "/a", ok_handler("a"))
    assert.equal("custom", r:dispatch(req("GET", "/b")).body)
    assert.equal("GET", r:dispatch(req("PUT", "/a")).body)
  end)

  it("mounts routers on prefixes, with their own fallbacks and provider", function()
    local sub = router.new { not_found = function() return { status = 404, body = "sub 404" } end }
    sub:add("GET", "/v1/{id}", ok_handler("sub"))
    sub:add("GET", "/", ok_handler("sub root"))
    local deeper = router.new()
    deeper:add("GET", "/v1/{id}", ok_handler("deeper"))
    local root = router.new()
    root:mount("/upcloud", sub, { provider = "upcloud" })
    root:mount("/upcloud/deep", deeper, { provider = "upcloud-deep" })
    local q = req("GET", "/upcloud/v1/abc")
    assert.equal("sub", root:dispatch(q).body)
    assert.equal("upcloud", q.provider)
    assert.equal("/upcloud/v1/{id}", q.route)
    assert.equal("/upcloud/v1/abc", q.path)
    assert.equal("sub root", root:dispatch(req("GET", "/upcloud")).body)
    assert.equal("sub 404", root:dispatch(req("GET", "/upcloud/nope")).body)
    q = req("GET", "/upcloud/deep/v1/x")
    assert.equal("deeper", root:dispatch(q).body)
    assert.equal("upcloud-deep", q.provider)
    assert.equal(404, root:dispatch(req("GET", "/upcloudx/v1/abc")).status)
  end)

  it("rejects bad patterns and prefixes", function()
    local r = router.new()
    assert.has_error(function() r:add("GET", "no-slash", ok_handler("x")) end)
    assert.has_error(function() r:add("GET", "/a{b}", ok_handler("x")) end)
    assert.has_error(function() r:add("GET", "/a", "not a function") end)
    assert.has_error(function() r:mount("/", router.new()) end)
    assert.has_error(function() r:mount("/a/", router.new()) end)
  end)
end)

describe("request log", function()
  it("keeps the last entries and counts everything", function()
    local log = logmod.new(3)
    for i = 1, 5 do
      log:add { time = i, method = "GET", path = "/p" .. i, status = 200, route = "/p", provider = "x" }
    end
    local e = log:entries()
    assert.equal(3, #e)
    assert.equal("/p3", e[1].path)
    assert.equal("/p5", e[3].path)
    assert.equal(1, #log:entries { limit = 1 })
    assert.equal("/p5", log:entries({ limit = 1 })[1].path)
    local s = log:stats()
    assert.equal(5, s.total)
    assert.equal(5, s.by_provider.x)
    assert.equal(5, s.by_route["GET /p"])
    assert.equal(5, s.by_status["200"])
    log:reset()
    assert.same({}, log:entries())
    assert.equal(0, log:stats().total)
  end)

  it("measures the busiest sliding second per credential", function()
    local log = logmod.new()
    local times = { 0.0, 0.1, 0.5, 0.95, 1.2, 1.3, 1.4, 3.0 }
    for _, t in ipairs(times) do
      log:add { time = 100 + t, method = "GET", path = "/", status = 200, credential = "alice" }
    end
    log:add { time = 100, method = "GET", path = "/", status = 200, credential = "bob" }
    -- 0.5, 0.95, 1.2, 1.3, 1.4 lie within one second
    assert.equal(5, log:stats().max_per_second.alice)
    assert.equal(1, log:stats().max_per_second.bob)
  end)
end)

describe("credential", function()
  it("names the credential of a request", function()
    assert.equal("alice", credential.of { authorization = "Basic YWxpY2U6c2VjcmV0" })
    assert.equal("bearer:abcdefghijkl", credential.of { authorization = "Bearer abcdefghijklmnop" })
    assert.equal("AKID123", credential.of {
      authorization = "SDK-HMAC-SHA256 Access=AKID123, SignedHeaders=host, Signature=00",
    })
    assert.equal("token:MIIxyz", credential.of { ["x-auth-token"] = "MIIxyz" })
    assert.is_nil(credential.of {})
    assert.equal("user:pa:ss", credential.base64_decode("dXNlcjpwYTpzcw=="))
  end)
end)

describe("app", function()
  local t = 1000
  local app = sim.new { now = function() t = t + 0.01; return t end, clock = function() return t end,
                        time_scale = 60, seed = 3 }

  it("serves test routes and logs them", function()
    app:reset()
    local resp = app:handle(req("GET", "/_test/status/201"))
    assert.equal(201, resp.status)
    local entries = app.log:entries()
    assert.equal(1, #entries)
    assert.equal(201, entries[1].status)
  end)

  it("does not log admin requests", function()
    app:reset()
    local resp = app:handle(req("GET", "/_sim/requests"))
    assert.equal(200, resp.status)
    assert.equal("[]", resp.body)
    assert.equal(0, #app.log:entries())
  end)

  it("turns handler errors into a logged 500", function()
    app:reset()
    local saved = io.stderr
    io.stderr = { write = function() end } -- luacheck: ignore
    local resp = app:handle(req("GET", "/_test/error"))
    io.stderr = saved -- luacheck: ignore
    assert.equal(500, resp.status)
    assert.equal('{"error":"emulator handler failed"}', resp.body)
    assert.equal(500, app.log:entries()[1].status)
  end)

  it("accepts positional returns and mounts providers in one line", function()
    local p = router.new()
    p:add("GET", "/ping", function() return 202, { ["X-A"] = "1" }, "pong", 0.5 end)
    app:mount("/fake", p, "fake")
    app:reset()
    local resp = app:handle(req("GET", "/fake/ping", { authorization = "Basic Ym9iOng=" }))
    assert.same({ status = 202, headers = { ["X-A"] = "1" }, body = "pong", delay = 0.5 }, resp)
    local e = app.log:entries()[1]
    assert.equal("fake", e.provider)
    assert.equal("bob", e.credential)
    local health = json.decode(app:handle(req("GET", "/_sim/health")).body)
    assert.equal("fake", health.providers[#health.providers])
    assert.equal(#sim.PROVIDERS + 1, #health.providers)
    assert.equal(60, health.time_scale)
  end)

  it("runs reset hooks", function()
    local n = 0
    app:on_reset(function() n = n + 1 end)
    assert.equal(200, app:handle(req("POST", "/_sim/reset")).status)
    assert.equal(1, n)
  end)

  it("scales the emulated clock", function()
    local a = sim.new { clock = function() return t end, time_scale = 60 }
    t = t + 2
    assert.equal(120, math.floor(a:clock() + 0.5))
    assert.has_error(function() sim.new { time_scale = 0 } end)
  end)
end)
