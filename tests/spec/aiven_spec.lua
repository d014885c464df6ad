-- The Aiven client against the emulator: project VPC peerings to UpCloud,
-- both sides, its errors, validation before any request, and a peering
-- that cannot work failing fast.
local peerlua = require("peerlua")
local testserver = require("testserver")
local internals = require("internals")
local http = peerlua.http

local VPC = "1c6a3d5e-7b9f-4e21-a8c4-5d6e7f809a1b"
local ACCOUNT = "upcloud" -- aiven/go-client-codegen handler/vpc/vpc.go: UpCloud peerings name "upcloud"
local USER = "0a5b2c1d-6e7f-4a8b-9c0d-1e2f3a4b5c61" -- the UpCloud sim-user's account
local NETWORK = "03126dc1-a69f-4bc2-8b24-e31c22d64712" -- sim-user's, with a router
local NOWHERE = "0fffffff-ffff-4fff-8fff-ffffffffffff" -- no such network
local WAIT = { timeout = 30, interval = 0.2 }

describe("aiven", function()
  local server, aiven

  local function requests()
    local resp = assert(http.request({ url = server.url .. "/_sim/requests?provider=aiven" }))
    return resp:json()
  end

  setup(function()
    server = testserver.start("--time-scale 60")
    peerlua.set_sim({ url = server.url })
  end)

  teardown(function()
    peerlua.set_sim(nil)
    if server then server:stop() end
  end)

  before_each(function()
    assert(http.request({ method = "POST", url = server.url .. "/_sim/reset" }))
    aiven = assert(peerlua.aiven({ project = "sim-project" }))
  end)

  it("peers a project VPC with an UpCloud network, both sides, once", function()
    local args = { project_vpc_id = VPC, peer_cloud_account = ACCOUNT, peer_vpc = NETWORK }
    local p, made = assert(aiven:ensure_peering(args))
    assert.equal("created", made)
    assert.equal(ACCOUNT .. "/" .. NETWORK, p.id)
    assert.equal("APPROVED", p.status)
    assert.equal("pending", p.state)
    local again, how = aiven:ensure_peering(args)
    assert.equal("existing", how)
    assert.equal(p.id, again.id)
    local dup, derr = aiven:create_peering(args)
    assert.is_nil(dup)
    assert.equal("conflict", derr.code)
    assert.matches("already exists", derr.message)
    assert(p:wait("pending_acceptance", WAIT))
    local to = p.raw.state_info.to_network_id
    assert.is_string(to)
    local up = assert(peerlua.upcloud({}))
    local ours = assert(up:ensure_peering({ name = "to Aiven", network = NETWORK, peer_network = to }))
    assert(ours:wait("active", WAIT))
    assert(p:wait("active", WAIT))
    assert.equal("ACTIVE", p.status)
    assert.equal(1, #assert(aiven:list_peerings({ project_vpc_id = VPC })))
  end)

  it("deletes a peering and sees it gone", function()
    local p = assert(aiven:create_peering({ project_vpc_id = VPC, peer_cloud_account = ACCOUNT, peer_vpc = NETWORK }))
    assert.is_true(assert(p:delete()))
    assert(p:wait_deleted(WAIT))
    assert.equal(0, #assert(aiven:list_peerings({ project_vpc_id = VPC })))
    assert.is_true((p:delete())) -- gone already: done
  end)

  it("fails fast when the peer network does not exist", function()
    local p = assert(aiven:create_peering({ project_vpc_id = VPC, peer_cloud_account = ACCOUNT, peer_vpc = NOWHERE }))
    local ok, err = p:wait("active", WAIT)
    assert.is_nil(ok)
    assert.equal("failed", err.code)
    assert.equal("INVALID_SPECIFICATION", p.status)
    -- Aiven's state_info.message says why (providers.md 5.3)
    assert.matches("not active: " .. p.raw.state_info.message:gsub("%p", "%%%0"), err.message)
  end)

  it("refuses bad arguments before any request, naming each field", function()
    local p, err = aiven:create_peering({ project_vpc_id = "vpc-1", peer_cloud_account = "", peer_vpc = NETWORK,
                                          user_peer_network_cidrs = { "10.0.0.1/8" } })
    assert.is_nil(p)
    assert.equal("invalid", err.code)
    local fields = {}
    for _, d in ipairs(err.details) do fields[d.field] = d.rule end
    assert.is_string(fields.project_vpc_id)
    assert.is_string(fields.peer_cloud_account)
    assert.is_string(fields["user_peer_network_cidrs[1]"])
    assert.equal(0, #requests())
  end)

  it("refuses the UpCloud account's UUID, a network that is no UUID and a region for UpCloud", function()
    local function rule(args, field)
      args.project_vpc_id = VPC
      local p, err = aiven:create_peering(args)
      assert.is_nil(p)
      assert.equal("invalid", err.code)
      for _, d in ipairs(err.details) do if d.field == field then return d.rule end end
      error("no " .. field .. " in " .. err.message)
    end
    assert.matches('"upcloud"', rule({ peer_cloud_account = USER, peer_vpc = NETWORK }, "peer_cloud_account"))
    assert.matches("UUID", rule({ peer_cloud_account = "upcloud", peer_vpc = "my-net" }, "peer_vpc"))
    assert.matches("none", rule({ peer_cloud_account = "upcloud", peer_vpc = NETWORK, peer_region = "fi-hel1" },
                                "peer_region"))
    assert.equal(0, #requests())
  end)

  it("answers in Aiven's published shapes, with the endpoints avn uses", function()
    local p = assert(aiven:create_peering({ project_vpc_id = VPC, peer_cloud_account = ACCOUNT, peer_vpc = NETWORK }))
    local raw = p.raw
    -- PeeringConnectionOut (go-client-codegen handler/vpc/vpc.go): every field, absent ones null
    for _, k in ipairs({ "create_time", "update_time", "peer_azure_app_id", "peer_azure_tenant_id",
                         "peer_cloud_account", "peer_region", "peer_resource_group", "peer_vpc", "state",
                         "state_info", "user_peer_network_cidrs", "vpc_peering_connection_type" }) do
      assert.is_not_nil(raw[k], k)
    end
    assert.equal(peerlua.json.null, raw.peer_region)
    assert.equal("upcloud-vpc-peering", raw.vpc_peering_connection_type)
    assert.is_string(raw.state_info.type)
    local token = peerlua.sim.fixture.aiven.accounts[1].token
    local function call(method, path, body)
      local resp = assert(http.request({ method = method, url = server.url .. "/aiven/v1/project/sim-project" .. path,
                                         headers = { Authorization = "aivenv1 " .. token }, json = body }))
      return resp.status, resp:json()
    end
    local status, list = call("GET", "/vpcs")
    assert.equal(200, status)
    assert.is_string(list.vpcs[1].create_time) -- VpcOut
    assert.is_string(list.vpcs[1].update_time)
    status = call("POST", "/vpcs/" .. VPC .. "/peering-connections/refresh")
    assert.equal(200, status)
    local vpc
    status, vpc = call("PUT", "/vpcs/" .. VPC .. "/user-peer-network-cidrs",
      { add = { { cidr = "10.20.0.0/24", peer_cloud_account = ACCOUNT, peer_vpc = NETWORK } } })
    assert.equal(200, status)
    assert.same({ "10.20.0.0/24" }, vpc.peering_connections[1].user_peer_network_cidrs)
    status = call("DELETE", "/vpcs/" .. VPC .. "/peering-connections/peer-accounts/upcloud/peer-vpcs/" .. NETWORK
      .. "/peer-regions/elsewhere")
    assert.equal(404, status) -- not a peering with that region
    status = call("DELETE", "/vpcs/" .. VPC .. "/peering-connections/peer-accounts/upcloud/peer-vpcs/" .. NETWORK)
    assert.equal(200, status)
  end)

  it("meets Aiven's limit of 120 requests a minute with its message, and waits as it says", function()
    local token = peerlua.sim.fixture.aiven.accounts[1].token
    local last
    for _ = 1, 121 do
      last = assert(http.request({ url = server.url .. "/aiven/v1/project/sim-project/vpcs",
                                   headers = { Authorization = "aivenv1 " .. token } }))
    end
    assert.equal(429, last.status)
    assert.is_nil(last.headers["retry-after"])
    local wait = tonumber(last.body:match("Rate limit 120 exceeded %- try again in (%d+)s"))
    assert.is_true(wait ~= nil and wait >= 1 and wait <= 60, last.body)
    -- the client reads the wait from that message (the provider table's
    -- retry_in), here 2 s, where its own backoff would wait 0.02 s and a 429
    -- without a wait said 1 s
    local body, sent = last.body:gsub("in %d+s", "in 2s"), 0
    local c = assert(peerlua.aiven({ base_url = "http://127.0.0.1:9", token = "t", project = "sim-project",
                                     retries = { attempts = 3, base = 0.02, cap = 0.02 } }))
    internals.transport(function()
      sent = sent + 1
      local r = sent == 1 and { status = 429, headers = {}, body = body }
        or { status = 200, headers = { ["content-type"] = "application/json" }, body = '{"peering_connections":[]}' }
      r.json = function(self) return peerlua.json.decode(self.body) end
      return r
    end)
    local t0 = peerlua.now()
    local ok, list, err = pcall(c.list_peerings, c, { project_vpc_id = VPC })
    internals.transport(nil)
    assert(ok, list)
    assert.same({}, list, err)
    assert.equal(2, sent)
    assert.is_true(peerlua.now() - t0 >= 1.9, "waited " .. peerlua.now() - t0 .. " s, not the 2 s asked")
  end)

  it("reports the provider's errors: bad token, a project not ours, a VPC that is not there", function()
    local bad = assert(peerlua.aiven({ token = "wrong-aiven-token-000000001", project = "sim-project" }))
    local r, err = bad:list_peerings({ project_vpc_id = VPC })
    assert.is_nil(r)
    assert.equal("auth", err.code)
    assert.equal(401, err.http_status)
    assert.is_nil(tostring(err):find("wrong-aiven-token", 1, true))
    r, err = aiven:list_peerings({ project = "sim-other", project_vpc_id = VPC })
    assert.is_nil(r)
    assert.equal("forbidden", err.code)
    r, err = aiven:list_peerings({ project_vpc_id = "00000000-0000-4000-8000-000000000000" })
    assert.is_nil(r)
    assert.equal("not_found", err.code)
    assert.matches("Project VPC does not exist", err.message)
  end)

  it("says where a token can come from when there is none", function()
    peerlua.set_sim(nil)
    local c, err = peerlua.aiven({ profile = "no-such-profile-here" })
    peerlua.set_sim({ url = server.url })
    if os.getenv("AIVEN_TOKEN") or os.getenv("AIVEN_AUTH_TOKEN") then return end -- the runner's own
    assert.is_nil(c)
    assert.equal("auth", err.code)
    assert.matches("AIVEN_TOKEN", err.message)
  end)
end)
