-- The Aiven client against the emulator: project VPC peerings to UpCloud,
-- both sides, its errors, validation before any request, and a peering
-- that cannot work failing fast.
local peerlua = require("peerlua")
local testserver = require("testserver")
local http = peerlua.http

local VPC = "1c6a3d5e-7b9f-4e21-a8c4-5d6e7f809a1b"
local ACCOUNT = "0a5b2c1d-6e7f-4a8b-9c0d-1e2f3a4b5c61" -- the UpCloud sim-user
local NETWORK = "03126dc1-a69f-4bc2-8b24-e31c22d64712" -- sim-user's, with a router
local OTHERS = "03585987-bf7d-4544-8e9b-5a1b4d74a333" -- sim-peer's
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
    local p = assert(aiven:ensure_peering(args))
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

  it("fails fast when the peer network is not that account's", function()
    local p = assert(aiven:create_peering({ project_vpc_id = VPC, peer_cloud_account = ACCOUNT, peer_vpc = OTHERS }))
    local ok, err = p:wait("active", WAIT)
    assert.is_nil(ok)
    assert.equal("failed", err.code)
    assert.equal("INVALID_SPECIFICATION", p.status)
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
