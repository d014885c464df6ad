-- A script cannot change the policy the C core holds for its clients: each
-- one-line change below once defeated the throttle, the never-resend-a-create
-- rule, the retry cap or the secrecy of the credentials. Each is tried as a
-- script author would (no debug library) and what reaches the emulator is
-- counted in /_sim/requests.
local peerlua = require("peerlua")
local testserver = require("testserver")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local FAST = { attempts = 5, base = 0.01, cap = 0.02, deadline = 60 }

-- Every table a script reaches from what `require` hands out: the modules
-- loaded, their fields, and the fields of those (two levels, as a one-line
-- change would go).
local function reachable()
  local out = {}
  for name, mod in pairs(package.loaded) do
    if type(name) == "string" and name:match("^peerlua") and type(mod) == "table" then
      out[#out + 1] = { name, mod }
      for k, v in pairs(mod) do
        if type(v) == "table" then out[#out + 1] = { name .. "." .. tostring(k), v } end
      end
    end
  end
  return out
end

describe("a script trying to change the policy", function()
  local server

  local function requests(filter)
    local n = 0
    for _, e in ipairs(server:admin("GET", "requests?provider=instaclustr&limit=100000")) do
      if not filter or filter(e) then n = n + 1 end
    end
    return n
  end
  local function faults(spec) server:admin("POST", "faults", { spec = spec }) end

  setup(function()
    server = testserver.start("--time-scale 600")
    peerlua.set_sim({ url = server.url })
  end)
  teardown(function()
    peerlua.set_sim(nil)
    server:stop()
  end)
  before_each(function()
    faults("none")
    server:admin("POST", "reset")
  end)

  it("finds no core table on any module, so the throttle cannot be replaced, and it holds", function()
    for _, t in ipairs(reachable()) do
      assert.is_nil(rawget(t[2], "core"), t[1] .. ".core")
      assert.is_nil(rawget(t[2], "throttle_reserve"), t[1] .. ".throttle_reserve")
    end
    assert.is_false(pcall(function() peerlua.throttle.core.throttle_reserve = function() return 0 end end))
    -- a shared throttle's value has nothing to replace either (Redis is not
    -- there: the client falls back to its local throttle)
    local shared = assert(peerlua.throttle.redis({ url = "redis://127.0.0.1:1", warn = function() end }))
    assert.equal("peerlua.throttle.redis", getmetatable(shared))
    assert.is_nil(shared.reserve)
    assert.has_error(function() shared.reserve = function() return 0 end end)
    -- 10 requests at 20 a second with a burst of 1 take at least 9/20 s
    local ic = assert(peerlua.instaclustr({ rate = 20, burst = 1, throttle = shared }))
    for _ = 1, 10 do assert(ic:list_peerings({ cluster_data_centre_id = CDC })) end
    local log = server:admin("GET", "requests?provider=instaclustr")
    assert.equal(10, #log)
    assert.is_true(log[10].time - log[1].time >= 0.9 * 9 / 20, "10 requests in " .. (log[10].time - log[1].time) .. " s")
  end)

  it("cannot replace the exchange or send of the client class", function()
    local Client = require("peerlua.client").Client
    assert.is_nil(rawget(Client, "exchange"))
    assert.is_nil(rawget(Client, "send"))
    local fake = function() return { status = 200, body = "[]", headers = {} } end
    Client.exchange, Client.send = fake, fake
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    faults("GET /instaclustr/*=500:1")
    local list, err = ic:list_peerings({ cluster_data_centre_id = CDC })
    Client.exchange, Client.send = nil, nil
    assert.is_nil(list)
    assert.equal("unavailable", err.code)
    assert.equal(5, requests())
  end)

  it("gets a copy of its own when it requires the client layer or a provider: replacing its hooks changes no client", function()
    local Client = require("peerlua.client").Client
    local spec = require("peerlua.providers.instaclustr")
    local called = {}
    local saved = { call = Client.call, call_pages = Client.call_pages, busy = spec.busy, authorize = spec.authorize }
    Client.call = function() called.call = true return { status = 200 } end
    Client.call_pages = function() called.call_pages = true return {} end
    spec.busy = function() called.busy = true return true end -- every 500 a busy answer, retried
    spec.authorize = function() called.authorize = true return true end
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    faults("GET /instaclustr/*=500:1")
    local before = requests()
    local list, err = ic:list_peerings({ cluster_data_centre_id = CDC })
    Client.call, Client.call_pages, spec.busy, spec.authorize = saved.call, saved.call_pages, saved.busy,
      saved.authorize
    assert.same({}, called)
    assert.is_nil(list)
    assert.equal("unavailable", err.code)
    assert.equal(5, requests() - before) -- the client's own policy: 5 attempts, each sent
  end)

  it("cannot send outside the engine with a client's credential: no send taking one is published", function()
    assert.is_nil(peerlua.http.send)
    for _, opt in ipairs({ "auth", "sign", "sealed_body" }) do
      local resp, err = peerlua.http.request({ url = server.url .. "/_test/status/200", [opt] = {} })
      assert.is_nil(resp)
      assert.equal("invalid", err.code)
      assert.equal(opt, err.details[1].field)
    end
    assert.equal(0, requests())
  end)

  it("cannot make a create idempotent: under 500after:0.5 no create is made twice", function()
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    assert.is_nil(ic.ops)
    assert.is_false(pcall(function() ic.ops.create_peering.idempotent = true end))
    -- any create_peering description a script can reach: marking it changes nothing the core holds
    for _, t in ipairs(reachable()) do
      local op = rawget(t[2], "create_peering")
      if type(op) == "table" then op.idempotent = true end
    end
    faults("POST /instaclustr/*=500after:0.5")
    local made = 0
    for i = 1, 6 do
      local p = ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
        peer_vpc_id = ("vpc-%08x"):format(i), peer_subnets = { ("10.%d.0.0/16"):format(i) } })
      if p then made = made + 1 end
    end
    faults("none")
    local per_vpc, total = {}, 0
    for _, p in ipairs(assert(ic:list_peerings({ cluster_data_centre_id = CDC }))) do
      per_vpc[p.raw.peerVpcId] = (per_vpc[p.raw.peerVpcId] or 0) + 1
      total = total + 1
    end
    for vpc, n in pairs(per_vpc) do assert.equal(1, n, vpc) end
    assert.equal(made, total)
    assert.is_true(made >= 1)
  end)

  it("cannot reach the retry delay or the budget: 5 attempts against a permanent 500", function()
    for _, t in ipairs(reachable()) do
      for _, name in ipairs({ "retry_delay", "budget_take", "budget_new", "engine" }) do
        assert.is_nil(rawget(t[2], name), t[1] .. "." .. name)
      end
    end
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    faults("GET /instaclustr/*=500:1")
    local list, err = ic:list_peerings({ cluster_data_centre_id = CDC })
    assert.is_nil(list)
    assert.equal("unavailable", err.code)
    assert.equal(5, requests())
  end)

  it("cannot change the methods of every peering, or a peering's metatable", function()
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    local p = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = "vpc-0e0e0e0e", peer_subnets = { "10.77.0.0/16" } }))
    assert.equal("peerlua.peering", getmetatable(p))
    assert.is_nil(p.__index) -- nor is the table of every peering's methods a field
    assert.is_false(pcall(function() getmetatable(p).refresh = function() return p end end))
    assert.is_false(pcall(setmetatable, p, { __index = { refresh = function() return p end } }))
    local before = requests()
    assert(p:refresh()) -- still peerlua's: it asks the provider
    assert.equal(before + 1, requests())
    assert.matches("^instaclustr peering ", tostring(p))
  end)

  it("cannot replace how every task is waited for (peerlua waits for its own): a task's metatable is locked", function()
    local t = peerlua.spawn(function() return 42 end)
    assert.equal("peerlua.task", getmetatable(t))
    assert.is_false(pcall(function() getmetatable(t).__index.wait = function() return 0 end end))
    assert.equal(42, t:wait())
  end)

  it("changes no client by replacing every function of the public modules", function()
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    local up = assert(peerlua.upcloud({ retries = FAST }))
    local p = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = "vpc-0b0b0b0b", peer_subnets = { "10.79.0.0/16" } }))
    local function calls(i)
      assert(ic:list_peerings({ cluster_data_centre_id = CDC }))
      assert(p:refresh())
      local q = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
        peer_vpc_id = ("vpc-0b0b0b%02x"):format(i), peer_subnets = { ("10.%d.0.0/16"):format(80 + i) } }))
      assert(q.id and q.id ~= p.id)
      local e = assert(ic:ensure_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
        peer_vpc_id = ("vpc-0d0d0d%02x"):format(i), peer_subnets = { ("10.%d.0.0/16"):format(90 + i) } }))
      assert(e:wait(e.state, { timeout = 5 }))
      assert(up:list_peerings({}))
    end
    local before = requests()
    calls(1)
    local plain = requests() - before -- what they cost as they are
    local saved, replaced = {}, {}
    for _, t in ipairs(reachable()) do
      for k, v in pairs(t[2]) do
        if type(v) == "function" then
          saved[#saved + 1] = { t[2], k, v }
          t[2][k] = function() replaced[#replaced + 1] = t[1] .. "." .. tostring(k); return {} end
        end
      end
    end
    local ok, err = pcall(calls, 2)
    for i = #saved, 1, -1 do saved[i][1][saved[i][2]] = saved[i][3] end -- a table reached twice: back to its first
    assert(ok, err)
    assert.same({}, replaced) -- none of them was called
    assert.equal(before + 2 * plain, requests())
  end)

  it("cannot change how a client reads its answers: a response's metatable is locked", function()
    local resp = assert(peerlua.http.request({ url = server.url .. "/_test/status/200" }))
    assert.equal("peerlua.http.response", getmetatable(resp))
    assert.is_nil(resp.__index)
    assert.is_false(pcall(function() getmetatable(resp).json = function() return {} end end))
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    local p = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = "vpc-0c0c0c0c", peer_subnets = { "10.78.0.0/16" } }))
    assert.is_string(p.id) -- decoded by peerlua, as before
  end)

  it("cannot change how every error reads: an error's metatable is locked", function()
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    local _, err = ic:list_peerings({ cluster_data_centre_id = "not-a-uuid" })
    assert.equal("peerlua.error", getmetatable(err))
    assert.is_false(pcall(function() getmetatable(err).__tostring = function() return "" end end))
    assert.is_false(pcall(setmetatable, err, {}))
    assert.matches("cluster_data_centre_id", tostring(err))
    assert.is_true(peerlua.is_error(err))
  end)

  it("finds no policy, credential or header fields on a client, and sees no secret", function()
    local secret = peerlua.sim.fixture.instaclustr.accounts[1].api_key
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    for _, field in ipairs({ "policy", "creds", "auth_header", "token", "engine", "spec", "ops", "opts" }) do
      assert.is_nil(ic[field], field)
    end
    assert.has_error(function() ic.policy = { attempts = 1000 } end)
    assert.has_error(function() ic.creds = {} end)
    assert.equal("peerlua.client", getmetatable(ic))
    faults("GET /instaclustr/*=500:1")
    assert.is_nil(ic:list_peerings({ cluster_data_centre_id = CDC }))
    assert.equal(5, requests())
    local shown = tostring(ic) .. " " .. require("cjson").encode(ic:settings())
    assert.matches("instaclustr", shown)
    assert.is_nil(shown:find(secret, 1, true))
    ic:close()
    assert.matches("closed", tostring(ic))
    assert.has_error(function() ic:list_peerings({ cluster_data_centre_id = CDC }) end)
  end)

  it("raises a closed client at the script's line from its peerings' methods too", function()
    faults("none")
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    local p = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = "vpc-0c0d0e0f", peer_subnets = { "10.9.0.0/16" }, peer_region = "US_WEST_2" }))
    ic:close()
    -- each call a statement of its own line (a tail call leaves no line to name)
    local calls = {
      { "refresh", function() p:refresh() end, debug.getinfo(1, "l").currentline },
      { "wait", function() p:wait("active") end, debug.getinfo(1, "l").currentline },
      { "delete", function() p:delete() end, debug.getinfo(1, "l").currentline },
      { "wait_deleted", function() p:wait_deleted() end, debug.getinfo(1, "l").currentline },
    }
    for _, c in ipairs(calls) do
      local ok, err = pcall(c[2])
      assert.is_false(ok)
      assert.matches("bypass_spec.lua:" .. c[3] .. ": p:" .. c[1] .. ": the client is closed", err, 1, true)
    end
  end)
end)
