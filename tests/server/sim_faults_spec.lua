-- Fault injection, per-credential rate limits and the admin endpoints of
-- the emulator, driven directly (no HTTP).
local sim = require("peerlua.sim")
local faults = require("peerlua.sim.faults")
local json = require("peerlua.json")
local credential = require("peerlua.sim.credential")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local LIST = "/instaclustr/provisioning/v1/vpc-peering/" .. CDC
local AUTH = "Basic " .. credential.base64_encode("sim-user:sim-instaclustr-api-key-0001")

describe("fault specs", function()
  it("parse kinds, probabilities and patterns", function()
    local g = assert(faults.parse("429:0.05,500after:0.1,reset:0.02,resetafter:0.01,slow=2s:0.01,truncate:0.01"))
    assert.equal(1, #g)
    local f = g[1].faults
    assert.same({ 429, false, 0.05 }, { f[1].status, f[1].after, f[1].p })
    assert.same({ 500, true }, { f[2].status, f[2].after })
    assert.is_true(f[3].reset and not f[3].after)
    assert.is_true(f[4].reset and f[4].after)
    assert.equal(2, f[5].slow)
    assert.is_true(f[6].truncate)
    g = assert(faults.parse("/instaclustr/*=429:0.2;*=slow=500ms:1"))
    assert.equal(2, #g)
    assert.equal("/instaclustr/*", g[1].source)
    assert.equal(0.5, g[2].faults[1].slow)
    assert.same({}, faults.parse("none"))
    assert.same({}, faults.parse(""))
  end)

  it("refuse bad specs with a message naming the part", function()
    for spec, want in pairs({
      ["429"] = "'429': a fault is KIND:PROBABILITY", ["bogus"] = "a fault is KIND:PROBABILITY",
      ["429:2"] = "the probability '2' must be", ["500:x"] = "the probability 'x' must be",
      ["teapot:0.1"] = "unknown fault kind",
      ["302:0.1"] = "400..599", ["slow=fast:0.1"] = "duration", ["/x=,"] = "no faults", ["/x"] = "needs '='",
    }) do
      local ok, err = faults.parse(spec)
      assert.is_nil(ok, spec)
      assert.matches(want, err, 1, true)
    end
    assert.has_error(function() sim.new({ faults = "bogus:1" }) end)
  end)

  it("match patterns and draw in order", function()
    local g = assert(faults.parse("/a/*=500:1;*=429:1"))
    local function never() return 0.99 end
    local function always() return 0 end
    assert.equal(500, faults.pick(g, "GET", "/a/b", always).status)
    assert.equal(429, faults.pick(g, "GET", "/b", always).status)
    assert.is_nil(faults.pick(assert(faults.parse("500:0.5")), "GET", "/x", never))
    g = assert(faults.parse("POST /a/*=503:1"))
    assert.equal("POST /a/*", g[1].source)
    assert.equal(503, faults.pick(g, "POST", "/a/b", always).status)
    assert.is_nil(faults.pick(g, "GET", "/a/b", always))
  end)
end)

describe("the emulator with faults", function()
  local now
  local function app_with(spec, seed)
    now = 1000
    return sim.new({ faults = spec, seed = seed or 1, now = function() return now end, clock = function() return now end })
  end
  local function get(app, path)
    return app:handle({ method = "GET", path = path or LIST, query = {}, headers = { authorization = AUTH }, body = "" })
  end

  it("answers injected statuses in the provider's shape, with Retry-After on 429", function()
    local app = app_with("429:1")
    local resp = get(app)
    assert.equal(429, resp.status)
    assert.equal("1", resp.headers["Retry-After"])
    assert.equal(429, json.decode(resp.body).status) -- Instaclustr's {status, message, ...}
    assert.equal(200, get(app, "/_sim/health").status) -- admin routes are never hit
  end)

  it("resets, truncates and slows down as told", function()
    assert.equal("reset", get(app_with("reset:1")).action)
    assert.equal("truncate", get(app_with("truncate:1")).action)
    assert.equal(2, get(app_with("slow=2s:1")).delay)
  end)

  it("lets the change happen before an 'after' fault", function()
    local app = app_with("/instaclustr/*=500after:1")
    local resp = app:handle({ method = "POST", path = LIST, query = {}, body = json.encode({
      peerAccountId = "123456789012", peerVpcId = "vpc-0a1b2c3d", peerSubnets = { "10.1.0.0/16" } }),
      headers = { authorization = AUTH, ["content-type"] = "application/json" } })
    assert.equal(500, resp.status)
    assert.equal(1, #app.providers.instaclustr.peerings()) -- created all the same
  end)

  it("is deterministic under a seed", function()
    local function run(seed)
      local app = app_with("500:0.3", seed)
      local out = {}
      for i = 1, 40 do out[i] = get(app).status end
      return table.concat(out, ",")
    end
    assert.equal(run(42), run(42))
    assert.not_equal(run(42), run(43))
    assert.matches("500", run(42))
  end)

  it("rate-limits each credential at the documented limit", function()
    local app = app_with(nil)
    for i = 1, 35 do assert.equal(202, get(app).status, "request " .. i) end
    local resp = get(app)
    assert.equal(429, resp.status)
    assert.is_string(resp.headers["Retry-After"])
    -- another credential has its own window
    local other = app:handle({ method = "GET", path = LIST, query = {}, body = "",
      headers = { authorization = "Basic " .. credential.base64_encode("sim-other:sim-instaclustr-api-key-0002") } })
    assert.equal(403, other.status) -- not its data centre, but not limited
    now = now + 1.01
    assert.equal(202, get(app).status)
    local log = app.log:entries({})
    assert.equal("rate-limit", log[36].fault)
  end)

  it("changes faults at run time through /_sim/faults", function()
    local app = app_with(nil)
    local function admin(method, body)
      local r = app:handle({ method = method, path = "/_sim/faults", query = {}, headers = {},
                             body = body and json.encode(body) or "" })
      return r.status, json.decode(r.body)
    end
    assert.equal(200, (admin("POST", { spec = "503:1" })))
    assert.equal(503, get(app).status)
    local st, body = admin("POST", { spec = "nonsense:0.1" })
    assert.equal(400, st)
    assert.matches("unknown fault kind", body.error)
    assert.equal("503:1", select(2, admin("GET")).spec)
  end)

  it("moves emulated time through /_sim/clock", function()
    local app = app_with(nil)
    local r = app:handle({ method = "POST", path = "/_sim/clock", query = {}, headers = {},
                           body = json.encode({ advance = 3600 }) })
    assert.equal(200, r.status)
    assert.is_true(json.decode(r.body).sim_time >= 3600)
    r = app:handle({ method = "POST", path = "/_sim/clock", query = {}, headers = {}, body = "{}" })
    assert.equal(400, r.status)
  end)
end)
