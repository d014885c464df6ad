-- What users write: ensure, wait, firewall, bulk, against the emulator
-- (peerlua --emulator at 600x time).
local peerlua = require("peerlua")
local testserver = require("testserver")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local CLUSTER = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"
local AS_CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local NET_A, NET_B = "03126dc1-a69f-4bc2-8b24-e31c22d64712", "03585987-bf7d-4544-8e9b-5a1b4d74a333"
local QUICK = { timeout = 60, interval = 0.2, max_interval = 1 }

describe("workflows", function()
  local server

  local function ic_args(vpc, subnets)
    return { cluster_data_centre_id = CDC, peer_account_id = "123456789012", peer_vpc_id = vpc or "vpc-0a1b2c3d",
             peer_subnets = subnets or { "10.1.0.0/16" }, peer_region = "US_WEST_2" }
  end

  local function count(method, pattern)
    local n = 0
    for _, e in ipairs(server:admin("GET", "requests")) do
      if e.method == method and e.path:match(pattern) then n = n + 1 end
    end
    return n
  end

  setup(function() server = testserver.attach(peerlua, "--time-scale 600", { quiet = true }) end)
  teardown(function() server:stop() end)
  before_each(function()
    server:admin("POST", "faults", { spec = "none" })
    server:admin("POST", "reset")
  end)

  describe("ensure_peering", function()
    it("creates when absent and finds it the second time", function()
      local ic = assert(peerlua.instaclustr({}))
      local p, how = assert(ic:ensure_peering(ic_args()))
      assert.equal("created", how)
      local q, how2 = assert(ic:ensure_peering(ic_args()))
      assert.equal(p.id, q.id)
      assert.equal("existing", how2)
      assert.equal(1, count("POST", "/vpc%-peering/"))
    end)

    it("creates a new one when the old one was deleted", function()
      local ic = assert(peerlua.instaclustr({}))
      local p = assert(ic:ensure_peering(ic_args()))
      assert(p:delete())
      assert(p:wait_deleted(QUICK))
      local q = assert(ic:ensure_peering(ic_args()))
      assert.not_equal(p.id, q.id)
    end)

    it("refuses, without creating, when the existing one differs", function()
      local ic = assert(peerlua.instaclustr({}))
      assert(ic:ensure_peering(ic_args()))
      local q, err = ic:ensure_peering(ic_args(nil, { "10.2.0.0/16" }))
      assert.is_nil(q)
      assert.equal("conflict", err.code)
      assert.matches("10.1.0.0/16", err.message)
      assert.equal(1, count("POST", "/vpc%-peering/"))
    end)

    it("refuses, without creating, when the existing one failed", function()
      local as = assert(peerlua.aerospike({}))
      local args = { cluster_id = AS_CLUSTER, vpc_id = "vpc-0f0e0d0c", cidr_block = "192.168.0.0/16",
                     account_id = "123456789012", region = "us-east-1" }
      local p = assert(as:ensure_peering(args))
      server:admin("POST", "state", { provider = "aerospike", id = p.id, state = "failed" })
      local q, err = as:ensure_peering(args)
      assert.is_nil(q)
      assert.equal("conflict", err.code)
      assert.equal("failed", err.peering.state)
      assert.matches("is failed %(it will not become active%); delete it first", err.message)
      assert.equal(1, count("POST", "/vpc%-peerings$"))
    end)

    it("checks the arguments before listing anything", function()
      local ic = assert(peerlua.instaclustr({}))
      local q, err = ic:ensure_peering(ic_args("vpc-bad"))
      assert.is_nil(q)
      assert.equal("invalid", err.code)
      assert.equal("ensure_peering", err.op)
      -- a rule across fields too (UpCloud: not a network with itself)
      local up = assert(peerlua.upcloud({}))
      local net = "03126dc1-a69f-4bc2-8b24-e31c22d64712"
      q, err = up:ensure_peering({ name = "self", network = net, peer_network = net })
      assert.is_nil(q)
      assert.equal("invalid", err.code)
      assert.equal("peer_network", err.details[1].field)
      assert.is_nil(err.message:find("creating the peering", 1, true))
      assert.equal(0, #server:admin("GET", "requests"))
    end)

    it("names itself, and the step that failed, in its errors", function()
      local ic = assert(peerlua.instaclustr({}))
      local args = ic_args()
      args.cluster_data_centre_id = "00000000-0000-4000-8000-000000000000" -- no such data centre
      local q, err = ic:ensure_peering(args)
      assert.is_nil(q)
      assert.same({ "not_found", "ensure_peering" }, { err.code, err.op })
      assert.matches("instaclustr ensure_peering: listing peerings: ", tostring(err), 1, true)
      assert.equal(0, count("POST", "/vpc%-peering/"))
    end)
  end)

  describe("wait", function()
    local function pending()
      local as = assert(peerlua.aerospike({}))
      return assert(as:create_peering({ cluster_id = AS_CLUSTER, vpc_id = string.format("vpc-%08x", math.random(1, 1e8)),
        cidr_block = "192.168.0.0/16", account_id = "123456789012", region = "us-east-1" }))
    end

    it("returns the peering once active", function()
      local p = pending()
      assert(p:wait("pending_acceptance", QUICK))
      assert(peerlua.sim.accept(p))
      assert.equal(p, assert(p:wait("active", QUICK)))
      assert.equal("active", p.state)
    end)

    for _, case in ipairs({
      { "rejected", function(p) assert(peerlua.sim.accept(p, false)) end },
      { "failed", function(p) server:admin("POST", "state", { provider = "aerospike", id = p.id, state = "failed" }) end },
      { "expired", function() server:admin("POST", "clock", { advance = 8 * 24 * 3600 }) end },
    }) do
      it("fails fast with code '" .. case[1] .. "'", function()
        local p = pending()
        assert(p:wait("pending_acceptance", QUICK))
        case[2](p)
        local t0 = peerlua.now()
        local ok, err = p:wait("active", QUICK)
        assert.is_nil(ok)
        assert.equal(case[1], err.code)
        assert.equal(case[1], err.state)
        assert.is_true(peerlua.now() - t0 < 5)
      end)
    end

    it("times out with the last state seen", function()
      local p = pending()
      local ok, err = p:wait("active", { timeout = 0.5, interval = 0.1, max_interval = 0.2 })
      assert.is_nil(ok)
      assert.equal("timeout", err.code)
      assert.is_true(err.state == "pending" or err.state == "pending_acceptance")
    end)

    it("polls many peerings of one account with one list per interval", function()
      local ic = assert(peerlua.instaclustr({}))
      local ps = {}
      for i = 1, 50 do
        ps[i] = assert(ic:create_peering(ic_args(string.format("vpc-%08x", i))))
        assert(peerlua.sim.accept(ps[i]))
      end
      local gets_before = count("GET", "/vpc%-peering/[^/]+/[^/]+$")
      local lists_before = count("GET", "/vpc%-peering/[^/]+$")
      local t0 = peerlua.now()
      local tasks = {}
      for i, p in ipairs(ps) do tasks[i] = peerlua.spawn(function() return assert(p:wait("active", QUICK)) end) end
      for _, r in ipairs(peerlua.wait_all(tasks)) do assert.equal("active", r[1].state) end
      local elapsed = peerlua.now() - t0
      local lists = count("GET", "/vpc%-peering/[^/]+$") - lists_before
      assert.equal(0, count("GET", "/vpc%-peering/[^/]+/[^/]+$") - gets_before)
      -- at most one list per interval (QUICK's 0.2 s, ten times shorter under
      -- --sim, less 20% jitter) for all 50, not one read each
      assert.is_true(lists <= elapsed / 0.016 + 2, ("%d lists in %.2f s"):format(lists, elapsed))
    end)
    it("never takes a list begun before a peering was created as proof it is gone", function()
      local ic = assert(peerlua.instaclustr({}))
      local first = assert(ic:create_peering(ic_args("vpc-0000aaaa")))
      -- lists answer slowly: the poller's list is still in flight when the
      -- second peering is made and joins it
      server:admin("POST", "faults", { spec = "GET /instaclustr/provisioning/v1/vpc-peering/" .. CDC .. "=slow=0.3s:1" })
      local waiting = peerlua.spawn(function() return first:wait("active", QUICK) end) -- never accepted
      peerlua.sleep(0.1)
      local second = assert(ic:create_peering(ic_args("vpc-0000bbbb")))
      assert(peerlua.sim.accept(second))
      local p, err = second:wait("active", QUICK)
      server:admin("POST", "faults", { spec = "none" })
      assert.is_nil(err)
      assert.equal("active", p.state)
      assert.is_true(waiting:cancel())
    end)
  end)

  it("opens the firewall once however often it is asked", function()
    local ic = assert(peerlua.instaclustr({}))
    local rule = { cluster_id = CLUSTER, network = "10.1.0.0/16", rules = { { type = "CASSANDRA" } } }
    for _ = 1, 3 do assert(ic:add_firewall_rule(rule)) end
    local rules = assert(ic:list_firewall_rules({ cluster_id = CLUSTER }))
    assert.equal(1, #rules)
    assert.equal(1, #rules[1].rules)
  end)

  it("finds an UpCloud peering again when the networks are given as {uuid = ...}", function()
    local a = assert(peerlua.upcloud({}))
    local first = assert(a:ensure_peering({ name = "uuid", network = { uuid = NET_A }, peer_network = NET_B }))
    local again, how = a:ensure_peering({ name = "uuid", network = NET_A, peer_network = { uuid = NET_B } })
    assert.equal("existing", how)
    assert.equal(first.id, again.id)
    again, how = a:ensure_peering({ name = "uuid", network = { uuid = NET_A }, peer_network = { uuid = NET_B } })
    assert.equal("existing", how)
    assert.equal(first.id, again.id)
    assert.equal(1, count("POST", "/network%-peering$"))
  end)

  it("peers UpCloud networks in both directions", function()
    local a = assert(peerlua.upcloud({}))
    local peer = peerlua.sim.fixture.upcloud.accounts[2]
    local b = assert(peerlua.upcloud({ username = peer.username, password = peer.password }))
    local ab = assert(a:ensure_peering({ name = "ab", network = NET_A, peer_network = NET_B }))
    assert.equal("pending-peer", ab.status)
    local ba = assert(b:ensure_peering({ name = "ba", network = NET_B, peer_network = NET_A }))
    assert(ab:wait("active", QUICK))
    assert(ba:wait("active", QUICK))
    -- UpCloud deletes only disabled peerings: delete() disables and waits first
    assert(ab:delete())
    assert(ab:wait_deleted(QUICK))
    -- run again (a teardown twice): gone already is done, not a failed disable
    assert.same({ true, "missing" }, { ab:delete() })
  end)

  it("runs a bulk job: nothing returned is done, nil and an error is a failure, an unknown option is refused", function()
    local seen = {}
    local results, failures = peerlua.bulk({ "a", "b", "c", "d" }, function(x, i)
      seen[i] = x
      if x == "b" then return nil, "b failed" end
      if x == "c" then return false end
    end)
    assert.same({ "a", "b", "c", "d" }, seen)
    assert.equal(1, failures)
    assert.same({ { ok = true }, { ok = false, err = "b failed" }, { ok = true, value = false }, { ok = true } },
                results)
    local ok, err = pcall(peerlua.bulk, { 1 }, function() end, { concurency = 2 })
    assert.is_false(ok)
    assert.matches("bad option 'concurency' to 'bulk' %(did you mean 'concurrency'%?%)", err)
    -- named keys or a hole: refused, not skipped without a word
    ok, err = pcall(peerlua.bulk, { a = 1 }, function() end)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'bulk' %(a list expected: got a table with key 'a'%)", err)
    ok, err = pcall(peerlua.bulk, { 1, 2, x = 3 }, function() end)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'bulk' %(a list expected: key 'x' is not in 1%.%.2%)", err)
    assert.is_nil(next(seen, 4))
  end)

  it("runs a bulk job where failures stay with their item", function()
    server:admin("POST", "faults", { spec = "POST /instaclustr/*=500after:0.2,503:0.1;*=500:0.1" })
    local ic = assert(peerlua.instaclustr({ retries = { attempts = 6, base = 0.01, cap = 0.05 } }))
    local items = {}
    for i = 1, 20 do items[i] = i end
    local results, failures = peerlua.bulk(items, function(i)
      if i == 7 then error("item 7 is broken") end
      local p = assert(ic:ensure_peering(ic_args(string.format("vpc-%08x", 100 + i))))
      assert(peerlua.sim.accept(p))
      return assert(p:wait("active", QUICK))
    end, { concurrency = 8 })
    assert.equal(1, failures)
    assert.is_false(results[7].ok)
    assert.matches("item 7 is broken", tostring(results[7].err))
    for i, r in ipairs(results) do
      if i ~= 7 then assert.equal("active", r.value.state) end
    end
    server:admin("POST", "faults", { spec = "none" })
    -- nothing was created twice, faults or not
    assert.equal(19, #assert(ic:list_peerings({ cluster_data_centre_id = CDC })))
  end)
end)
