-- Against the published specs: every answer the emulator gives the Aerospike
-- and Instaclustr v2 clients (errors included) conforms to the response
-- schema of its operation and status, and every body the clients send to
-- the request schema (shared/reference/*.yaml, read from ../shared beside
-- the repository). A checker that finds nothing is no check: it is shown
-- to catch a dropped required field in each direction. An error status an
-- operation does not list (Aerospike's create answers a duplicate 409,
-- which its spec does not document) is held to the operation's error shape.
local peerlua = require("peerlua")
local json = require("peerlua.json")
local openapi = require("openapi")
local testserver = require("testserver")
local internals = require("internals")
local http = peerlua.http
local http_send = require("internals").core.http_send -- a client's own transfer (engine, signing key)

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local REFERENCE = here .. "/../../../shared/reference/"

local AS_CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local IC_CLUSTER = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"
local MISSING = "00000000-0000-4000-8000-000000000000"

describe("the emulator and the clients against the published OpenAPI specs", function()
  local server, exchanges, real_request

  setup(function()
    server = testserver.start("--time-scale 600")
    peerlua.set_sim({ url = server.url })
    real_request = http.request
    -- every exchange of a client, as it went: method, URL, the body sent, the answer
    internals.transport(function(opts)
      -- a client's own attempt (its credential header in auth, a sealed token request) goes as the client sends it
      local resp, err = ((opts.auth or opts.sealed_body) and http_send or real_request)(opts)
      exchanges[#exchanges + 1] = { method = opts.method or "GET", url = opts.url, sent = opts.body,
                                    status = resp and resp.status, body = resp and resp.body }
      return resp, err
    end)
  end)
  teardown(function()
    internals.transport(nil)
    peerlua.set_sim(nil)
    server:stop()
  end)
  before_each(function()
    exchanges = {}
    assert(real_request({ method = "POST", url = server.url .. "/_sim/reset" }))
  end)

  -- Check every exchange under prefix against spec; returns how many were
  -- checked, by "METHOD template status".
  local function check_all(spec, prefix)
    local seen, problems = {}, {}
    for _, e in ipairs(exchanges) do
      local path = e.url:sub(#server.url + 1)
      if path:sub(1, #prefix) == prefix then
        path = path:sub(#prefix + 1)
        local op, template = spec:operation(e.method, path)
        assert(op, ("%s %s is not an operation of %s"):format(e.method, path, spec.path))
        local label = ("%s %s %s"):format(e.method, template, e.status)
        seen[label] = true
        local body = e.body ~= "" and assert(json.decode(e.body)) or nil
        for _, p in ipairs(spec:check_response(op, e.status, body)) do problems[#problems + 1] = label .. ": " .. p end
        if e.sent then
          for _, p in ipairs(spec:check_request(op, assert(json.decode(e.sent)))) do
            problems[#problems + 1] = label .. " (sent): " .. p
          end
        end
      end
    end
    assert.same({}, problems)
    return seen
  end

  describe("Aerospike Cloud", function()
    local spec = openapi.load(REFERENCE .. "aerospike_cloud_public_api_v1_openapi.yaml")
    local args = { cluster_id = AS_CLUSTER, vpc_id = "vpc-0a0b0c0d", cidr_block = "172.31.0.0/16",
                   account_id = "123456789012", region = "us-east-1" }

    it("answers and is asked as the spec says, errors included", function()
      local as = assert(peerlua.aerospike({}))
      local p = assert(as:create_peering(args))
      assert(as:list_peerings({ cluster_id = AS_CLUSTER }))
      local dup, err = as:create_peering(args)
      assert.is_nil(dup)
      assert.equal("conflict", err.code)
      assert(as:delete_peering({ cluster_id = AS_CLUSTER, peering_id = p.id }))
      assert(as:delete_peering({ cluster_id = AS_CLUSTER, peering_id = MISSING })) -- 404: nothing to delete
      local seen = check_all(spec, "/aerospike/v1")
      for _, want in ipairs({
        "POST /database/clusters/{clusterId}/vpc-peerings 201", "POST /database/clusters/{clusterId}/vpc-peerings 409",
        "GET /database/clusters/{clusterId}/vpc-peerings 200",
        "DELETE /database/clusters/{clusterId}/vpc-peerings/{peeringId} 204",
        "DELETE /database/clusters/{clusterId}/vpc-peerings/{peeringId} 404",
      }) do
        assert.is_true(seen[want] or false, want .. " was not exercised")
      end
    end)

    it("lists a page of the most the spec allows (LimitParam, 100) unless told, and takes a limit given", function()
      local as = assert(peerlua.aerospike({}))
      assert(as:list_peerings({ cluster_id = AS_CLUSTER }))
      assert(as:list_peerings({ cluster_id = AS_CLUSTER, limit = "5" }))
      local urls = {}
      for _, e in ipairs(exchanges) do
        if e.url:find("/vpc-peerings", 1, true) then urls[#urls + 1] = e.url:match("%?(.*)$") end
      end
      assert.same({ "limit=100", "limit=5" }, urls)
    end)

    it("would catch a required field dropped from a create, either way", function()
      local as = assert(peerlua.aerospike({}))
      assert(as:create_peering(args))
      local e = exchanges[#exchanges]
      local op = assert(spec:operation("POST", "/database/clusters/" .. AS_CLUSTER .. "/vpc-peerings"))
      local sent = assert(json.decode(e.sent))
      sent.isSecureConnection = nil
      assert.same({ "request.isSecureConnection: required, missing" }, spec:check_request(op, sent))
      local body = assert(json.decode(e.body))
      body.id = nil
      assert.same({ "response.id: required, missing" }, spec:check_response(op, 201, body))
    end)
  end)

  describe("Instaclustr v2", function()
    local spec = openapi.load(REFERENCE .. "instaclustr_api_v2_openapi.yaml")
    local args = { cdc_id = CDC, peer_aws_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d",
                   peer_subnets = { "10.1.0.0/16" }, peer_region = "US_WEST_2" }

    it("answers and is asked as the spec says, errors included", function()
      local ic = assert(peerlua.instaclustr({ api = "v2" }))
      local p = assert(ic:create_peering(args))
      assert(ic:get_peering({ vpc_peer_id = p.id }))
      assert(ic:list_peerings({}))
      assert.is_nil(ic:get_peering({ vpc_peer_id = MISSING }))
      local rule = assert(ic:add_firewall_rule({ cluster_id = IC_CLUSTER, network = "10.1.0.0/16", type = "CASSANDRA" }))
      assert(ic:list_firewall_rules({ cluster_id = IC_CLUSTER }))
      assert(ic:get_firewall_rule({ firewall_rule_id = rule.id }))
      assert(ic:delete_firewall_rule({ firewall_rule_id = rule.id }))
      assert(ic:delete_peering({ vpc_peer_id = p.id }))
      local seen = check_all(spec, "/instaclustr")
      for _, want in ipairs({
        "POST /cluster-management/v2/resources/providers/aws/vpc-peers/v2 202",
        "GET /cluster-management/v2/resources/providers/aws/vpc-peers/v2/{vpcPeerId} 200",
        "GET /cluster-management/v2/resources/providers/aws/vpc-peers/v2/{vpcPeerId} 404",
        "GET /cluster-management/v2/data-sources/providers/aws/vpc-peers/v2 200",
        "POST /cluster-management/v2/resources/network-firewall-rules/v2 202",
        "GET /cluster-management/v2/data-sources/cluster/{clusterId}/network-firewall-rules/v2 200",
        "DELETE /cluster-management/v2/resources/providers/aws/vpc-peers/v2/{vpcPeerId} 204",
      }) do
        assert.is_true(seen[want] or false, want .. " was not exercised")
      end
    end)

    it("would catch a required field dropped from a create, either way", function()
      local ic = assert(peerlua.instaclustr({ api = "v2" }))
      assert(ic:create_peering(args))
      local e = exchanges[#exchanges]
      local op = assert(spec:operation("POST", "/cluster-management/v2/resources/providers/aws/vpc-peers/v2"))
      local sent = assert(json.decode(e.sent))
      sent.peerRegion = nil
      assert.same({ "request.peerRegion: required, missing" }, spec:check_request(op, sent))
      local body = assert(json.decode(e.body))
      body.peerSubnets = nil
      assert.same({ "response.peerSubnets: required, missing" }, spec:check_response(op, 202, body))
    end)
  end)
end)
