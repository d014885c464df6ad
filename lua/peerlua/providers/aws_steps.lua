-- peerlua.providers.aws_steps: the AWS client's steps that finish a
-- vendor's peering on the customer's side. Each reads before it changes
-- and changes only what is missing, so a step run twice, or run again after
-- it was killed half-way, sends no second change:
--   aws:accept_peering(p[, opts])      accept the vendor's pcx-
--   aws:ensure_routes(p[, opts])       a route to the vendor's CIDR in the VPC's route tables
--   aws:ensure_ingress(p[, opts])      the security group open to the vendor's CIDR
--   aws:associate_hosted_zone(p[, opts])  the vendor's private hosted zone (Aerospike)
-- p is a peering value of Instaclustr (v1: aws_vpc_connection_id; v2 names
-- none, so it is found on AWS from dataCentreVpcId), Aerospike (peeringId)
-- or Aiven (state_info.aws_vpc_peering_connection_id): where each puts the
-- pcx- and the accepter's account and VPC is in SIDES.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local base = core.require("peerlua.client")
local plan = core.require("peerlua.plan")

local M = {}
local common = core.require("peerlua.providers.common")
local list = common.xml_list

local function fail(code, op, message, extra)
  local e = { code = code, provider = "aws", op = op, retryable = false, message = message }
  for k, v in pairs(extra or {}) do e[k] = v end
  return nil, base.error(e)
end

local function invalid(op, field, rule)
  return fail("invalid", op, field .. ": " .. rule, { details = { { field = field, rule = rule } } })
end

-- "US_WEST_2" (Instaclustr) -> "us-west-2"
local function aws_region(r)
  return type(r) == "string" and r:lower():gsub("_", "-") or nil
end

-- What each vendor's peering says about the AWS side (providers.md 1.3,
-- 3.3, 5.3): the pcx- to accept, and the account, VPC and region that must
-- accept it.
local SIDES = {
  instaclustr = function(r)
    return { pcx = r.aws_vpc_connection_id, account = r.peerAccountId or r.peerAwsAccountId, vpc = r.peerVpcId,
             region = aws_region(r.peerRegion), requester_vpc = r.dataCentreVpcId }
  end,
  aerospike = function(r)
    return { pcx = r.peeringId, account = r.accountId, vpc = r.vpcId, region = r.region, zone = r.privateHostedZoneId,
             ports = { 4000 } } -- the client port (aerospike-examples/aerospike-cloud go/sample.go; providers.md 3.4)
  end,
  aiven = function(r)
    local info = type(r.state_info) == "table" and r.state_info or {}
    return { pcx = info.aws_vpc_peering_connection_id, account = r.peer_cloud_account, vpc = r.peer_vpc,
             region = r.peer_region }
  end,
}

-- The error level of the step's caller for a function called by a step
-- (core.caller_level: the first frame neither C nor peerlua's own), so a
-- misused step raises at the script's line.
local caller = core.caller_level

local function check_peering(op, p)
  if not base.is_peering(p) then
    error(string.format("bad argument #1 to '%s' (a peering value expected, got %s)", op, type(p)), caller())
  end
  if not SIDES[p.provider] then
    error(string.format("%s: %s peerings are not peered with an AWS VPC (Instaclustr, Aerospike and Aiven are)",
      op, p.provider), caller())
  end
  return not p.planned
end

-- What a step answers for a peering a dry run plans: nothing to look at
-- yet; the plan says what the step would do once the peering exists.
local PLANNED_STEP = {
  accept_peering = { "change", "accept the AWS peering connection the vendor will name" },
  ensure_routes = { "create", "a route to the vendor's CIDR in each route table" },
  ensure_ingress = { "create", "an ingress rule from the vendor's CIDR" },
  associate_hosted_zone = { "change", "associate the VPC with the vendor's private hosted zone" },
}

-- region_refusal(self, op, region) -> the `invalid` error when the
-- peering's VPC is in a region other than this client's, else nil (nil
-- region: not known, nothing to refuse)
local function region_refusal(self, op, region)
  if region and region ~= self.region then
    return select(2, invalid(op, "region", "the peering is with a VPC in " .. region .. "; this client is for "
      .. self.region .. " (pass region = \"" .. region .. "\")"))
  end
end

-- The argument of each vendor's create naming the AWS account that is to
-- accept (pl_provider.c: Instaclustr v1 peer_account_id, v2
-- peer_aws_account_id, Aerospike account_id, Aiven peer_cloud_account).
local PLANNED_ACCOUNT = {
  instaclustr = { "peer_account_id", "peer_aws_account_id" }, aerospike = { "account_id" },
  aiven = { "peer_cloud_account" },
}

local function planned(self, op, p, o)
  -- the region and the account the create asks for (its arguments) are
  -- known already: a client for another region or account would be refused
  -- in the real run, so here too (GetCallerIdentity changes nothing: a dry
  -- run sends it)
  local raw = type(p.raw) == "table" and p.raw or {}
  local rerr = region_refusal(self, op, aws_region(raw.peer_region or raw.region))
  if rerr then return nil, rerr end
  local account
  for _, k in ipairs(PLANNED_ACCOUNT[p.provider] or {}) do account = account or raw[k] end
  if type(account) == "string" then
    local me, merr = M.account(self)
    if not me then return nil, merr end
    if account ~= me then
      return fail("forbidden", op, "the planned " .. p.provider .. " peering is to be accepted by AWS account "
        .. account .. ", not this client's account " .. me .. " (make the AWS client with that account's "
        .. "credentials, or a role_arn in it)")
    end
  end
  local kind, what = table.unpack(PLANNED_STEP[op])
  if o.route_tables then what = what:gsub("each route table", table.concat(o.route_tables, ", ")) end
  if o.security_group then what = what .. " in " .. o.security_group end
  if o.ports then what = what .. ", ports " .. table.concat(o.ports, ", ") end
  plan.step("aws", op, kind, p, what)
  return { planned = true, added = {}, existing = {}, cidrs = {} }, "planned"
end

-- check_opts(op, opts, known[, more]) -> opts | nil, err: a step's options
-- checked all at once, as a client's are: names it does not know, timeout,
-- description, and more(opts, bad) for the step's own, each problem
-- bad(field, rule) in err.details and the message.
local function check_opts(op, opts, known, more)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error(string.format("bad argument #2 to '%s' (table expected, got %s)", op,
    type(opts)), caller()) end
  local details = {}
  local function bad(field, rule) details[#details + 1] = { field = field, rule = rule } end
  local names, unknown = {}, {}
  for name in pairs(known) do names[#names + 1] = name end
  for k in pairs(opts) do
    if not known[k] then unknown[#unknown + 1] = tostring(k) end
  end
  table.sort(unknown) -- a stable message: a table's order differs from run to run
  for _, k in ipairs(unknown) do bad(k, "is not an option of this step" .. core.did_you_mean(k, names)) end
  local t = opts.timeout
  if known.timeout and t ~= nil and (type(t) ~= "number" or t ~= t or t < 0 or t > 86400) then
    bad("timeout", "must be a number of seconds from 0 to 86400")
  end
  local d = opts.description
  if known.description and d ~= nil and (type(d) ~= "string" or #d > 255) then
    bad("description", "must be a string of at most 255 characters")
  end
  if more then more(opts, bad) end
  if #details == 0 then return opts end
  if #details == 1 then return invalid(op, details[1].field, details[1].rule) end
  local parts = {}
  for i, x in ipairs(details) do parts[i] = x.field .. ": " .. x.rule end
  return fail("invalid", op, "invalid options: " .. table.concat(parts, "; "), { details = details })
end

-- A v2 Instaclustr peering names no pcx- (AwsVpcPeerV2 has none; providers.md
-- 1.4): AWS has it as the connection requested from the data centre's VPC
-- (dataCentreVpcId) to the peer VPC, not yet rejected, failed or gone.
-- false while AWS shows none. Two live ones are refused, not guessed between:
-- AWS itself refuses a second connection between the same two VPCs while one
-- exists (EC2 API error codes: VpcPeeringConnectionAlreadyExists, "A VPC peering
-- connection between the VPCs already exists"), so two means something else
-- made one, and neither can be told to be the vendor's.
local LIVE = { "initiating-request", "pending-acceptance", "provisioning", "active" }
local function find_pcx(self, op, p, s)
  local r, err = self:describe_vpc_peering_connections({ filters = {
    ["requester-vpc-info.vpc-id"] = { s.requester_vpc }, ["accepter-vpc-info.vpc-id"] = { s.vpc },
    ["status-code"] = LIVE } })
  if not r then return nil, err end
  local ids = {}
  for _, x in ipairs(list(r.vpcPeeringConnectionSet)) do
    if type(x) == "table" and x.vpcPeeringConnectionId then ids[#ids + 1] = x.vpcPeeringConnectionId end
  end
  if #ids > 1 then
    table.sort(ids)
    return fail("conflict", op, "AWS has " .. #ids .. " live peering connections from " .. s.requester_vpc .. " to "
      .. s.vpc .. " (" .. table.concat(ids, ", ") .. "); which one is " .. p.provider .. " peering "
      .. tostring(p.id) .. " is not known: accept it by hand or delete the others")
  end
  return ids[1] or false
end

-- The vendor's view of the AWS side; waits (refreshing p) until the vendor
-- names its pcx-, or AWS shows it, which some do only once their side has
-- asked AWS. timeout: 600 s unless the step's opts say otherwise.
local function side_of(self, op, p, timeout)
  local deadline = core.now() + (timeout or 600)
  while true do
    local s = SIDES[p.provider](type(p.raw) == "table" and p.raw or {})
    local rerr = region_refusal(self, op, s.region)
    if rerr then return nil, rerr end
    if not s.pcx and s.requester_vpc and s.vpc then
      local id, err = find_pcx(self, op, p, s)
      if id == nil then return nil, err end
      s.pcx = id or nil
    end
    if s.pcx then
      local rule = core.check("aws_pcx", s.pcx)
      if rule then return fail("provider", op, p.provider .. " peering " .. tostring(p.id)
        .. " names AWS peering connection " .. tostring(s.pcx) .. ", which " .. rule) end
      return s
    end
    if p.state == "failed" or p.state == "rejected" or p.state == "expired" or p.state == "deleted" then
      return fail("state", op, p.provider .. " peering " .. tostring(p.id) .. " is " .. tostring(p.status)
        .. " and has no AWS peering connection to accept", { state = p.state })
    end
    if core.now() > deadline then
      return fail("timeout", op, p.provider .. " peering " .. tostring(p.id) .. " does not name its AWS peering "
        .. "connection (pcx-) yet" .. (s.requester_vpc and ", and AWS shows none from " .. s.requester_vpc
        .. " to " .. tostring(s.vpc) or ""), { retryable = true })
    end
    core.sleep(5 * self.poll_scale)
    local ok, err = p:refresh()
    if not ok then return nil, err end
  end
end

-- The client's own account (STS GetCallerIdentity), asked once: tasks
-- asking at the same time share the one request.
function M.account(self)
  if self.account_id then return self.account_id end
  local id, err = common.shared(self, "asking_account", function()
    local r, rerr = self:get_caller_identity({})
    if not r then return nil, rerr end
    return r.GetCallerIdentityResult and r.GetCallerIdentityResult.Account
  end)
  if id == nil and err then return nil, err end
  if type(id) ~= "string" then return fail("provider", "get_caller_identity", "GetCallerIdentity named no account") end
  self.account_id = id
  return id
end

-- Reads of one kind by id, made by steps running at the same time (a
-- hundred peerings at once), go out as one Describe filtered on all their
-- ids: a filter, not the id list, so that an id not there yet is only
-- absent from the answer instead of failing the others' call. At most 100
-- ids a call (EC2 takes up to 200 values in a filter: a model, the limit is
-- not in the API reference).
local BATCH_WINDOW, BATCH_MAX = 0.2, 100
local KINDS = {
  pcx = { op = "describe_vpc_peering_connections", filter = "vpc-peering-connection-id",
          set = "vpcPeeringConnectionSet", key = "vpcPeeringConnectionId" },
  rtb = { op = "describe_route_tables", filter = "route-table-id", set = "routeTableSet", key = "routeTableId" },
  sg = { op = "describe_security_groups", filter = "group-id", set = "securityGroupInfo", key = "groupId" },
}

-- read(self, kind, id) -> the object | false (not there) | nil, err
local function read(self, kind, id)
  self.batches = self.batches or {}
  local b = self.batches[kind]
  if not b or b.n >= BATCH_MAX then
    local k = KINDS[kind]
    b = { ids = {}, n = 0 }
    self.batches[kind] = b
    b.task = core.spawn(function()
      core.sleep(BATCH_WINDOW) -- gather the others who ask now
      if self.batches[kind] == b then self.batches[kind] = nil end
      local ids = {}
      for i in pairs(b.ids) do ids[#ids + 1] = i end
      table.sort(ids)
      local r, err = self[k.op](self, { filters = { [k.filter] = ids } })
      if not r then return nil, err end
      local by = {}
      for _, x in ipairs(list(r[k.set])) do
        if type(x) == "table" and x[k.key] then by[x[k.key]] = x end
      end
      return by
    end)
  end
  if not b.ids[id] then b.ids[id], b.n = true, b.n + 1 end
  local by, err = b.task:wait()
  if not by then return nil, err end
  return by[id] or false
end

-- The pcx-, read; an id the vendor just made may take a moment to show on
-- the AWS side: asked again for up to `wait` seconds.
-- region_known: the vendor's peering names its region (checked against
-- this client's); else the message says the region may be the cause.
local function describe_pcx(self, op, id, wait, region_known)
  local deadline = core.now() + (wait or 120)
  while true do
    local found, err = read(self, "pcx", id)
    if found then return found end
    if found == nil then return nil, err end
    if core.now() > deadline then
      return fail("not_found", op, "AWS peering connection " .. id .. " does not exist in account "
        .. tostring(self.account_id) .. " (" .. self.region .. ")" .. (region_known and "" or
          "; the vendor's peering names no region: if the VPC is in another, make the AWS client for it"
          .. " (peerlua.aws{region = ...})"))
    end
    core.sleep(3 * self.poll_scale)
  end
end

local function status_of(pcx)
  return type(pcx.status) == "table" and pcx.status.code or nil
end

-- An AWS pcx- status code (VpcPeeringConnectionStateReasonCode, the EC2 API
-- reference) as the canonical state err.state carries, as p.state does.
local function canonical(status)
  if status == "initiating-request" then return "pending" end
  return type(status) == "string" and status:gsub("-", "_") or "unknown"
end

-- The vendor's CIDR blocks: the requester side of the pcx- (cidrBlockSet
-- when the VPC has several, cidrBlock otherwise).
local function requester_cidrs(pcx)
  local info = type(pcx.requesterVpcInfo) == "table" and pcx.requesterVpcInfo or {}
  local out, seen = {}, {}
  for _, b in ipairs(list(info.cidrBlockSet)) do
    if type(b) == "table" and b.cidrBlock and not seen[b.cidrBlock] then
      out[#out + 1], seen[b.cidrBlock] = b.cidrBlock, true
    end
  end
  if #out == 0 and type(info.cidrBlock) == "string" then out[1] = info.cidrBlock end
  return out
end

-- side + the pcx- as AWS has it, checked against what the vendor asked for
-- and against this client's account and region. What accept_peering
-- checked and did is kept on p for the steps that follow it (a minute at
-- most), so they do not read the pcx- again.
local REUSE = 60
local kept_sides = setmetatable({}, { __mode = "k" }) -- peering -> {client=, at=, side=}, out of the script's reach
local function checked(self, op, p, opts)
  local kept = kept_sides[p]
  if kept and kept.client == self and core.now() - kept.at < REUSE then return kept.side end
  local side, err = side_of(self, op, p, opts.timeout)
  if not side then return nil, err end
  local me, merr = M.account(self)
  if not me then return nil, merr end
  if side.account and side.account ~= me then
    return fail("forbidden", op, p.provider .. " peering " .. tostring(p.id) .. " is to be accepted by AWS account "
      .. side.account .. ", not this client's account " .. me)
  end
  local pcx, perr = describe_pcx(self, op, side.pcx, opts.timeout, side.region ~= nil)
  if not pcx then return nil, perr end
  local acc = type(pcx.accepterVpcInfo) == "table" and pcx.accepterVpcInfo or {}
  if acc.ownerId ~= me or (side.vpc and acc.vpcId ~= side.vpc) then
    return fail("forbidden", op, "AWS peering connection " .. side.pcx .. " is to VPC " .. tostring(acc.vpcId)
      .. " of account " .. tostring(acc.ownerId) .. ", not to " .. tostring(side.vpc) .. " of " .. me
      .. " as the " .. p.provider .. " peering asks; refused")
  end
  side.aws = pcx
  side.vpc = acc.vpcId
  side.cidrs = requester_cidrs(pcx)
  return side
end

-- accept_peering(p[, {timeout=}]) -> {pcx=, status=, vpc=, cidrs=}, "accepted" | "existing" | nil, err
function M.accept_peering(self, p, opts)
  local op = "accept_peering"
  local live = check_peering(op, p)
  local o, oerr = check_opts(op, opts, { timeout = true })
  if not o then return nil, oerr end
  if not live then return planned(self, op, p, o) end
  local deadline = core.now() + (o.timeout or 600)
  local side, err = checked(self, op, p, o)
  if not side then return nil, err end
  local status = status_of(side.aws)
  -- AWS is still passing the request to this account (a fresh Aerospike
  -- pcx-: VpcPeeringConnectionStateReasonCode initiating-request, before
  -- pending-acceptance): wait for it, as for the pcx- to appear
  while status == "initiating-request" do
    if core.now() > deadline then
      return fail("timeout", op, "AWS peering connection " .. side.pcx .. " is still initiating-request after "
        .. (o.timeout or 600) .. " s; it cannot be accepted before it is pending-acceptance",
        { state = "pending", retryable = true })
    end
    core.sleep(3 * self.poll_scale)
    local again, rerr = read(self, "pcx", side.pcx)
    if again == nil then return nil, rerr end
    if again then side.aws, status = again, status_of(again) end
  end
  local result = { pcx = side.pcx, status = status, vpc = side.vpc, cidrs = side.cidrs }
  if status == "active" or status == "provisioning" then return result, "existing" end
  if status ~= "pending-acceptance" then
    -- AWS's word on why, where it gives one (VpcPeeringConnectionStateReason's
    -- message, EC2 API reference: "more information about the status")
    local why = type(side.aws.status) == "table" and side.aws.status.message
    return fail("state", op, "AWS peering connection " .. side.pcx .. " is " .. tostring(status)
      .. ", not pending-acceptance" .. (type(why) == "string" and why ~= "" and " (AWS: " .. why .. ")" or ""),
      { state = canonical(status) })
  end
  local r, aerr = self:accept_vpc_peering_connection({ vpc_peering_connection_id = side.pcx })
  if r == true and aerr == "planned" then -- a dry run: the steps after it plan as if accepted
    side.planned_accept = true
    kept_sides[p] = { client = self, at = core.now(), side = side }
    result.status = "planned"
    return result, "planned"
  end
  if not r then
    -- accepted meanwhile (another copy of the script, a person): read it again
    local again = describe_pcx(self, op, side.pcx, 0)
    local now = again and status_of(again)
    if now == "active" or now == "provisioning" then
      result.status = now
      return result, "existing"
    end
    return nil, aerr
  end
  local got = type(r.vpcPeeringConnection) == "table" and r.vpcPeeringConnection
  result.status = got and status_of(got) or "provisioning"
  side.aws.status = { code = result.status }
  kept_sides[p] = { client = self, at = core.now(), side = side }
  return result, "accepted"
end

local function accepted(op, side)
  local status = status_of(side.aws)
  if status == "active" or status == "provisioning" or side.planned_accept then return true end
  return fail("state", op, "AWS peering connection " .. side.pcx .. " is " .. tostring(status)
    .. "; accept it first (aws:accept_peering)", { state = canonical(status) })
end

-- ensure_routes(p[, {route_tables = {"rtb-..."}, timeout=}]) ->
--   {added = {{route_table=, destination=}}, existing = {...}}, "added" | "existing" | nil, err
-- Default: every route table of the VPC. A route to the vendor's CIDR that
-- goes elsewhere is a conflict, not replaced.
function M.ensure_routes(self, p, opts)
  local op = "ensure_routes"
  local live = check_peering(op, p)
  local o, oerr = check_opts(op, opts, { route_tables = true, timeout = true }, function(given, bad)
    local tables = given.route_tables
    if tables == nil then return end
    if type(tables) ~= "table" or #tables == 0 then return bad("route_tables", "must be a list of route table ids") end
    for i, id in ipairs(tables) do
      local rule = core.check("aws_rtb", id)
      if rule then bad("route_tables[" .. i .. "]", rule) end
    end
  end)
  if not o then return nil, oerr end
  if not live then return planned(self, op, p, o) end
  local side, err = checked(self, op, p, o)
  if not side then return nil, err end
  local ok, serr = accepted(op, side)
  if not ok then return nil, serr end
  local tables = {}
  if o.route_tables then
    for i, id in ipairs(o.route_tables) do
      local t, terr = read(self, "rtb", id)
      if t == nil then return nil, terr end
      if not t then return invalid(op, "route_tables[" .. i .. "]", "route table " .. id .. " does not exist in "
        .. "account " .. tostring(self.account_id) .. " (" .. self.region .. ")") end
      tables[i] = t
    end
  else
    local r, rerr = self:describe_route_tables({ filters = { ["vpc-id"] = side.vpc } })
    if not r then return nil, rerr end
    tables = list(r.routeTableSet)
  end
  for i, t in ipairs(tables) do
    if t.vpcId ~= side.vpc then
      return invalid(op, "route_tables[" .. i .. "]", "route table " .. tostring(t.routeTableId) .. " is in "
        .. tostring(t.vpcId) .. ", not in the peered VPC " .. side.vpc)
    end
  end
  if #tables == 0 then return fail("not_found", op, "VPC " .. side.vpc .. " has no route tables") end
  -- look at everything before changing anything
  local todo, result = {}, { added = {}, existing = {} }
  for _, t in ipairs(tables) do
    for _, cidr in ipairs(side.cidrs) do
      local have
      for _, route in ipairs(list(t.routeSet)) do
        if route.destinationCidrBlock == cidr then have = route end
      end
      local entry = { route_table = t.routeTableId, destination = cidr }
      if not have then
        todo[#todo + 1] = entry
      elseif have.vpcPeeringConnectionId == side.pcx then
        result.existing[#result.existing + 1] = entry
      else
        return fail("conflict", op, "route table " .. t.routeTableId .. " already sends " .. cidr .. " to "
          .. tostring(have.vpcPeeringConnectionId or have.gatewayId or have.natGatewayId or "another target")
          .. ", not to " .. side.pcx .. "; change or remove that route first")
      end
    end
  end
  for _, entry in ipairs(todo) do
    local done, cerr = self:create_route({ route_table_id = entry.route_table, destination_cidr_block = entry.destination,
                                           vpc_peering_connection_id = side.pcx })
    if not done then return nil, cerr end
    table.insert(result.added, entry)
  end
  return result, #result.added > 0 and "added" or "existing"
end

local function has_permission(group, port, cidr)
  for _, perm in ipairs(list(group.ipPermissions)) do
    local proto = perm.ipProtocol
    local from, to = tonumber(perm.fromPort), tonumber(perm.toPort)
    if proto == "-1" or (proto == "tcp" and from and to and from <= port and port <= to) then
      for _, r in ipairs(list(perm.ipRanges)) do
        if r.cidrIp == cidr then return true end
      end
    end
  end
  return false
end

-- ensure_ingress(p[, {security_group = "sg-...", ports = {...}, timeout=}])
--   -> {added = {{port=, cidr=}}, existing = {...}, security_group=}, "added" | "existing" | nil, err
-- Default group: the VPC's "default"; default ports: the vendor's (Aerospike
-- 4000); TCP from each of the vendor's CIDR blocks.
function M.ensure_ingress(self, p, opts)
  local op = "ensure_ingress"
  local live = check_peering(op, p)
  local ports = type(opts) == "table" and opts.ports or SIDES[p.provider](type(p.raw) == "table" and p.raw or {}).ports
  local known = { security_group = true, ports = true, timeout = true, description = true }
  local o, oerr = check_opts(op, opts, known, function(given, bad)
    if given.security_group ~= nil then
      local rule = core.check("aws_sg", given.security_group)
      if rule then bad("security_group", rule) end
    end
    if ports == nil then
      return bad("ports", "is required for " .. p.provider .. " peerings: the ports of the cluster's "
        .. "application (e.g. {9042} for Cassandra CQL, {9092} for Kafka)")
    end
    if type(ports) ~= "table" then return bad("ports", "must be a list of port numbers") end
    if #ports == 0 then return bad("ports", "must list at least one port") end
    for i, port in ipairs(ports) do
      if math.type(port) ~= "integer" or port < 1 or port > 65535 then
        bad("ports[" .. i .. "]", "must be a whole number from 1 to 65535")
      end
    end
  end)
  if not o then return nil, oerr end
  local unique, seen = {}, {}
  for _, port in ipairs(ports) do
    if not seen[port] then unique[#unique + 1], seen[port] = port, true end
  end
  ports = unique
  if not live then return planned(self, op, p, { security_group = o.security_group, ports = ports }) end
  local side, err = checked(self, op, p, o)
  if not side then return nil, err end
  local group
  if o.security_group then
    local g, gerr = read(self, "sg", o.security_group)
    if g == nil then return nil, gerr end
    if not g then return invalid(op, "security_group", "security group " .. o.security_group .. " does not exist "
      .. "in account " .. tostring(self.account_id) .. " (" .. self.region .. ")") end
    group = g
  else
    local r, rerr = self:describe_security_groups({ filters = { ["vpc-id"] = side.vpc, ["group-name"] = "default" } })
    if not r then return nil, rerr end
    for _, g in ipairs(list(r.securityGroupInfo)) do
      if g.groupName == "default" then group = g end
    end
    if not group then
      return invalid(op, "security_group", "VPC " .. side.vpc .. " has no default security group: give one")
    end
  end
  if group.vpcId ~= side.vpc then
    return invalid(op, "security_group", "security group " .. tostring(group.groupId) .. " is in "
      .. tostring(group.vpcId) .. ", not in the peered VPC " .. side.vpc)
  end
  local perms, result = {}, { added = {}, existing = {}, security_group = group.groupId }
  for _, port in ipairs(ports) do
    for _, cidr in ipairs(side.cidrs) do
      local entry = { port = port, cidr = cidr }
      if has_permission(group, port, cidr) then
        table.insert(result.existing, entry)
      else
        table.insert(result.added, entry)
        perms[#perms + 1] = { ip_protocol = "tcp", from_port = port, to_port = port,
                              ip_ranges = { { cidr_ip = cidr, description = o.description
                                or (p.provider .. " peering " .. side.pcx) } } }
      end
    end
  end
  if #perms == 0 then return result, "existing" end
  -- one call a rule: EC2 refuses a whole call for one duplicate (another
  -- copy of the script adding the same rule meanwhile), so a call of one is
  -- what lets "already there" mean exactly that rule
  for _, perm in ipairs(perms) do
    local done, aerr = self:authorize_security_group_ingress({ group_id = group.groupId, ip_permissions = { perm } })
    if not done then return nil, aerr end
  end
  return result, "added"
end

-- associate_hosted_zone(p[, {timeout=}]) -> {zone=, vpc=, change=}, "associated" | "existing" | nil, err
-- The vendor's account owns the zone and has authorised the association
-- (providers.md 3.4, step 3); the customer's account associates its VPC.
function M.associate_hosted_zone(self, p, opts)
  local op = "associate_hosted_zone"
  local live = check_peering(op, p)
  local o, oerr = check_opts(op, opts, { timeout = true })
  if not o then return nil, oerr end
  if not live then return planned(self, op, p, o) end
  local side, err = checked(self, op, p, o)
  if not side then return nil, err end
  if not side.zone then
    return fail("invalid", op, p.provider .. " peering " .. tostring(p.id) .. " has no private hosted zone")
  end
  -- the zones the VPC is in already (a zone of another account's is listed too)
  local have, lerr = self:list_hosted_zones_by_vpc({ vpc_id = side.vpc, vpc_region = self.region })
  if not have then return nil, lerr end
  local summaries = type(have.HostedZoneSummaries) == "table" and have.HostedZoneSummaries or {}
  for _, z in ipairs(list(summaries.HostedZoneSummary)) do
    -- Route 53 answers ids with or without the /hostedzone/ prefix
    if type(z) == "table" and tostring(z.HostedZoneId):gsub("^/hostedzone/", "") == side.zone then
      return { zone = side.zone, vpc = side.vpc }, "existing"
    end
  end
  local r, aerr = self:associate_vpc_with_hosted_zone({ hosted_zone_id = side.zone, vpc_id = side.vpc,
                                                        vpc_region = self.region })
  if r == true and aerr == "planned" then return { zone = side.zone, vpc = side.vpc }, "planned" end
  if not r then
    -- the VPC is associated already: Route 53 refuses a second association
    -- (ConflictingDomainExists; a model where the reference is not explicit)
    if type(aerr) == "table" and aerr.provider_code == "ConflictingDomainExists" then
      return { zone = side.zone, vpc = side.vpc }, "existing"
    end
    return nil, aerr
  end
  local change = type(r.ChangeInfo) == "table" and r.ChangeInfo or {}
  return { zone = side.zone, vpc = side.vpc, change = change.Id, status = change.Status }, "associated"
end

-- In a dry run, a step that finds its work done counts as already as wanted.
for op in pairs(PLANNED_STEP) do
  local step = M[op]
  M[op] = function(self, p, opts)
    local result, how = step(self, p, opts)
    if how == "existing" and plan.on then plan.step_exists("aws", op, p) end
    return result, how
  end
end

return M
