-- The emulated Instaclustr API, driven directly (no HTTP), with a fake clock.
local sim = require("peerlua.sim")
local json = require("peerlua.json")
local credential = require("peerlua.sim.credential")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local CLUSTER = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"
local V1 = "/instaclustr/provisioning/v1"
local V2 = "/instaclustr/cluster-management/v2"

local b64 = credential.base64_encode

describe("emulated Instaclustr", function()
  local app, now
  local AUTH = "Basic " .. b64("sim-user:sim-instaclustr-api-key-0001")
  local OTHER = "Basic " .. b64("sim-other:sim-instaclustr-api-key-0002")

  local function call(method, path, body, auth, ctype)
    local headers = { authorization = auth == nil and AUTH or auth or nil }
    if body ~= nil then headers["content-type"] = ctype or "application/json" end
    local resp = app:handle({ method = method, path = path, query = {}, headers = headers,
                              body = type(body) == "table" and json.encode(body) or body or "" })
    return resp, resp.body ~= "" and json.decode(resp.body) or nil
  end

  local function create(extra)
    local body = { peerAccountId = "123456789012", peerVpcId = "vpc-0a1b2c3d", peerSubnets = { "10.1.0.0/16" },
                   peerRegion = "US_WEST_2" }
    for k, v in pairs(extra or {}) do body[k] = v end
    return call("POST", V1 .. "/vpc-peering/" .. CDC, body)
  end

  before_each(function()
    now = 1000
    app = sim.new({ clock = function() return now end, now = function() return now end, seed = 7 })
  end)

  it("decodes Basic credentials like the request log does", function()
    assert.equal("sim-user", credential.of({ authorization = AUTH }))
  end)

  it("refuses missing and wrong credentials with 401 in its error shape", function()
    local resp, body = call("GET", V1 .. "/vpc-peering/" .. CDC, nil, false)
    assert.equal(401, resp.status)
    assert.same({ 401, "Not Authorized" }, { body.status, body.message })
    resp = call("GET", V1 .. "/vpc-peering/" .. CDC, nil, "Basic " .. b64("sim-user:wrong"))
    assert.equal(401, resp.status)
  end)

  it("refuses another account's data centre with 403", function()
    assert.equal(403, call("GET", V1 .. "/vpc-peering/" .. CDC, nil, OTHER).status)
  end)

  it("creates with 202 and a bare id, then reads the peering with 202", function()
    local resp, id = create()
    assert.equal(202, resp.status)
    assert.is_string(id)
    local r2, p = call("GET", V1 .. "/vpc-peering/" .. CDC .. "/" .. id)
    assert.equal(202, r2.status)
    assert.equal("pending-acceptance", p.statusCode)
    assert.matches("^pcx%-%x+$", p.aws_vpc_connection_id)
    assert.same({ "10.1.0.0/16" }, p.peerSubnets)
    assert.equal("vpc-aa770abc", p.vpcId)
  end)

  it("names every bad field at once with 400", function()
    local resp, body = create({ peerAccountId = "12", peerVpcId = "vpc-xyz", peerSubnets = { "10.1.0.1/16" },
                                peerRegion = "us-west-2" })
    assert.equal(400, resp.status)
    assert.is_string(body.errorDetails.peerAccountId)
    assert.is_string(body.errorDetails.peerVpcId)
    assert.is_string(body.errorDetails["peerSubnets[1]"])
    assert.is_string(body.errorDetails.peerRegion)
  end)

  it("refuses peerSubnet together with peerSubnets", function()
    local resp, body = create({ peerSubnet = "10.2.0.0/16" })
    assert.equal(400, resp.status)
    assert.matches("together", body.errorDetails.peerSubnet)
  end)

  it("answers 422 when a peer subnet overlaps the data centre", function()
    assert.equal(422, create({ peerSubnets = { "10.224.128.0/17" } }).status)
  end)

  it("answers 415 to a body that is not JSON", function()
    assert.equal(415, call("POST", V1 .. "/vpc-peering/" .. CDC, "x=1", nil, "text/plain").status)
  end)

  it("moves through acceptance and provisioning with time", function()
    local _, id = create()
    local path = V1 .. "/vpc-peering/" .. CDC .. "/" .. id
    local hooks = app.providers.instaclustr
    assert.is_true(hooks.accept(id, true))
    assert.equal("provisioning", select(2, call("GET", path)).statusCode)
    now = now + 61
    assert.equal("active", select(2, call("GET", path)).statusCode)
    assert.is_nil((hooks.accept(id, true)))
  end)

  it("expires a request nobody accepts", function()
    local _, id = create()
    now = now + 7 * 24 * 3600 + 1
    assert.equal("expired", select(2, call("GET", V1 .. "/vpc-peering/" .. CDC .. "/" .. id)).statusCode)
  end)

  it("deletes: deleting, then deleted and gone from the list; a second delete is 404", function()
    local _, id = create()
    local path = V1 .. "/vpc-peering/" .. CDC .. "/" .. id
    assert.equal(202, call("DELETE", path).status)
    assert.equal("deleting", select(2, call("GET", path)).statusCode)
    assert.equal(1, #select(2, call("GET", V1 .. "/vpc-peering/" .. CDC)))
    now = now + 11
    assert.equal("deleted", select(2, call("GET", path)).statusCode)
    assert.equal(0, #select(2, call("GET", V1 .. "/vpc-peering/" .. CDC)))
    assert.equal(404, call("DELETE", path).status)
  end)

  it("keeps firewall rules: 202, then 409 for the same rule, status over time, delete", function()
    local path = V1 .. "/" .. CLUSTER .. "/firewallRules/"
    local rule = { network = "10.1.0.0/16", rules = { { type = "CASSANDRA" } } }
    assert.equal(202, call("POST", path, rule).status)
    assert.equal(409, call("POST", path, rule).status)
    local _, list = call("GET", path)
    assert.same({ network = "10.1.0.0/16", rules = { { type = "CASSANDRA", status = "PROVISIONING" } } }, list[1])
    now = now + 6
    assert.equal("PROVISIONED", select(2, call("GET", path))[1].rules[1].status)
    assert.equal(400, call("POST", path, { network = "10.1.0.0/16", rules = { { type = "NOPE" } } }).status)
    assert.equal(202, call("DELETE", path, rule).status)
    assert.equal(404, call("DELETE", path, rule).status)
    assert.equal(0, #select(2, call("GET", path)))
  end)

  it("adds the peer network to the firewall when asked", function()
    create({ addNetworkToFirewallRules = true })
    local _, list = call("GET", V1 .. "/" .. CLUSTER .. "/firewallRules")
    assert.equal("10.1.0.0/16", list[1].network)
  end)

  it("serves the v2 VPC peers: create 202, get, list without statusCode, delete 204", function()
    local resp, p = call("POST", V2 .. "/resources/providers/aws/vpc-peers/v2", {
      cdcId = CDC, peerAwsAccountId = "123456789012", peerVpcId = "vpc-0a1b2c3d", peerRegion = "US_WEST_2",
      peerSubnets = { "10.1.0.0/16" } })
    assert.equal(202, resp.status)
    assert.equal("pending-acceptance", p.statusCode)
    local path = V2 .. "/resources/providers/aws/vpc-peers/v2/" .. p.id
    assert.equal(200, call("GET", path).status)
    local _, list = call("GET", V2 .. "/data-sources/providers/aws/vpc-peers/v2")
    assert.equal(p.id, list[1].peeringRequests[1].id)
    assert.is_nil(list[1].peeringRequests[1].statusCode)
    assert.equal(204, call("DELETE", path).status)
    local r404, body = call("GET", V2 .. "/resources/providers/aws/vpc-peers/v2/" .. CDC)
    assert.equal(404, r404.status)
    assert.is_string(body.errors[1].message)
  end)

  it("serves the v2 network firewall rules with 409 for a duplicate", function()
    local rule = { clusterId = CLUSTER, network = "10.1.0.0/16", type = "CASSANDRA" }
    local resp, r = call("POST", V2 .. "/resources/network-firewall-rules/v2", rule)
    assert.equal(202, resp.status)
    local dup, body = call("POST", V2 .. "/resources/network-firewall-rules/v2", rule)
    assert.equal(409, dup.status)
    assert.matches("already exists", body.message)
    local _, list = call("GET", V2 .. "/data-sources/cluster/" .. CLUSTER .. "/network-firewall-rules/v2")
    assert.equal(r.id, list[1].firewallRules[1].id)
    assert.equal(204, call("DELETE", V2 .. "/resources/network-firewall-rules/v2/" .. r.id).status)
  end)

  it("answers unknown paths in its own error shape", function()
    local resp, body = call("GET", V1 .. "/nothing/here/at/all")
    assert.equal(404, resp.status)
    assert.equal(404, body.status)
  end)

  it("lets /_sim/ accept and force states", function()
    local _, id = create()
    local r = app:handle({ method = "POST", path = "/_sim/peer-accept", query = {}, headers = {},
                           body = json.encode({ provider = "instaclustr", id = id }) })
    assert.equal(200, r.status)
    r = app:handle({ method = "POST", path = "/_sim/state", query = {}, headers = {},
                     body = json.encode({ provider = "instaclustr", id = id, state = "failed" }) })
    assert.equal(200, r.status)
    assert.equal("failed", select(2, call("GET", V1 .. "/vpc-peering/" .. CDC .. "/" .. id)).statusCode)
    r = app:handle({ method = "POST", path = "/_sim/peer-accept", query = {}, headers = {},
                     body = json.encode({ provider = "nope", id = id }) })
    assert.equal(404, r.status)
  end)
end)
