-- peerlua.sim.instaclustr: the emulated Instaclustr provisioning API,
-- mounted at /instaclustr (shared/seeds 000, shared/providers.md 1.1-1.4).
--
-- Auth: HTTP Basic, user name and provisioning API key of a fixture
-- account; none or wrong: 401. A data centre or cluster of another account:
-- 403. Request bodies must be application/json (else 415).
--
-- v1 (the seed):
--   GET    /provisioning/v1/vpc-peering/{cdcId}          202 [peering...]
--   POST   /provisioning/v1/vpc-peering/{cdcId}          202 "new id" (a JSON string)
--   GET    /provisioning/v1/vpc-peering/{cdcId}/{id}     202 peering
--   PUT    /provisioning/v1/vpc-peering/{cdcId}/{id}     202 peering (peerSubnets only, else 415)
--   DELETE /provisioning/v1/vpc-peering/{cdcId}/{id}     202
--   GET|POST|PUT|DELETE /provisioning/v1/{clusterId}/firewallRules[/]
--     rules {network | securityGroupId, rules = [{type, status}]}; POST of
--     rules that all exist: 409; DELETE takes the rules to remove as body.
--   Errors: {status, message, errorDetails, code, link}; 400 names each bad
--   field in errorDetails; 422 when a peer subnet overlaps the data centre.
-- v2 (providers.md 1.4), under /cluster-management/v2/:
--   POST resources/providers/aws/vpc-peers/v2 (202), GET|PUT (202)|DELETE
--   (204) .../{vpcPeerId}, GET data-sources/providers/aws/vpc-peers/v2
--   ([{accountId, peeringRequests = [summary without statusCode]}]);
--   POST resources/network-firewall-rules/v2 (202; 409 when it exists),
--   GET|DELETE (204) .../{firewallRuleId}, GET
--   data-sources/cluster/{clusterId}/network-firewall-rules/v2.
--   Errors: {errors = [{name, message}]} (409: {name, message}).
--
-- Peering lifecycle (statusCode, AWS words): pending-acceptance until the
-- AWS side accepts (POST /_sim/peer-accept, hooks.accept) or rejects it, or
-- it expires after durations.acceptance_expiry; then provisioning for
-- durations.provisioning, then active. DELETE: deleting for
-- durations.deleting, then deleted (still readable, no longer listed).
-- addNetworkToFirewallRules adds a rule per peer subnet for the cluster's
-- firewall_types. Rules are PROVISIONING for durations.firewall, then
-- PROVISIONED. The pcx- of each peering is listed by the emulated AWS
-- (hooks.pcx, peerlua.sim.aws), whose AcceptVpcPeeringConnection calls
-- hooks.accept. Fixture: instaclustr.accounts {username, api_key},
-- clusters {id, owner, firewall_types, data_centres {id, network, vpc_id,
-- region, aws_account_id ...}}, durations, rate_limit.
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")
local check = require("peerlua.sim.check")
local lifecycle = require("peerlua.sim.lifecycle")

local M = {}

-- Firewall rule types: the union of FirewallRuleTypesV2 in the v2 OpenAPI
-- spec (shared/reference/instaclustr_api_v2_openapi.yaml: 37 values) and
-- the allowed `type` values in instaclustr/terraform-provider-instaclustr
-- docs/resources/cluster_network_firewall_rule_v2.md (adds CADENCE_HTTP_API,
-- CLICKHOUSE, CLICKHOUSE_WEB; lacks MONGODB and the COUCHBASE ones).
local RULE_TYPES = {}
for t in ([[APACHE_ZOOKEEPER CADENCE CADENCE_GRPC CADENCE_HTTP_API CADENCE_WEB CASSANDRA CASSANDRA_CQL CLICKHOUSE
  CLICKHOUSE_WEB COUCHBASE COUCHBASE_MEMCACHED_SSL DEBEZIUM_CONNECTOR_CASSANDRA_KAFKA
  DEBEZIUM_CONNECTOR_CASSANDRA_SCHEMA ELASTICSEARCH KAFKA KAFKA_CONNECT KAFKA_ENCRYPTION KAFKA_MTLS
  KAFKA_NO_ENCRYPTION KAFKA_PRIVATE_PLAINTEXT_LISTENER KAFKA_PRIVATE_SASL_PLAINTEXT_LISTENER
  KAFKA_PRIVATE_SSL_LISTENER KAFKA_PUBLIC_PLAINTEXT_LISTENER KAFKA_PUBLIC_SASL_PLAINTEXT_LISTENER
  KAFKA_PUBLIC_SSL_LISTENER KAFKA_REST_PROXY KAFKA_SCHEMA_REGISTRY KARAPACE_REST_PROXY KARAPACE_SCHEMA_REGISTRY
  MONGODB OPENSEARCH OPENSEARCH_DASHBOARDS PGBOUNCER POSTGRESQL REDIS SEARCH_DASHBOARDS SECURE_APACHE_ZOOKEEPER
  SHOTOVER_PROXY SPARK SPARK_JOBSERVER]]):gmatch("%S+") do
  RULE_TYPES[t] = true
end

-- Instaclustr's region name as AWS writes it: US_WEST_2 -> us-west-2
local function aws_region(r)
  return type(r) == "string" and (r:lower():gsub("_", "-")) or r
end

local V1 = "/provisioning/v1"
local V2 = "/cluster-management/v2"

-- ---- error shapes ------------------------------------------------------------

local REASONS = {
  [400] = "Bad Request", [401] = "Not Authorized", [403] = "Forbidden", [404] = "Resource not found",
  [409] = "Conflict", [415] = "Unsupported media type", [422] = "Unprocessable Entity",
  [429] = "Too many requests", [500] = "Internal Server Error", [503] = "Service Unavailable",
  [504] = "A timeout occurred",
}

local function v1_error(status, message, details)
  return response.json(status, {
    status = status, code = status, message = message or REASONS[status] or "Error",
    errorDetails = details or {}, link = "",
  })
end

local function v2_error(status, message, name)
  return response.json(status, { errors = check.list({ { name = name or REASONS[status] or "Error",
                                                         message = message or REASONS[status] or "Error" } }) })
end

local function is_v2(req)
  return req.path:find(V2, 1, true) ~= nil
end

-- error in the shape of the API generation the request used
local function fail(req, status, message, details)
  if is_v2(req) then
    if details then
      local parts = {}
      for k, v in pairs(details) do parts[#parts + 1] = k .. ": " .. v end
      table.sort(parts)
      message = message .. " (" .. table.concat(parts, "; ") .. ")"
    end
    return v2_error(status, message)
  end
  return v1_error(status, message, details)
end

-- ---- the emulator ------------------------------------------------------------

function M.new(app)
  local fx = app.fixture.instaclustr or {}
  local state = { peerings = {}, order = {}, rules = {}, rules_v2 = {} }
  app:register_state("instaclustr", state) -- saved by --state
  app:on_reset(function()
    state.peerings, state.order, state.rules, state.rules_v2 = {}, {}, {}, {}
  end)

  local function duration(name, default) return app:duration("instaclustr", name, default) end

  local function find_dc(id)
    for _, c in ipairs(fx.clusters or {}) do
      for _, dc in ipairs(c.data_centres or {}) do
        if dc.id == id then return dc, c end
      end
    end
  end

  local function find_cluster(id) return check.find(fx.clusters, "id", id) end

  -- account(req) -> the fixture account | nil
  local function account(req)
    local user, key = check.basic(req)
    if not user then return nil end
    for _, a in ipairs(fx.accounts or {}) do
      if a.username == user and a.api_key == key then
        req.credential = user
        return a
      end
    end
  end

  -- ---- peerings ----

  local life = lifecycle.new(app, "instaclustr", {
    { from = "deleted_at", "deleting", "deleted", lasts = { "deleting", 10 } },
    { from = "rejected_at", "rejected" },
    { from = "accepted_at", "provisioning", "active", lasts = { "provisioning", 60 } },
    { from = "created", "pending-acceptance", "expired", lasts = { "acceptance_expiry", 7 * 24 * 3600 } },
  })
  local status_of = life.status

  local function v1_view(p, now)
    local v = {
      id = p.id, aws_vpc_connection_id = p.pcx, clusterDataCentre = p.dc.id, vpcId = p.dc.vpc_id,
      peerVpcId = p.peer_vpc, peerAccountId = p.peer_account, peerRegion = p.peer_region,
      peerSubnets = check.list(p.peer_subnets), statusCode = status_of(p, now),
    }
    if p.peer_subnet then
      local net, len = p.peer_subnet:match("^(.-)/(%d+)$")
      v.peerSubnet = { network = net, prefixLength = tonumber(len) }
    end
    return v
  end

  local function v2_view(p, now, summary)
    local v = {
      id = p.id, cdcId = p.dc.id, peerAwsAccountId = p.peer_account, peerVpcId = p.peer_vpc,
      peerRegion = p.peer_region, peerSubnets = check.list(p.peer_subnets), dataCentreVpcId = p.dc.vpc_id,
    }
    if not summary then v.statusCode = status_of(p, now) end
    return v
  end

  -- the data centre named by the path or body, owned by the caller
  local function owned_dc(req, acct, id)
    local bad = check.uuid(id)
    if bad then return nil, fail(req, 400, "Invalid cluster data centre id", { clusterDataCentreId = bad }) end
    local dc, cluster = find_dc(id)
    if not dc then return nil, fail(req, 404, "Cluster data centre not found") end
    if cluster.owner ~= acct.username then return nil, fail(req, 403, "Forbidden") end
    return dc, cluster
  end

  local function owned_peering(req, acct, id, dc)
    local p = state.peerings[id]
    if not p or (dc and p.dc ~= dc) then return nil, fail(req, 404, "VPC peering connection not found") end
    if p.owner ~= acct.username then return nil, fail(req, 403, "Forbidden") end
    return p
  end

  -- Check a create request; returns the fields or nil, error response.
  local function read_create(req, body, dc, v2)
    local d = {}
    local account_field = v2 and "peerAwsAccountId" or "peerAccountId"
    local acct_id = body[account_field]
    d[account_field] = acct_id == nil and "is required" or check.aws_account(acct_id)
    d.peerVpcId = body.peerVpcId == nil and "is required" or check.vpc(body.peerVpcId)
    local subnets = body.peerSubnets
    if body.peerSubnet ~= nil and subnets ~= nil then
      d.peerSubnet = "cannot be given together with peerSubnets"
    elseif body.peerSubnet == nil and subnets == nil then
      d.peerSubnets = "is required"
    elseif body.peerSubnet ~= nil then
      d.peerSubnet = check.cidr4(body.peerSubnet)
      subnets = { body.peerSubnet }
    elseif type(subnets) ~= "table" or #subnets == 0 then
      d.peerSubnets = "must be a non-empty list of CIDR blocks"
    else
      for i, s in ipairs(subnets) do
        local bad = check.cidr4(s)
        if bad then d["peerSubnets[" .. i .. "]"] = bad end
      end
    end
    if body.peerRegion ~= nil or v2 then
      d.peerRegion = body.peerRegion == nil and "is required" or check.ic_region(body.peerRegion)
    end
    if body.addNetworkToFirewallRules ~= nil and type(body.addNetworkToFirewallRules) ~= "boolean" then
      d.addNetworkToFirewallRules = "must be a boolean"
    end
    if next(d) then return nil, fail(req, 400, "Invalid VPC peering request", d) end
    for _, s in ipairs(subnets) do
      if dc.network and check.overlaps(s, dc.network) then
        return nil, fail(req, 422, "Subnet provided conflicts with Cluster Data Centre's subnet")
      end
    end
    return { account = acct_id, vpc = body.peerVpcId, subnets = subnets, subnet = body.peerSubnet,
             region = body.peerRegion or dc.region, firewall = body.addNetworkToFirewallRules }
  end

  local function rule_key(r) return (r.network or "sg:" .. tostring(r.securityGroupId)) .. " " .. r.type end

  -- add a rule of a cluster unless it exists; true when added
  local function add_rule(cluster_id, r, now)
    local list = state.rules[cluster_id] or {}
    state.rules[cluster_id] = list
    for _, x in ipairs(list) do
      if rule_key(x) == rule_key(r) then return false end
    end
    list[#list + 1] = { network = r.network, securityGroupId = r.securityGroupId, type = r.type, created = now }
    return true
  end

  local function create(req, acct, dc, cluster, body, v2)
    local f, err = read_create(req, body, dc, v2)
    if not f then return nil, err end
    local now = app:clock()
    local p = {
      id = app:uuid(), owner = acct.username, dc = dc, cluster = cluster, peer_vpc = f.vpc,
      peer_account = f.account, peer_subnets = f.subnets, peer_subnet = f.subnet, peer_region = f.region,
      pcx = "pcx-" .. app:uuid():gsub("-", ""):sub(1, 17), created = now,
    }
    state.peerings[p.id] = p
    state.order[#state.order + 1] = p
    if f.firewall then
      for _, s in ipairs(f.subnets) do
        for _, t in ipairs(cluster.firewall_types or { "CASSANDRA" }) do add_rule(cluster.id, { network = s, type = t }, now) end
      end
    end
    return p
  end

  local function list_of(acct, dc, now, view)
    local out = check.list()
    for _, p in ipairs(state.order) do
      if p.owner == acct.username and (not dc or p.dc == dc) and status_of(p, now) ~= "deleted" then
        out[#out + 1] = view(p, now)
      end
    end
    return out
  end

  local function start_delete(p, now)
    local st = status_of(p, now)
    if st == "deleting" or st == "deleted" then return false end
    p.forced = nil
    p.deleted_at = now
    return true
  end

  -- ---- routes ----

  local r = router.new {
    not_found = function(req) return fail(req, 404, "Resource not found") end,
    method_not_allowed = function(req) return fail(req, 405, "Method not allowed") end,
  }

  -- every route: authenticated, then the handler with the account
  local function route(method, path, fn)
    r:add(method, path, function(req, params)
      local acct = account(req)
      if not acct then return fail(req, 401, "Not Authorized") end
      return fn(req, params, acct)
    end)
  end

  -- a route with a JSON body
  local function with_body(method, path, fn)
    route(method, path, function(req, params, acct)
      local body, why = check.body(req)
      if not body then
        if why == "media" then return fail(req, 415, "Unsupported media type: use application/json") end
        return fail(req, 400, "The request body is not a JSON object")
      end
      return fn(req, params, acct, body)
    end)
  end

  -- v1 peering
  route("GET", V1 .. "/vpc-peering/{cdcId}", function(req, params, acct)
    local dc, err = owned_dc(req, acct, params.cdcId)
    if not dc then return err end
    return response.json(202, list_of(acct, dc, app:clock(), v1_view))
  end)

  with_body("POST", V1 .. "/vpc-peering/{cdcId}", function(req, params, acct, body)
    local dc, cluster = owned_dc(req, acct, params.cdcId)
    if not dc then return cluster end
    local p, err = create(req, acct, dc, cluster, body, false)
    if not p then return err end
    return response.json(202, p.id)
  end)

  route("GET", V1 .. "/vpc-peering/{cdcId}/{id}", function(req, params, acct)
    local dc, err = owned_dc(req, acct, params.cdcId)
    if not dc then return err end
    local p, perr = owned_peering(req, acct, params.id, dc)
    if not p then return perr end
    return response.json(202, v1_view(p, app:clock()))
  end)

  local function update_subnets(req, p, subnets)
    if type(subnets) ~= "table" or #subnets == 0 then
      return fail(req, 400, "Invalid VPC peering request", { peerSubnets = "must be a non-empty list of CIDR blocks" })
    end
    for i, s in ipairs(subnets) do
      local bad = check.cidr4(s)
      if bad then return fail(req, 400, "Invalid VPC peering request", { ["peerSubnets[" .. i .. "]"] = bad }) end
      if p.dc.network and check.overlaps(s, p.dc.network) then
        return fail(req, 422, "Subnet provided conflicts with Cluster Data Centre's subnet")
      end
    end
    p.peer_subnets, p.peer_subnet = subnets, nil
  end

  with_body("PUT", V1 .. "/vpc-peering/{cdcId}/{id}", function(req, params, acct, body)
    local dc, err = owned_dc(req, acct, params.cdcId)
    if not dc then return err end
    local p, perr = owned_peering(req, acct, params.id, dc)
    if not p then return perr end
    -- only peerSubnets may change: anything else that differs is a 415
    local now = app:clock()
    local current = v1_view(p, now)
    for k, v in pairs(body) do
      if k ~= "peerSubnets" and type(v) ~= "table" and current[k] ~= nil and current[k] ~= v then
        return fail(req, 415, "Only peerSubnets can be modified")
      end
    end
    local bad = update_subnets(req, p, body.peerSubnets)
    if bad then return bad end
    return response.json(202, v1_view(p, now))
  end)

  route("DELETE", V1 .. "/vpc-peering/{cdcId}/{id}", function(req, params, acct)
    local dc, err = owned_dc(req, acct, params.cdcId)
    if not dc then return err end
    local p, perr = owned_peering(req, acct, params.id, dc)
    if not p then return perr end
    if not start_delete(p, app:clock()) then return fail(req, 404, "VPC peering connection not found") end
    return response.json(202, { message = "Delete operation successful." })
  end)

  -- v1 firewall rules
  local function owned_cluster(req, acct, id)
    local bad = check.uuid(id)
    if bad then return nil, fail(req, 400, "Invalid cluster id", { clusterId = bad }) end
    local c = find_cluster(id)
    if not c then return nil, fail(req, 404, "Cluster not found") end
    if c.owner ~= acct.username then return nil, fail(req, 403, "Forbidden") end
    return c
  end

  local function rule_status(x, now)
    return now >= x.created + duration("firewall", 5) and "PROVISIONED" or "PROVISIONING"
  end

  -- rules of a cluster grouped by network / security group, as v1 shows them
  local function v1_rules(cluster_id, now)
    local out, by = check.list(), {}
    for _, x in ipairs(state.rules[cluster_id] or {}) do
      local k = x.network or ("sg:" .. x.securityGroupId)
      local entry = by[k]
      if not entry then
        entry = { network = x.network, securityGroupId = x.securityGroupId, rules = check.list() }
        by[k] = entry
        out[#out + 1] = entry
      end
      entry.rules[#entry.rules + 1] = { type = x.type, status = rule_status(x, now) }
    end
    return out
  end

  -- read a v1 rule body into a list of {network|securityGroupId, type}
  -- A field it does not know is refused: a body with securityGroupId and
  -- rule_cidr is 400 (instaclustr/terraform-provider-instaclustr
  -- instaclustr/api_client_unit_test.go with data/invalid_firewall.json).
  local RULE_FIELDS = { network = true, securityGroupId = true, rules = true }
  local function read_rules(req, body)
    local d = {}
    for k in pairs(body) do
      if not RULE_FIELDS[k] then d[tostring(k)] = "is not a field of a firewall rule (network, securityGroupId, rules)" end
    end
    if (body.network == nil) == (body.securityGroupId == nil) then
      d.network = "give exactly one of network and securityGroupId"
    elseif body.network ~= nil then
      d.network = check.cidr4(body.network)
    elseif type(body.securityGroupId) ~= "string" or not body.securityGroupId:match("^sg%-%x+$") then
      d.securityGroupId = "must be a security group id (sg-...)"
    end
    if type(body.rules) ~= "table" or #body.rules == 0 then
      d.rules = "must be a non-empty list of {type = ...}"
    else
      for i, x in ipairs(body.rules) do
        if type(x) ~= "table" or not RULE_TYPES[x.type] then d["rules[" .. i .. "].type"] = "is not a firewall rule type" end
      end
    end
    if next(d) then return nil, fail(req, 400, "Invalid firewall rule", d) end
    local out = {}
    for _, x in ipairs(body.rules) do
      out[#out + 1] = { network = body.network, securityGroupId = body.securityGroupId, type = x.type }
    end
    return out
  end

  for _, path in ipairs({ V1 .. "/{clusterId}/firewallRules/", V1 .. "/{clusterId}/firewallRules" }) do
    route("GET", path, function(req, params, acct)
      local c, err = owned_cluster(req, acct, params.clusterId)
      if not c then return err end
      return response.json(200, v1_rules(c.id, app:clock()))
    end)

    with_body("POST", path, function(req, params, acct, body)
      local c, err = owned_cluster(req, acct, params.clusterId)
      if not c then return err end
      local rules, rerr = read_rules(req, body)
      if not rules then return rerr end
      local added, now = 0, app:clock()
      for _, x in ipairs(rules) do
        if add_rule(c.id, x, now) then added = added + 1 end
      end
      if added == 0 then return fail(req, 409, "Firewall rule already exists") end
      return response.json(202, body)
    end)

    with_body("PUT", path, function(req, params, acct, body)
      local c, err = owned_cluster(req, acct, params.clusterId)
      if not c then return err end
      local rules, rerr = read_rules(req, body)
      if not rules then return rerr end
      local now = app:clock()
      for _, x in ipairs(rules) do add_rule(c.id, x, now) end
      return response.json(202, body)
    end)

    with_body("DELETE", path, function(req, params, acct, body)
      local c, err = owned_cluster(req, acct, params.clusterId)
      if not c then return err end
      local rules, rerr = read_rules(req, body)
      if not rules then return rerr end
      local drop = {}
      for _, x in ipairs(rules) do drop[rule_key(x)] = true end
      local kept, removed = {}, 0
      for _, x in ipairs(state.rules[c.id] or {}) do
        if drop[rule_key(x)] then removed = removed + 1 else kept[#kept + 1] = x end
      end
      if removed == 0 then return fail(req, 404, "Firewall rule not found") end
      state.rules[c.id] = kept
      return response.json(202, body)
    end)
  end

  -- v2 AWS VPC peers
  local PEERS = V2 .. "/resources/providers/aws/vpc-peers/v2"

  with_body("POST", PEERS, function(req, _, acct, body)
    local dc, cluster = owned_dc(req, acct, body.cdcId)
    if not dc then return cluster end
    local p, err = create(req, acct, dc, cluster, body, true)
    if not p then return err end
    return response.json(202, v2_view(p, app:clock()))
  end)

  route("GET", PEERS .. "/{vpcPeerId}", function(req, params, acct)
    local p, err = owned_peering(req, acct, params.vpcPeerId)
    if not p then return err end
    return response.json(200, v2_view(p, app:clock()))
  end)

  with_body("PUT", PEERS .. "/{vpcPeerId}", function(req, params, acct, body)
    local p, err = owned_peering(req, acct, params.vpcPeerId)
    if not p then return err end
    local bad = update_subnets(req, p, body.peerSubnets)
    if bad then return bad end
    return response.json(202, v2_view(p, app:clock()))
  end)

  route("DELETE", PEERS .. "/{vpcPeerId}", function(req, params, acct)
    local p, err = owned_peering(req, acct, params.vpcPeerId)
    if not p then return err end
    if not start_delete(p, app:clock()) then return fail(req, 404, "VPC peer not found") end
    return response.raw(204, "")
  end)

  route("GET", V2 .. "/data-sources/providers/aws/vpc-peers/v2", function(_, _, acct)
    local now = app:clock()
    local list = list_of(acct, nil, now, function(p) return v2_view(p, now, true) end)
    return response.json(200, check.list({ { accountId = acct.username, peeringRequests = list } }))
  end)

  -- v2 network firewall rules
  local RULES = V2 .. "/resources/network-firewall-rules/v2"

  local function v2_rule(x, now)
    return { id = x.id, clusterId = x.cluster_id, network = x.network, type = x.type,
             status = rule_status(x, now), deferredReason = "" }
  end

  with_body("POST", RULES, function(req, _, acct, body)
    local c, err = owned_cluster(req, acct, body.clusterId)
    if not c then return err end
    local d = {}
    d.network = check.cidr4(body.network)
    if not RULE_TYPES[body.type] then d.type = tostring(body.type) .. " is not a firewall rule type" end
    if next(d) then return fail(req, 400, "Invalid firewall rule", d) end
    for _, x in pairs(state.rules_v2) do
      if x.cluster_id == c.id and x.network == body.network and x.type == body.type then
        return response.json(409, { name = "Conflict",
                                    message = "A firewall rule of that kind already exists for that address" })
      end
    end
    local x = { id = app:uuid(), cluster_id = c.id, network = body.network, type = body.type, created = app:clock(),
                owner = acct.username }
    state.rules_v2[x.id] = x
    return response.json(202, v2_rule(x, x.created))
  end)

  local function owned_rule(req, acct, id)
    local x = state.rules_v2[id]
    if not x then return nil, fail(req, 404, "Firewall rule not found") end
    if x.owner ~= acct.username then return nil, fail(req, 403, "Forbidden") end
    return x
  end

  route("GET", RULES .. "/{firewallRuleId}", function(req, params, acct)
    local x, err = owned_rule(req, acct, params.firewallRuleId)
    if not x then return err end
    return response.json(200, v2_rule(x, app:clock()))
  end)

  route("DELETE", RULES .. "/{firewallRuleId}", function(req, params, acct)
    local x, err = owned_rule(req, acct, params.firewallRuleId)
    if not x then return err end
    state.rules_v2[x.id] = nil
    return response.raw(204, "")
  end)

  route("GET", V2 .. "/data-sources/cluster/{clusterId}/network-firewall-rules/v2", function(req, params, acct)
    local c, err = owned_cluster(req, acct, params.clusterId)
    if not c then return err end
    local now, rules = app:clock(), {}
    for _, x in pairs(state.rules_v2) do
      if x.cluster_id == c.id then rules[#rules + 1] = v2_rule(x, now) end
    end
    table.sort(rules, function(a, b) return a.id < b.id end)
    return response.json(200, check.list({ { clusterId = c.id, firewallRules = check.list(rules) } }))
  end)

  -- ---- hooks for /_sim/ and the fault injector ----

  life.register({
    label = "Instaclustr", store = state, accept_in = { "pending-acceptance" },
    -- what tests and tools may read: the peerings as stored
    view = function(p, status)
      return { id = p.id, owner = p.owner, peer_vpc = p.peer_vpc, peer_account = p.peer_account, status = status,
               pcx = p.pcx }
    end,
  }, {
    error = function(req, status, _, message)
      local resp = fail(req, status, message)
      if status == 429 then resp.headers["Retry-After"] = "1" end
      return resp
    end,
    -- the pcx- of each peering as the emulated AWS shows it (app:aws_peerings):
    -- the requester is the data centre's AWS account, VPC and network
    pcx = function()
      local out, now = {}, app:clock()
      for _, p in ipairs(state.order) do
        out[#out + 1] = {
          id = p.id, pcx = p.pcx, status = status_of(p, now), created = p.created,
          expires = life.deadline(p, "acceptance_expiry"),
          requester = { account = p.dc.aws_account_id, vpc = p.dc.vpc_id, cidr = p.dc.network,
                        region = aws_region(p.dc.region) },
          accepter = { account = p.peer_account, vpc = p.peer_vpc, region = aws_region(p.peer_region) },
        }
      end
      return out
    end,
  })
  return r
end

return M
