-- peerlua.dry_run(fn): reads and validation are real, changes are planned,
-- not sent (the emulator's request log), with a summary of what would be
-- done; a planned create is a peering in state "planned".
local peerlua = require("peerlua")
local testserver = require("testserver")
local http = peerlua.http

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local CLUSTER = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"

describe("dry_run", function()
  local server

  local function changes()
    local out = {}
    for _, e in ipairs(assert(http.request({ url = server.url .. "/_sim/requests?limit=100000" })):json()) do
      if e.method ~= "GET" then out[#out + 1] = e.method .. " " .. e.path end
    end
    return out
  end
  local function args(vpc)
    return { cluster_data_centre_id = CDC, peer_account_id = "123456789012", peer_vpc_id = vpc,
             peer_subnets = { "10.1.0.0/16" }, peer_region = "US_WEST_2" }
  end

  setup(function() server = testserver.attach(peerlua, "--time-scale 600", { quiet = true }) end)
  teardown(function() server:stop() end)

  it("plans every change, sends none, and sums them up", function()
    assert(http.request({ method = "POST", url = server.url .. "/_sim/reset" }))
    local ic = assert(peerlua.instaclustr({}))
    local real = assert(ic:create_peering(args("vpc-0a1b2c3d")))
    local before = #changes()
    local seen = {}
    local summary = assert(peerlua.dry_run(function()
      local p, how = assert(ic:ensure_peering(args("vpc-0a1b2c3d")))
      seen.existing = { p.id, how }
      local q, qhow = assert(ic:ensure_peering(args("vpc-0e0e0e0e")))
      seen.planned = { q.state, qhow, q.planned }
      -- a peering's methods called with a dot say how to call them, at this line
      for name, form in pairs({ wait = "%(state%[, opts%]%)", refresh = "%(%)", delete = "%(%)" }) do
        local ok, msg = pcall(function() local r = q[name]("active") return r end)
        assert.is_false(ok)
        assert.matches("dryrun_spec%.lua:%d+: " .. name .. ": call it as a method, p:" .. name .. form
          .. " %(with a colon, not a dot%)", msg)
      end
      local t0 = peerlua.now()
      assert(q:wait("active", { timeout = 30 })) -- at once: nothing would come
      seen.waited = peerlua.now() - t0
      assert(peerlua.sim.accept(q))
      assert(ic:add_firewall_rule({ cluster_id = CLUSTER, network = "10.1.0.0/16", rules = { "CASSANDRA" } }))
      assert(real:delete())
      assert(real:wait_deleted({ timeout = 30 }))
      local bad, err = ic:create_peering({ cluster_data_centre_id = "nope" })
      seen.invalid = { bad, err and err.code }
    end))
    assert.same({ real.id, "existing" }, seen.existing)
    assert.same({ "planned", "planned", true }, seen.planned)
    assert.is_true(seen.waited < 1)
    assert.same({ nil, "invalid" }, seen.invalid)
    assert.equal(before, #changes()) -- not one change reached the emulator
    assert.same({ 2, 1, 1, 1 }, { summary.create, summary.change, summary.delete, summary.existing })
    assert.equal("create_peering", summary.items[1].op)
    assert.equal("POST", summary.items[1].method)
    assert.equal("vpc-0e0e0e0e", summary.items[1].body.peerVpcId)
    -- after the dry run, changes are sent again
    assert(ic:create_peering(args("vpc-0f0f0f0f")))
    assert.equal(before + 1, #changes())
  end)

  it("reads the firewall rules first: a rule that is there is already as wanted, not planned", function()
    assert(http.request({ method = "POST", url = server.url .. "/_sim/reset" }))
    local v1, v2 = assert(peerlua.instaclustr({})), assert(peerlua.instaclustr({ api = "v2" }))
    local one = { cluster_id = CLUSTER, network = "10.1.0.0/16", rules = { "CASSANDRA" } }
    local both = { cluster_id = CLUSTER, network = "10.1.0.0/16", rules = { { type = "CASSANDRA" }, { type = "KAFKA" } } }
    local r2 = { cluster_id = CLUSTER, network = "10.1.0.0/16", type = "CASSANDRA" }
    assert(v1:add_firewall_rule(one))
    assert(v2:add_firewall_rule(r2))
    local before, hows = #changes(), {}
    local summary = assert(peerlua.dry_run(function()
      for _, call in ipairs({ { v1, one }, { v1, both }, { v2, r2 },
                              { v2, { cluster_id = CLUSTER, network = "10.2.0.0/16", type = "CASSANDRA" } } }) do
        local ok, how = call[1]:add_firewall_rule(call[2])
        hows[#hows + 1] = tostring(ok) .. " " .. tostring(how)
      end
    end))
    assert.same({ "true exists", "true planned", "true exists", "true planned" }, hows)
    assert.same({ 2, 2 }, { summary.create, summary.existing })
    assert.equal(before, #changes())
  end)

  it("counts a change asked again in the same run as already as wanted: a workflow run twice plans it once", function()
    assert(http.request({ method = "POST", url = server.url .. "/_sim/reset" }))
    local ic = assert(peerlua.instaclustr({}))
    local rule = { cluster_id = CLUSTER, network = "10.9.0.0/16", rules = { "CASSANDRA" } }
    local before, seen = #changes(), {}
    local summary = assert(peerlua.dry_run(function()
      for run = 1, 2 do
        local p, how = assert(ic:ensure_peering(args("vpc-0f0f0f0f")))
        seen[run] = p.id .. " " .. how
        assert(peerlua.sim.accept(p))
        assert(ic:add_firewall_rule(rule))
      end
      -- two plain creates are two peerings, in a real run too
      assert(ic:create_peering(args("vpc-0d0d0d0d")))
      assert(ic:create_peering(args("vpc-0d0d0d0d")))
    end))
    assert.same({ "planned-1 planned", "planned-1 existing" }, seen)
    assert.same({ 4, 1, 3 }, { summary.create, summary.change, summary.existing })
    assert.equal(before, #changes())
  end)

  it("plans the delete of a peering it plans to create, for every provider", function()
    local ic = assert(peerlua.instaclustr({}))
    local up = assert(peerlua.upcloud({}))
    local before = #changes()
    local summary = assert(peerlua.dry_run(function()
      local p = assert(ic:ensure_peering(args("vpc-0e0e0e01")))
      assert.same({ true, "planned" }, { p:delete() })
      local q = assert(up:create_peering({ name = "x", network = "03126dc1-a69f-4bc2-8b24-e31c22d64712",
                                           peer_network = "03585987-bf7d-4544-8e9b-5a1b4d74a333" }))
      assert.same({ true, "planned" }, { q:delete() }) -- UpCloud disables first: not for a planned one
      assert(q:wait_deleted())
    end))
    assert.same({ 2, 2 }, { summary.create, summary.delete })
    assert.equal(before, #changes())
  end)

  it("plans a change that names a planned peering by its id, and says a read of one has nothing to read", function()
    local a = peerlua.sim.fixture.huawei.accounts[2]
    local cs = assert(peerlua.huawei({}))
    local peer = assert(peerlua.huawei({ ak = a.ak, sk = a.sk, project_id = a.project_id }))
    local up = assert(peerlua.upcloud({}))
    local before = #changes()
    local seen = {}
    local summary = assert(peerlua.dry_run(function()
      local p = assert(cs:ensure_peering({ cluster_id = "6b29f3c0-4e1d-4d6a-9c58-2f7a8b9c0d1e", name = "dry",
        vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb", accept_tenant_id = "4f30b9215e054c908d18f2b150131646" }))
      seen.accept = { peer:accept_peering({ peering_id = p.id }) } -- "planned-1" is no UUID: not checked as one
      local q = assert(up:create_peering({ name = "x", network = "03126dc1-a69f-4bc2-8b24-e31c22d64712",
                                           peer_network = "03585987-bf7d-4544-8e9b-5a1b4d74a333" }))
      seen.update = { up:update_peering({ uuid = q.id, name = "y" }) }
      seen.read = { up:get_peering({ uuid = q.id }) }
    end))
    assert.same({ true, "planned" }, seen.accept)
    assert.same({ true, "planned" }, seen.update)
    assert.is_nil(seen.read[1])
    assert.equal("invalid", seen.read[2].code)
    assert.matches("uuid: planned%-2 is a peering this dry run only plans to create", seen.read[2].message)
    assert.same({ 2, 2 }, { summary.create, summary.change })
    assert.equal(before, #changes())
  end)

  it("counts the delete of a peering that is not there as already as wanted, as the real run answers it", function()
    local up = assert(peerlua.upcloud({}))
    local gone = "0fffffff-0000-4000-8000-000000000000"
    local seen = {}
    local summary = assert(peerlua.dry_run(function() seen = { up:delete_peering({ uuid = gone }) } end))
    assert.same({ true, "missing" }, seen)
    assert.same({ 0, 1 }, { summary.delete, summary.existing })
    assert.same({ true, "missing" }, { up:delete_peering({ uuid = gone }) }) -- the real run's answer
  end)

  it("returns the error of a function that fails, and refuses to nest", function()
    local s, err = peerlua.dry_run(function() error("stop here") end)
    assert.is_nil(s)
    assert.matches("stop here", tostring(err))
    assert(peerlua.dry_run(function()
      assert.has_error(function() peerlua.dry_run(function() end) end)
    end))
    local ok, msg = pcall(function() local r = peerlua.dry_run("not a function") return r end)
    assert.is_false(ok)
    assert.matches("dryrun_spec%.lua:%d+: bad argument #1 to 'dry_run' %(function expected, got string%)", msg)
  end)
end)
