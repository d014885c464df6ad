-- Nothing created twice, nothing sent where it must not go: a create
-- answered 409 after an attempt that may have landed is reconciled, an
-- accept answered 409 is settled when the peering is accepted, Instaclustr
-- v2 peerings have a state on every path, and Aerospike lists are read to
-- the last page. Against the emulator (peerlua --emulator), with its fault
-- injection.
local peerlua = require("peerlua")
local testserver = require("testserver")
local internals = require("internals")
local http = peerlua.http

local AS_CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local NET_A, NET_B = "03126dc1-a69f-4bc2-8b24-e31c22d64712", "03585987-bf7d-4544-8e9b-5a1b4d74a333"
local AIVEN_VPC, UC_ACCOUNT = "1c6a3d5e-7b9f-4e21-a8c4-5d6e7f809a1b", "upcloud"
local HW_VPC = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb"
local FAST = { attempts = 6, base = 0.02, cap = 0.1 }
local QUICK = { timeout = 60, interval = 0.2, max_interval = 1 }

describe("reconcile", function()
  local server

  local function admin(method, path, body)
    local resp = assert(http.request({ method = method, url = server.url .. "/_sim/" .. path, json = body }))
    assert(resp.status == 200, resp.body)
    return resp:json()
  end
  local function faults(spec) admin("POST", "faults", { spec = spec }) end
  local function statuses(method, pattern)
    local out = {}
    for _, e in ipairs(admin("GET", "requests?limit=100000")) do
      if e.method == method and e.path:match(pattern) then out[#out + 1] = e.status end
    end
    return out
  end

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
    admin("POST", "reset")
  end)

  -- A client whose first look for an ambiguous create's peering sees a
  -- list that does not show it yet (the provider's lists lag its creates)
  -- and lifts the faults, so the create is sent again and answered 409.
  -- (The client's find_list is patched for the test: the client's own
  -- reconcile step is not reachable from a script.)
  local function lagging(client)
    local state = internals.state(client)
    local list = state.find_list
    local looked = 0
    state.find_list = function(c, args)
      looked = looked + 1
      if looked == 1 then
        faults("none")
        return {}
      end
      return list(c, args)
    end
    return client, function() return looked end
  end

  for _, case in ipairs({
    { "aerospike", "POST /aerospike/v1/*", "/vpc%-peerings$", function() return peerlua.aerospike({ retries = FAST }) end,
      { cluster_id = AS_CLUSTER, vpc_id = "vpc-0a0b0c0d", cidr_block = "172.31.0.0/16", account_id = "123456789012",
        region = "us-east-1" } },
    { "aiven", "POST /aiven/*", "/peering%-connections$",
      function() return peerlua.aiven({ project = "sim-project", retries = FAST }) end,
      { project_vpc_id = AIVEN_VPC, peer_cloud_account = UC_ACCOUNT, peer_vpc = NET_A } },
    { "upcloud", "POST /upcloud/*", "/network%-peering$", function() return peerlua.upcloud({ retries = FAST }) end,
      { name = "a-b", network = NET_A, peer_network = NET_B } },
  }) do
    local name, pattern, path, new, args = case[1], case[2], case[3], case[4], case[5]
    for _, kind in ipairs({ "500after", "504after", "resetafter" }) do
      it(("takes %s's 409 after a %s create for the peering it made"):format(name, kind), function()
        local c, looked = lagging(assert(new()))
        faults(pattern .. "=" .. kind .. ":1")
        local p, how = c:create_peering(args)
        assert(p, how)
        assert.equal("reconciled", how)
        assert.is_string(p.id)
        assert.equal(2, looked()) -- the lagging look, then the one after the 409
        -- the reset POST once (the transport never re-sends it), then the 409
        local posts = statuses("POST", path)
        assert.equal(2, #posts)
        assert.equal(409, posts[#posts])
        local scope = ({ aerospike = { cluster_id = AS_CLUSTER }, aiven = { project_vpc_id = AIVEN_VPC } })[name] or {}
        assert.equal(1, #assert(c:list_peerings(scope)))
      end)
    end

    it(("keeps %s's 409 on a first create a conflict"):format(name), function()
      local c = assert(new())
      assert(c:create_peering(args))
      local p, err = c:create_peering(args)
      assert.is_nil(p)
      assert.equal("conflict", err.code)
    end)
  end

  describe("Huawei accept", function()
    local function setup_peering()
      local f = peerlua.sim.fixture.huawei
      local cs = assert(peerlua.huawei({}))
      local b = f.accounts[2]
      local peer = assert(peerlua.huawei({ ak = b.ak, sk = b.sk, project_id = b.project_id, retries = FAST }))
      local p = assert(cs:create_peering({ cluster_id = f.clusters[1].id, vpc_id = HW_VPC, name = "acc",
                                           accept_tenant_id = b.tenant_id }))
      return peer, p
    end

    it("is settled when its first attempt is answered 409 and the peering is active", function()
      local peer, p = setup_peering()
      assert(peer:accept_peering({ peering_id = p.id }))
      local again, how = peer:accept_peering({ peering_id = p.id })
      assert(again, how)
      assert.equal("settled", how)
      assert.equal("active", again.state)
      local puts = statuses("PUT", "/accept$")
      assert.same({ 200, 409 }, puts)
    end)

    it("is settled after a dropped connection", function()
      local peer, p = setup_peering()
      assert(peer:get_vpc_peering({ peering_id = p.id })) -- a connection to reuse
      faults("PUT /huawei/*=resetafter:1")
      local lift = peerlua.spawn(function() peerlua.sleep(0.05) faults("none") end)
      local accepted, how = peer:accept_peering({ peering_id = p.id })
      lift:wait()
      assert(accepted, how)
      assert.equal("active", accepted.state)
    end)

    it("is still refused when the peering is not in the state asked for", function()
      local peer, p = setup_peering()
      assert(peer:reject_peering({ peering_id = p.id }))
      local r, err = peer:accept_peering({ peering_id = p.id })
      assert.is_nil(r)
      assert.is_table(err)
    end)
  end)

  describe("the transport", function()
    -- A create on a kept-alive connection that is reset after the server ran
    -- it: libcurl on its own would send it again on a new connection, and
    -- Instaclustr and Huawei would make a second peering.
    local cases = {
      instaclustr = function()
        local args = { cluster_data_centre_id = CDC, peer_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d",
                       peer_subnets = { "10.1.0.0/16" }, peer_region = "US_WEST_2" }
        return peerlua.instaclustr({ retries = FAST }), { cluster_data_centre_id = CDC }, args, "/vpc%-peering/"
      end,
      huawei = function()
        local f = peerlua.sim.fixture.huawei
        local args = { cluster_id = f.clusters[1].id, vpc_id = HW_VPC, name = "once",
                       accept_tenant_id = f.accounts[2].tenant_id }
        return peerlua.huawei({ retries = FAST }), { cluster_id = f.clusters[1].id }, args, "/peering$"
      end,
    }
    for _, name in ipairs({ "instaclustr", "huawei" }) do
      it(("never re-sends a create to %s when its reused connection is reset"):format(name), function()
        local c, scope, args, path = cases[name]()
        assert(c)
        assert(c:list_peerings(scope)) -- leaves a kept-alive connection to reuse
        faults("POST /" .. name .. "/*=resetafter:1")
        local p, how = c:create_peering(args)
        faults("none")
        assert(p, how)
        assert.equal("reconciled", how) -- the engine looked, and found the one
        assert.equal(1, #statuses("POST", path))
        assert.equal(1, #assert(c:list_peerings(scope)))
      end)
    end
  end)

  describe("Instaclustr v2", function()
    local args = { cdc_id = CDC, peer_aws_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d",
                   peer_subnets = { "10.1.0.0/16" }, peer_region = "US_WEST_2" }

    it("has a state after ensure, list, get and a reconcile", function()
      local ic = assert(peerlua.instaclustr({ api = "v2", retries = FAST }))
      local p, how = assert(ic:ensure_peering(args))
      assert.equal("created", how)
      assert.equal("pending_acceptance", p.state)
      local q, how2 = assert(ic:ensure_peering(args))
      assert.equal("existing", how2)
      assert.equal(p.id, q.id)
      assert.equal("pending_acceptance", q.state)
      assert.equal("pending-acceptance", q.status)
      local list = assert(ic:list_peerings({}))
      assert.equal(1, #list)
      assert.equal("pending_acceptance", list[1].state)
      assert.equal("pending_acceptance", assert(ic:get_peering({ vpc_peer_id = p.id })).state)
      faults("POST /instaclustr/*=500after:1")
      local other = { cdc_id = CDC, peer_aws_account_id = "123456789012", peer_vpc_id = "vpc-0e0e0e0e",
                      peer_subnets = { "10.2.0.0/16" }, peer_region = "US_WEST_2" }
      local r, rhow = ic:create_peering(other)
      assert(r, rhow)
      assert.equal("reconciled", rhow)
      assert.equal("pending_acceptance", r.state)
    end)
  end)

  describe("Aerospike pages", function()
    it("lists, ensures and waits past the first page", function()
      -- the emulator allows 20 requests/s per key (fixture rate_limit)
      local as = assert(peerlua.aerospike({ rate = 18, burst = 5 }))
      local function args(i)
        return { cluster_id = AS_CLUSTER, vpc_id = ("vpc-%08x"):format(i),
                 cidr_block = ("172.%d.%d.0/24"):format(16 + i // 256, i % 256),
                 account_id = "123456789012", region = "us-east-1" }
      end
      local made = {}
      for i = 1, 120 do made[i] = assert(as:create_peering(args(i))) end
      local list = assert(as:list_peerings({ cluster_id = AS_CLUSTER }))
      assert.equal(120, #list)
      local first = assert(as:list_peerings({ cluster_id = AS_CLUSTER, limit = "100", offset = "0" }))
      assert.equal(100, #first) -- one page when the offset is given
      local posts = #statuses("POST", "/vpc%-peerings$")
      local p, how = assert(as:ensure_peering(args(110)))
      assert.equal("existing", how)
      assert.equal(made[110].id, p.id)
      assert.equal(posts, #statuses("POST", "/vpc%-peerings$")) -- nothing created
      -- the batched poller sees the 110th, with the 5th, and each gets active
      assert(made[110]:wait("pending_acceptance", QUICK))
      assert(peerlua.sim.accept(made[110]))
      assert(made[5]:wait("pending_acceptance", QUICK))
      assert(peerlua.sim.accept(made[5]))
      local r = peerlua.wait_all({
        peerlua.spawn(function() return made[110]:wait("active", QUICK) end),
        peerlua.spawn(function() return made[5]:wait("active", QUICK) end),
      })
      assert(r[1][1], r[1][2])
      assert(r[2][1], r[2][2])
      assert.equal("active", made[110].state)
    end)
  end)

  -- How a peering is found is the provider table's (pl_find in
  -- core/engine/pl_provider.c): the list's scope, the lock's key, the
  -- fields a found peering must not differ in.
  describe("the find", function()
    local core = internals.core

    it("lists with the create's scope and names the peering by the match and the scope", function()
      local scope, key = core.find_args("huawei", "", { project_id = "p1", cluster_id = "c1", name = "n",
                                                         vpc_id = "v", region = "r" })
      assert.same({ project_id = "p1", cluster_id = "c1" }, scope)
      assert.same({ "n", "v", "p1", "c1" }, key)
      -- the scope v1 Instaclustr lists with is a match argument already: named once
      scope, key = core.find_args("instaclustr", "v1", { cluster_data_centre_id = CDC, peer_vpc_id = "vpc-1",
                                                          peer_account_id = "123456789012" })
      assert.same({ cluster_data_centre_id = CDC }, scope)
      assert.same({ "vpc-1", "123456789012", CDC }, key)
      -- Aiven's region is not compared when not asked for: not in the key
      scope, key = core.find_args("aiven", "", { project = "pr", project_vpc_id = AIVEN_VPC, peer_region = "x",
                                                 peer_cloud_account = "123456789012", peer_vpc = "vpc-1" })
      assert.same({ project = "pr", project_vpc_id = AIVEN_VPC }, scope)
      assert.same({ "123456789012", "vpc-1", "pr", AIVEN_VPC }, key)
      -- UpCloud's networks either way; an argument not given is ""
      assert.same({ NET_A, "" }, select(2, core.find_args("upcloud", "", { network = { uuid = NET_A } })))
      assert.is_nil(core.find_args("aws", "", {})) -- AWS creates no peering
    end)

    it("refuses a found peering that differs in a field it cannot change", function()
      local c = core.conflict
      assert.equal("its CIDR block is 10.0.0.0/16, not 10.9.0.0/16",
        c("aerospike", "", { cidrBlock = "10.0.0.0/16" }, { cidr_block = "10.9.0.0/16" }))
      assert.is_nil(c("aerospike", "", { cidrBlock = "10.0.0.0/16" }, { cidr_block = "10.0.0.0/16" }))
      assert.is_nil(c("aerospike", "", {}, { cidr_block = "10.0.0.0/16" })) -- the peering does not say
      -- subnets are a set: in any order, as a list, {cidrs = list} or one string
      local want = { peer_subnets = { "10.2.0.0/16", "10.1.0.0/16" } }
      assert.is_nil(c("instaclustr", "v1", { peerSubnets = { "10.1.0.0/16", "10.2.0.0/16" } }, want))
      assert.is_nil(c("instaclustr", "v1", { peerSubnets = { cidrs = { "10.1.0.0/16", "10.2.0.0/16" } } }, want))
      assert.equal("its peer subnets are 10.1.0.0/16, not 10.1.0.0/16,10.2.0.0/16",
        c("instaclustr", "v2", { peerSubnets = { cidrs = { "10.1.0.0/16" } } }, want))
      assert.equal("its peer subnets are 10.3.0.0/16, not 10.1.0.0/16",
        c("instaclustr", "v1", { peerSubnet = "10.3.0.0/16" }, { peer_subnet = "10.1.0.0/16" }))
      assert.equal("its region is us-eest-1, not us-east-1",
        c("aerospike", "", { region = "us-eest-1" }, { region = "us-east-1" }))
      assert.equal("its peer region is US_EAST_1, not US_WEST_2",
        c("instaclustr", "v1", { peerRegion = "US_EAST_1" }, { peer_region = "US_WEST_2" }))
      assert.is_nil(c("upcloud", "", { network = {} }, { network = NET_A })) -- nothing fixed
    end)

    it("finds an Aerospike peering again, and refuses one with another CIDR block", function()
      admin("POST", "reset")
      local as = assert(peerlua.aerospike({}))
      local args = { cluster_id = AS_CLUSTER, vpc_id = "vpc-0c1c2c3c", cidr_block = "172.20.0.0/16",
                     account_id = "123456789012", region = "us-east-1" }
      local p = assert(as:ensure_peering(args))
      local q, how = assert(as:ensure_peering(args))
      assert.same({ p.id, "existing" }, { q.id, how })
      args.cidr_block = "172.21.0.0/16"
      local r, err = as:ensure_peering(args)
      assert.is_nil(r)
      assert.equal("conflict", err.code)
      assert.matches("its CIDR block is 172.20.0.0/16, not 172.21.0.0/16; change or delete it first", err.message, 1, true)
      assert.equal(1, #statuses("POST", "/vpc%-peerings$"))
    end)
  end)

  -- Which lists come in pages, and how the next is asked for, is the
  -- provider table's (pl_pages).
  it("asks for the page after each page by the table's paging", function()
    local next_page = internals.core.next_page
    local items = function(n) local t = {} for i = 1, n do t[i] = {} end return t end
    local args = { cluster_id = AS_CLUSTER }
    local more = next_page("aerospike", "", "list_peerings", args,
      { count = 100, meta = { total = 250, limit = 100, offset = 100 }, vpcPeerings = items(100) })
    assert.same({ cluster_id = AS_CLUSTER, offset = "200" }, more)
    assert.is_nil(args.offset) -- a copy
    assert.is_nil(next_page("aerospike", "", "list_peerings", args, -- the last page
      { meta = { total = 250, offset = 200 }, vpcPeerings = items(50) }))
    assert.is_nil(next_page("aerospike", "", "list_peerings", args, { meta = { total = 250 }, vpcPeerings = {} }))
    assert.is_nil(next_page("aerospike", "", "list_peerings", args, { vpcPeerings = items(3) })) -- no total
    assert.is_nil(next_page("aerospike", "", "list_peerings", { cluster_id = AS_CLUSTER, offset = "0" },
      { meta = { total = 250, offset = 0 }, vpcPeerings = items(100) })) -- asked for one page
    -- Huawei: the next link's marker, percent-decoded; no next link, the last page
    local links = { { rel = "previous", href = "https://vpc/v2.0/vpc/peerings?marker=x" },
                    { rel = "next", href = "https://vpc/v2.0/vpc/peerings?limit=2&marker=a%2Fb%3D&x=1" } }
    assert.same({ limit = "2", marker = "a/b=" },
      next_page("huawei", "", "list_vpc_peerings", { limit = "2" }, { peerings = {}, peerings_links = links }))
    assert.is_nil(next_page("huawei", "", "list_vpc_peerings", {}, { peerings_links = { links[1] } }))
    assert.is_nil(next_page("huawei", "", "list_vpc_peerings", { marker = "m" }, { peerings_links = links }))
    assert.is_nil(next_page("huawei", "", "list_peerings", {}, { peerings_links = links })) -- CS: one page
    assert.is_nil(next_page("upcloud", "", "list_peerings", {}, { network_peerings = {} }))
  end)
end)
