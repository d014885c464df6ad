-- The emulated UpCloud API, driven directly (no HTTP), with a fake clock.
local sim = require("peerlua.sim")
local json = require("peerlua.json")
local credential = require("peerlua.sim.credential")

local NET_A = "03126dc1-a69f-4bc2-8b24-e31c22d64712"  -- sim-user, router
local NET_B = "03585987-bf7d-4544-8e9b-5a1b4d74a333"  -- sim-peer, router
local NET_NO_ROUTER = "0370a4c2-1f0e-4c55-8a4b-2d6e9c1b7a10" -- sim-user
local P = "/upcloud/1.3/network-peering"

describe("emulated UpCloud", function()
  local app, now
  local USER = "Basic " .. credential.base64_encode("sim-user:sim-upcloud-password-1")
  local PEER = "Bearer ucat_sim0000000000000000000002"

  local function call(method, path, body, auth, query)
    local headers = { authorization = auth == nil and USER or auth or nil }
    if body ~= nil then headers["content-type"] = "application/json" end
    local resp = app:handle({ method = method, path = path, query = query or {}, headers = headers,
                              body = body and json.encode(body) or "" })
    return resp, resp.body ~= "" and json.decode(resp.body) or nil
  end

  local function create(net, peer, auth, extra)
    local np = { name = "p", network = { uuid = net }, peer_network = { uuid = peer } }
    for k, v in pairs(extra or {}) do np[k] = v end
    return call("POST", P, { network_peering = np }, auth)
  end

  before_each(function()
    now = 0
    app = sim.new({ clock = function() return now end, now = function() return now end })
  end)

  it("lists networks at /network/?zone= as the SDKs send it, filtered by zone", function()
    local function uuids(body)
      local out = {}
      for _, n in ipairs(body.networks.network) do out[#out + 1] = n.uuid end
      table.sort(out)
      return table.concat(out, " ")
    end
    local all, mine = call("GET", "/upcloud/1.3/network")
    assert.equal(200, all.status)
    assert.equal(NET_A .. " " .. NET_NO_ROUTER, uuids(mine))
    local slash, same = call("GET", "/upcloud/1.3/network/")
    assert.equal(200, slash.status)
    assert.equal(uuids(mine), uuids(same))
    local z, hel = call("GET", "/upcloud/1.3/network/", nil, nil, { zone = "fi-hel1" })
    assert.equal(200, z.status)
    assert.equal(NET_A, uuids(hel))
    local _, none = call("GET", "/upcloud/1.3/network/", nil, nil, { zone = "de-fra1" }) -- sim-peer's zone
    assert.equal("", uuids(none))
  end)

  it("refuses bad credentials with 401 AUTHENTICATION_FAILED", function()
    local resp, body = call("GET", P, nil, "Bearer ucat_wrong")
    assert.equal(401, resp.status)
    assert.equal("AUTHENTICATION_FAILED", body.error.error_code)
  end)

  it("creates with 201 in the documented shape, pending-peer until the reverse exists", function()
    local resp, body = create(NET_A, NET_B)
    assert.equal(201, resp.status)
    local p = body.network_peering
    assert.equal("pending-peer", p.state)
    assert.equal("active", p.configured_status)
    assert.equal("192.168.0.0/24", p.network.ip_networks.ip_network[1].address)
    local _, rev = create(NET_B, NET_A, PEER)
    assert.equal("provisioning", rev.network_peering.state)
    now = now + 21
    local _, got = call("GET", P .. "/" .. p.uuid)
    assert.equal("active", got.network_peering.state)
  end)

  it("answers the documented create errors", function()
    assert.equal("NETWORK_NOT_FOUND", select(2, create(NET_B, NET_A)).error.error_code) -- not ours
    assert.equal("PEER_NETWORK_NOT_FOUND",
      select(2, create(NET_A, "03aaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")).error.error_code)
    local resp, body = create(NET_NO_ROUTER, NET_B)
    assert.equal(409, resp.status)
    assert.equal("LOCAL_NETWORK_NO_ROUTER", body.error.error_code)
    create(NET_A, NET_B)
    resp, body = create(NET_A, NET_B)
    assert.equal(409, resp.status)
    assert.equal("PEERING_CONFLICT", body.error.error_code)
    assert.equal(400, create(NET_A, NET_B, nil, { configured_status = "up" }).status)
    assert.equal(400, create(NET_A, "nope").status)
    -- the name's 1 to 255 are characters (seed 003), not bytes
    assert.equal("NAME_INVALID", select(2, create(NET_A, NET_B, nil, { name = string.rep("\u{e9}", 256) })).error.error_code)
    assert.equal("NAME_INVALID", select(2, create(NET_A, NET_B, nil, { name = "" })).error.error_code)
    assert.equal(201, create(NET_B, NET_A, PEER, { name = string.rep("\u{e9}", 255) }).status)
  end)

  it("shows a peering only to its owner and filters the list by label", function()
    local _, body = create(NET_A, NET_B, nil, { labels = { { key = "env", value = "prod" } } })
    local id = body.network_peering.uuid
    assert.equal(404, call("GET", P .. "/" .. id, nil, PEER).status)
    local _, list = call("GET", P, nil, nil, { label = "env=prod" })
    assert.equal(1, #list.network_peerings.network_peering)
    _, list = call("GET", P, nil, nil, { label = { "env=dev" } })
    assert.equal(0, #list.network_peerings.network_peering)
    _, list = call("GET", P, nil, nil, { label = "env" })
    assert.equal(1, #list.network_peerings.network_peering)
  end)

  it("deletes only a disabled peering", function()
    local _, body = create(NET_A, NET_B)
    local path = P .. "/" .. body.network_peering.uuid
    local resp, err = call("DELETE", path)
    assert.equal(409, resp.status)
    assert.equal("PEERING_NOT_DISABLED", err.error.error_code)
    resp = call("PATCH", path, { network_peering = { configured_status = "disabled" } })
    assert.equal(202, resp.status)
    now = now + 6
    assert.equal("disabled", select(2, call("GET", path)).network_peering.state)
    assert.equal(204, call("DELETE", path).status)
    assert.equal(404, call("GET", path).status)
  end)

  it("reports peer-disabled and lets /_sim/state force a state", function()
    local _, a = create(NET_A, NET_B)
    local _, b = create(NET_B, NET_A, PEER)
    call("PATCH", P .. "/" .. b.network_peering.uuid, { network_peering = { configured_status = "disabled" } }, PEER)
    assert.equal("peer-disabled", select(2, call("GET", P .. "/" .. a.network_peering.uuid)).network_peering.state)
    assert.is_true(app.providers.upcloud.set_state(a.network_peering.uuid, "error"))
    assert.equal("error", select(2, call("GET", P .. "/" .. a.network_peering.uuid)).network_peering.state)
    assert.is_nil((app.providers.upcloud.accept(a.network_peering.uuid, true)))
  end)
end)
