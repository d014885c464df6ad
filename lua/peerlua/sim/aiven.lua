-- peerlua.sim.aiven: the emulated Aiven API (project VPC peering
-- connections, shared/providers.md 5), mounted at /aiven, with UpCloud
-- (shared/seeds 003) or AWS as the peer cloud.
--
-- Auth: "Authorization: aivenv1 <token>" (or Bearer) of a fixture account;
-- otherwise 401. A project the account may not use: 403. Errors are
-- {"message", "more_info", "status", "errors": [{"error_code", "message", "status"}]}.
-- Shapes follow aiven/go-client-codegen handler/vpc/vpc.go: VpcOut in the
-- list, VpcGetOut (with peering_connections) for one VPC,
-- PeeringConnectionOut for a peering (every field; absent ones null).
--
--   GET    /v1/project/{project}/vpcs                       200 {vpcs}
--   GET    /v1/project/{project}/vpcs/{vpc}                 200, with peering_connections
--   POST   /v1/project/{project}/vpcs/{vpc}/peering-connections          201
--   POST   /v1/project/{project}/vpcs/{vpc}/peering-connections/refresh  200 the VPC
--   PUT    /v1/project/{project}/vpcs/{vpc}/user-peer-network-cidrs     200 the VPC ({add, delete})
--   DELETE .../peering-connections/peer-accounts/{account}/peer-vpcs/{peer_vpc}   200
--   DELETE .../peer-accounts/{account}/peer-vpcs/{peer_vpc}/peer-regions/{region}  200
--   DELETE .../peer-accounts/{account}/peer-resource-groups/{group}/peer-vpcs/{peer_vpc}  200
--
-- A peering to UpCloud names the literal account "upcloud" and the user's
-- network UUID, with no peer_region (vpc.go: VpcPeeringConnectionType
-- upcloud-vpc-peering). Lifecycle, computed when read: APPROVED for
-- durations.approving; then Aiven creates the UpCloud peering from its
-- network to the user's and the peering is PENDING_PEER until the user's
-- reverse UpCloud peering makes Aiven's active: then ACTIVE. A network
-- that does not exist, or an account other than "upcloud" on an UpCloud
-- VPC: INVALID_SPECIFICATION. Deleting removes Aiven's UpCloud peering;
-- DELETING for durations.deleting, then gone.
--
-- A peering of a project VPC in AWS (cloud_name aws-REGION) names the
-- customer's 12-digit account and vpc- id, and peer_region (default: the
-- project VPC's region). After APPROVED, Aiven has requested an AWS VPC
-- peering connection from its own account and VPC (the fixture's
-- aws_account_id and aws_vpc_id) and the peering is PENDING_PEER with the
-- pcx- in state_info.aws_vpc_peering_connection_id (providers.md 5.2, as
-- terraform-provider-aiven reads it) until the customer's account accepts
-- it (the emulated AWS shows the pcx- through hooks.pcx, and its accept
-- calls hooks.accept; or POST /_sim/peer-accept): then ACTIVE, or
-- REJECTED_BY_PEER when rejected. MODEL: the pcx- never expires here (what
-- Aiven shows after AWS's 7 days is not published), and an account or VPC
-- not of that form is INVALID_SPECIFICATION.
--
-- MODEL, no published source: where the API names Aiven's own network (the
-- "Aiven network ID" the docs show in the console, which the user's UpCloud
-- peering must point at). This emulator puts it in state_info.to_network_id
-- once the peering is PENDING_PEER; state_info.type is the state's word in
-- lower case. Also a model: a 400 for peer_region on an UpCloud peering
-- (vpc.go says to leave it out) and the rate limit's window (below).
--
-- Rate limit (aiven/terraform-provider-aiven#575): 120 requests a minute
-- per token, answered 429 {"errors":[{"message":"The user has sent too many
-- requests in a given amount of time: Rate limit 120 exceeded - try again
-- in 28s","status":429}],"message":...} and no Retry-After (whether Aiven
-- sends one is UNCONFIRMED): fixture rate_limit 120, rate_window 60.
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")
local check = require("peerlua.sim.check")
local json = require("peerlua.json")

local M = {}

-- errors[] items carry error_code (aiven-client tests/test_client.py,
-- test_error_str: {"error_code":"kafka_topic_invalid_config",...}); the
-- words below are a MODEL: Aiven publishes no list of codes
local ERROR_CODES = {
  [400] = "invalid_input", [401] = "authentication_failed", [403] = "permission_denied", [404] = "not_found",
  [405] = "method_not_allowed", [409] = "conflict", [415] = "unsupported_media_type", [429] = "rate_limited",
}
local function fail(status, message)
  return response.json(status, { message = message, more_info = "", status = status,
    errors = { { error_code = ERROR_CODES[status] or "internal_error", message = message, status = status } } })
end

function M.new(app)
  local fx = app.fixture.aiven or {}
  local state = { order = {} }
  app:register_state("aiven", state) -- saved by --state
  app:on_reset(function() state.order = {} end)

  local function duration(name, default) return app:duration("aiven", name, default) end
  local function upcloud() return app.providers.upcloud end

  local function account(req)
    local scheme, token = (req.headers.authorization or ""):match("^(%w+)%s+(%S+)%s*$")
    if not token or (scheme ~= "aivenv1" and scheme:lower() ~= "bearer") then return nil end
    for _, a in ipairs(fx.accounts or {}) do
      if a.token == token then
        req.credential = a.user
        return a
      end
    end
  end

  local function project_of(acct, name)
    for _, p in ipairs(fx.projects or {}) do
      if p.name == name then
        for _, allowed in ipairs(acct.projects or {}) do
          if allowed == name then return p end
        end
        return nil, fail(403, "Not authorized to access project " .. name)
      end
    end
    return nil, fail(404, "Project does not exist")
  end

  local function vpc_of(project, id)
    for _, v in ipairs(project.vpcs or {}) do
      if v.project_vpc_id == id then return v end
    end
    return nil, fail(404, "Project VPC does not exist")
  end

  -- an UpCloud VPC peers with "upcloud" and an UpCloud network that
  -- exists; an AWS VPC with an account id and a vpc- id
  local function upcloud_vpc(v) return (v.cloud_name or ""):match("^upcloud%-") ~= nil end
  local function aws_region(v) return (v.cloud_name or ""):match("^aws%-(.+)$") end
  local function valid_peer(p)
    if aws_region(p.vpc) then
      return p.peer_cloud_account:match("^%d+$") ~= nil and #p.peer_cloud_account == 12
        and p.peer_vpc:match("^vpc%-%x+$") ~= nil
    end
    local uc = upcloud()
    return upcloud_vpc(p.vpc) and p.peer_cloud_account == "upcloud" and uc ~= nil and uc.network(p.peer_vpc) ~= nil
  end

  local function state_of(p, now)
    if p.deleted_at then return now < p.deleted_at + duration("deleting", 10) and "DELETING" or "DELETED" end
    if p.forced then return p.forced end
    if now < p.created + duration("approving", 10) then return "APPROVED" end
    if not valid_peer(p) then return "INVALID_SPECIFICATION" end
    if aws_region(p.vpc) then
      if p.rejected_at then return "REJECTED_BY_PEER" end
      return p.accepted_at and "ACTIVE" or "PENDING_PEER"
    end
    if not p.upcloud_peering then -- Aiven's side of the UpCloud peering
      p.upcloud_peering = upcloud().create_peering("sim-aiven", "aiven-" .. p.project .. "-" .. p.peer_vpc,
                                                   p.vpc.upcloud_network, p.peer_vpc)
      p.updated_wall = app:now()
    end
    return upcloud().peering_state(p.upcloud_peering) == "active" and "ACTIVE" or "PENDING_PEER"
  end

  local MESSAGES = {
    APPROVED = "Peering request approved, being set up",
    PENDING_PEER = "Waiting for the peer: create the UpCloud peering from your network to to_network_id",
    ACTIVE = "Peering connection active",
    INVALID_SPECIFICATION = "Peer network not found: an UpCloud peering names account \"upcloud\" and "
      .. "an UpCloud network UUID",
    REJECTED_BY_PEER = "The peer rejected the peering connection",
    DELETING = "Peering connection being deleted",
  }

  local null = json.null
  local function view(p, now)
    local st = state_of(p, now)
    local info = { message = MESSAGES[st] or st, type = st:lower():gsub("_", "-") }
    local aws = aws_region(p.vpc) ~= nil
    if aws and st == "PENDING_PEER" then
      info.message = "Waiting for the peer: accept the AWS VPC peering connection " .. p.pcx
    elseif aws and st == "INVALID_SPECIFICATION" then
      info.message = "Peer VPC: an AWS peering names a 12-digit account id and a vpc- id"
    end
    if aws and st ~= "APPROVED" and st ~= "INVALID_SPECIFICATION" then info.aws_vpc_peering_connection_id = p.pcx end
    if not aws and (st == "PENDING_PEER" or st == "ACTIVE") then info.to_network_id = p.vpc.upcloud_network end -- MODEL
    return {
      create_time = check.timestamp(p.created_wall), update_time = check.timestamp(p.updated_wall),
      peer_azure_app_id = null, peer_azure_tenant_id = null, peer_resource_group = p.peer_resource_group or null,
      peer_cloud_account = p.peer_cloud_account, peer_vpc = p.peer_vpc,
      peer_region = p.peer_region or (aws and aws_region(p.vpc)) or null,
      state = st, state_info = info, user_peer_network_cidrs = check.list(p.cidrs),
      vpc_peering_connection_type = upcloud_vpc(p.vpc) and "upcloud-vpc-peering" or "aws-vpc-peering-connection",
    }
  end

  local function listed(vpc, now)
    local out = {}
    for _, p in ipairs(state.order) do
      local v = p.vpc == vpc and view(p, now)
      if v and v.state ~= "DELETED" then out[#out + 1] = v end
    end
    return out
  end

  -- VpcOut (the list) and VpcGetOut (one VPC, with its peerings)
  local started = app:now()
  local function vpc_out(v)
    return { project_vpc_id = v.project_vpc_id, cloud_name = v.cloud_name, network_cidr = v.network_cidr,
             state = "ACTIVE", create_time = check.timestamp(started),
             update_time = check.timestamp(v.updated_wall or started) }
  end
  local function vpc_view(_, v, now)
    local out = vpc_out(v)
    out.peering_connections = check.list(listed(v, now))
    out.pending_build_only_peering_connections = null
    return out
  end

  local r = router.new {
    not_found = function() return fail(404, "Not found") end,
    method_not_allowed = function() return fail(405, "Method not allowed") end,
  }

  -- every route: a known token, a project it may use, then fn(req, params, project)
  local function route(method, path, fn)
    r:add(method, "/v1/project/{project}" .. path, function(req, params)
      local acct = account(req)
      if not acct then return fail(401, "Invalid token") end
      local project, err = project_of(acct, params.project)
      if not project then return err end
      return fn(req, params, project)
    end)
  end

  route("GET", "/vpcs", function(_, _, project)
    local now, out = app:clock(), {}
    for i, v in ipairs(project.vpcs or {}) do out[i] = vpc_out(v, now) end
    return response.json(200, { vpcs = check.list(out) })
  end)

  route("GET", "/vpcs/{vpc}", function(_, params, project)
    local v, err = vpc_of(project, params.vpc)
    if not v then return err end
    return response.json(200, vpc_view(project, v, app:clock()))
  end)

  local function find(v, account_id, peer_vpc)
    local now = app:clock()
    for _, p in ipairs(state.order) do
      if p.vpc == v and p.peer_cloud_account == account_id and p.peer_vpc == peer_vpc
         and state_of(p, now) ~= "DELETED" then
        return p
      end
    end
  end

  route("POST", "/vpcs/{vpc}/peering-connections", function(req, params, project)
    local v, err = vpc_of(project, params.vpc)
    if not v then return err end
    local b, why = check.body(req)
    if not b then
      return fail(why == "media" and 415 or 400, why == "media" and "Content-Type must be application/json"
                                                  or "Invalid JSON body")
    end
    if type(b.peer_cloud_account) ~= "string" or b.peer_cloud_account == "" then
      return fail(400, "Invalid input for peer_cloud_account: a non-empty string is required")
    elseif type(b.peer_vpc) ~= "string" or b.peer_vpc == "" then
      return fail(400, "Invalid input for peer_vpc: a non-empty string is required")
    elseif b.peer_region ~= nil and b.peer_region ~= null and type(b.peer_region) ~= "string" then
      return fail(400, "Invalid input for peer_region: must be a string")
    elseif b.peer_cloud_account == "upcloud" and type(b.peer_region) == "string" then -- MODEL
      return fail(400, "Invalid input for peer_region: UpCloud peering connections take no peer_region")
    end
    if b.peer_region == null then b.peer_region = nil end
    local cidrs = b.user_peer_network_cidrs or {}
    if type(cidrs) ~= "table" then return fail(400, "Invalid input for user_peer_network_cidrs: must be a list") end
    for _, c in ipairs(cidrs) do
      if check.cidr4(c) then return fail(400, "Invalid input for user_peer_network_cidrs: " .. tostring(c)) end
    end
    if find(v, b.peer_cloud_account, b.peer_vpc) then
      return fail(409, "Peering connection already exists")
    end
    local now = app:clock()
    local p = { project = project.name, vpc = v, peer_cloud_account = b.peer_cloud_account, peer_vpc = b.peer_vpc,
                peer_region = b.peer_region, cidrs = cidrs, created = now, created_wall = app:now(),
                updated_wall = app:now() }
    if aws_region(v) then p.pcx = "pcx-" .. app:uuid():gsub("-", ""):sub(1, 17) end
    state.order[#state.order + 1] = p
    return response.json(201, view(p, now))
  end)

  -- the three delete paths (vpc.go): plain, with the peer region, with
  -- the Azure resource group
  local function delete(_, params, project)
    local v, err = vpc_of(project, params.vpc)
    if not v then return err end
    local p = find(v, params.account, params.peer_vpc)
    if p and ((params.region and p.peer_region ~= params.region)
              or (params.group and p.peer_resource_group ~= params.group)) then
      p = nil
    end
    if not p or p.deleted_at then return fail(404, "Peering connection does not exist") end
    local now = app:clock()
    local view_now = view(p, now)
    p.deleted_at, p.updated_wall = now, app:now()
    if p.upcloud_peering then upcloud().remove_peering(p.upcloud_peering) end
    view_now.state = "DELETING"
    return response.json(200, view_now)
  end
  local PEER = "/vpcs/{vpc}/peering-connections/peer-accounts/{account}"
  route("DELETE", PEER .. "/peer-vpcs/{peer_vpc}", delete)
  route("DELETE", PEER .. "/peer-vpcs/{peer_vpc}/peer-regions/{region}", delete)
  route("DELETE", PEER .. "/peer-resource-groups/{group}/peer-vpcs/{peer_vpc}", delete)

  -- refresh: Aiven looks at the peer cloud again; here every state is
  -- computed when read, so it answers the VPC as it is
  route("POST", "/vpcs/{vpc}/peering-connections/refresh", function(_, params, project)
    local v, err = vpc_of(project, params.vpc)
    if not v then return err end
    return response.json(200, vpc_view(project, v, app:clock()))
  end)

  -- VpcPeeringConnectionUpdateIn: add [{cidr, peer_cloud_account,
  -- peer_resource_group?, peer_vpc}], delete [cidr]; answers the VPC
  route("PUT", "/vpcs/{vpc}/user-peer-network-cidrs", function(req, params, project)
    local v, err = vpc_of(project, params.vpc)
    if not v then return err end
    local b = check.body(req)
    if type(b) ~= "table" then return fail(400, "Invalid JSON body") end
    local add, del = b.add or {}, b.delete or {}
    if type(add) ~= "table" or type(del) ~= "table" then return fail(400, "Invalid input: add and delete are lists") end
    for _, a in ipairs(add) do
      if type(a) ~= "table" or check.cidr4(a.cidr) then return fail(400, "Invalid input for add: a cidr is required") end
      local p = find(v, a.peer_cloud_account, a.peer_vpc)
      if not p then return fail(404, "Peering connection does not exist") end
    end
    for _, c in ipairs(del) do
      if check.cidr4(c) then return fail(400, "Invalid input for delete: " .. tostring(c)) end
    end
    for _, p in ipairs(state.order) do
      if p.vpc == v then
        local keep = {}
        for _, c in ipairs(p.cidrs) do
          local gone = false
          for _, d in ipairs(del) do gone = gone or d == c end
          if not gone then keep[#keep + 1] = c end
        end
        p.cidrs = keep
      end
    end
    for _, a in ipairs(add) do
      local p = find(v, a.peer_cloud_account, a.peer_vpc)
      p.cidrs[#p.cidrs + 1] = a.cidr
      p.updated_wall = app:now()
    end
    v.updated_wall = app:now()
    return response.json(200, vpc_view(project, v, app:clock()))
  end)

  -- a peering's id, as the client makes it: the peer's account and VPC
  local function id_of(p) return p.peer_cloud_account .. "/" .. p.peer_vpc end

  -- the latest peering of that id (the client's, or the pcx-)
  local function by_id(id)
    for i = #state.order, 1, -1 do
      local p = state.order[i]
      if id_of(p) == id or p.pcx == id then return p end
    end
  end

  -- an AWS VPC peering connection's status word for each Aiven state
  local PCX_STATUS = { PENDING_PEER = "pending-acceptance", ACTIVE = "active", REJECTED_BY_PEER = "rejected",
                       DELETING = "deleting", DELETED = "deleted" }

  app:register("aiven", {
    accept = function(id, accept)
      local p = by_id(id)
      if not p then return nil, "no Aiven peering " .. tostring(id) end
      if not aws_region(p.vpc) then
        return nil, "Aiven peerings to UpCloud are accepted by creating the UpCloud peering to state_info.to_network_id"
      end
      local st = state_of(p, app:clock())
      if st ~= "PENDING_PEER" then return nil, "peering " .. id .. " is " .. st .. ", not PENDING_PEER" end
      if accept then p.accepted_at = app:clock() else p.rejected_at = app:clock() end
      p.updated_wall = app:now()
      return true
    end,
    -- the pcx- of each peering of an AWS project VPC, as the emulated AWS
    -- shows it (app:aws_peerings): requested by Aiven's account and VPC
    pcx = function()
      local out, now = {}, app:clock()
      for _, p in ipairs(state.order) do
        local region = aws_region(p.vpc)
        local status = region and PCX_STATUS[state_of(p, now)]
        if status then
          out[#out + 1] = {
            id = p.pcx, pcx = p.pcx, status = status, created = p.created,
            requester = { account = p.vpc.aws_account_id, vpc = p.vpc.aws_vpc_id, cidr = p.vpc.network_cidr,
                          region = region },
            accepter = { account = p.peer_cloud_account, vpc = p.peer_vpc, region = p.peer_region or region },
          }
        end
      end
      return out
    end,
    set_state = function(id, word)
      local p = by_id(id)
      if not p then return nil, "no Aiven peering " .. tostring(id) end
      p.forced = word
      return true
    end,
    error = function(_, status, _, message) return fail(status, message or "Error") end,
    -- the limit's answer as Aiven words it, without Retry-After
    rate_limited = function(_, limit, wait)
      local resp = fail(429, ("The user has sent too many requests in a given amount of time: Rate limit %d "
        .. "exceeded - try again in %ds"):format(limit, math.max(1, math.ceil(wait))))
      resp.no_retry_after = true
      return resp
    end,
    peerings = function()
      local out, now = {}, app:clock()
      for _, p in ipairs(state.order) do
        out[#out + 1] = { id = id_of(p), project = p.project,
                          deleted = p.deleted_at ~= nil, status = state_of(p, now) }
      end
      return out
    end,
  })
  return r
end

return M
