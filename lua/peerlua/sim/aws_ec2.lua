-- peerlua.sim.aws_ec2: the emulated EC2 Query API (version 2016-11-15) at
-- /aws/ec2/ (and ec2.REGION.amazonaws.com): DescribeVpcPeeringConnections,
-- AcceptVpcPeeringConnection, RejectVpcPeeringConnection,
-- DescribeRouteTables, CreateRoute, DeleteRoute, DescribeSecurityGroups,
-- AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress. Parameters as
-- a form body or a GET's query (Filter.N.Name/Value.M, Id.N lists);
-- answers <ActionResponse xmlns=...><requestId/>..., lists as <item>;
-- errors <Response><Errors><Error><Code/><Message/></Error></Errors>
-- <RequestID/></Response>. Resources are per account and region; the pcx-
-- ids are the vendors' (app:aws_peerings). The sources ([ec2], [ec2err],
-- [common], ...) are listed in peerlua.sim.aws.
local response = require("peerlua.sim.response")
local wire = require("peerlua.sim.aws_wire")

local el, iso = wire.el, wire.iso
local items, cidr_ok, params_of, is_region = wire.items, wire.cidr_ok, wire.params_of, wire.is_region

local EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/" -- [ec2] metadata.xmlNamespace (with the / AWS answers with)

local M = {}

-- mount(r, ctx): the routes on r (the /aws router); ctx: see peerlua.sim.aws
function M.mount(rt, ctx)
  local app, fx, state, verify, token = ctx.app, ctx.fx, ctx.state, ctx.verify, ctx.token
  local request_id, find_vpc, allowed = ctx.request_id, ctx.find_vpc, ctx.allowed
  -- ---- peerings, as the vendors publish them ----

  -- AWS's words ([ec2] VpcPeeringConnectionStateReasonCode)
  local CODES = {}
  for _, w in ipairs({ "initiating-request", "pending-acceptance", "active", "deleted", "rejected", "failed",
                       "expired", "provisioning", "deleting" }) do CODES[w] = true end

  local function pcx_status(x)
    local st = CODES[x.status] and x.status or "failed"
    local acct_known = false
    for _, a in ipairs(fx.accounts or {}) do acct_known = acct_known or a.account_id == x.accepter.account end
    local v = find_vpc(x.accepter.vpc)
    if acct_known and (st == "pending-acceptance" or st == "initiating-request")
       and not (v and v.account_id == x.accepter.account and v.region == x.accepter.region) then
      return "failed"
    end
    return st
  end

  -- the status message; MODEL (AWS writes e.g. "Pending Acceptance by
  -- 123456789012"; the failed one is the VPC console's)
  local function pcx_message(st, x)
    local words = {
      ["initiating-request"] = "Initiating Request to " .. tostring(x.accepter.account),
      ["pending-acceptance"] = "Pending Acceptance by " .. tostring(x.accepter.account),
      provisioning = "Provisioning", active = "Active", deleting = "Deleting",
      rejected = "Rejected by " .. tostring(x.accepter.account), expired = "Expired",
      deleted = "Deleted by " .. tostring(x.requester.account),
      failed = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range",
    }
    return words[st]
  end

  local function all_pcx()
    local list = app:aws_peerings()
    local by = {}
    for _, x in ipairs(list) do by[x.pcx] = x end
    return list, by
  end

  -- visible to the accepter in the accepter's region, to the requester in
  -- the requester's ([ec2] AcceptVpcPeeringConnection: "you must accept the
  -- VPC peering connection in the Region of the accepter VPC")
  local function pcx_visible(x, account, region)
    return (x.accepter.account == account and x.accepter.region == region)
      or (x.requester.account == account and x.requester.region == region)
  end

  local function vpc_info(side, cidr, active)
    return {
      el("cidrBlock", cidr),
      cidr and items("cidrBlockSet", { cidr }, function(c) return { el("cidrBlock", c) } end) or "",
      el("ownerId", side.account),
      active and el("peeringOptions", { el("allowDnsResolutionFromRemoteVpc", false),
        el("allowEgressFromLocalClassicLinkToRemoteVpc", false),
        el("allowEgressFromLocalVpcToRemoteClassicLink", false) }) or "",
      el("vpcId", side.vpc), el("region", side.region),
    }
  end

  -- [ec2] VpcPeeringConnection, members in the model's order
  local function pcx_view(x)
    local st = pcx_status(x)
    local on = st == "active" or st == "provisioning"
    local acc_vpc = find_vpc(x.accepter.vpc)
    local expires = nil
    if (st == "pending-acceptance" or st == "initiating-request") and x.expires then
      expires = iso(app:now() + (x.expires - app:clock()) / app.time_scale)
    end
    return {
      el("accepterVpcInfo", vpc_info(x.accepter, on and acc_vpc and acc_vpc.cidr or nil, st == "active")),
      el("expirationTime", expires),
      el("requesterVpcInfo", vpc_info(x.requester, x.requester.cidr, st == "active")),
      el("status", { el("code", st), el("message", pcx_message(st, x)) }),
      el("tagSet", {}),
      el("vpcPeeringConnectionId", x.pcx),
    }
  end

  -- ---- EC2 ----

  local function ec2_error(status, code, message)
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n' .. el("Response", {
      el("Errors", { el("Error", { el("Code", code), el("Message", message) }) }), el("RequestID", request_id()) })
    return response.raw(status, body, "text/xml;charset=UTF-8")
  end

  local function ec2_ok(action, parts)
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<' .. action .. 'Response xmlns="' .. EC2_NS .. '">'
      .. el("requestId", request_id()) .. table.concat(parts) .. "</" .. action .. "Response>"
    return response.raw(200, body, "text/xml;charset=UTF-8")
  end

  -- values of Name.1, Name.2, ... in index order ([ec2] flattened lists)
  local function list_param(params, name)
    local found = {}
    local pat = "^" .. name:gsub("%.", "%%.") .. "%.(%d+)$"
    for k, v in pairs(params) do
      local n = k:match(pat)
      if n then found[#found + 1] = { tonumber(n), v } end
    end
    table.sort(found, function(a, b) return a[1] < b[1] end)
    local out = {}
    for i, f in ipairs(found) do out[i] = f[2] end
    return out
  end

  -- Filter.N.Name / Filter.N.Value.M ([ec2] FilterList locationName
  -- "Filter", Values locationName "Value") -> {{name, values = {set}}}
  local function filters(params)
    local by = {}
    for k, v in pairs(params) do
      local n, rest = k:match("^Filter%.(%d+)%.(.+)$")
      if n then
        local f = by[n] or { values = {} }
        by[n] = f
        if rest == "Name" then f.name = v elseif rest:match("^Value%.%d+$") then f.values[v] = true end
      end
    end
    local out = {}
    for _, f in pairs(by) do out[#out + 1] = f end
    return out
  end

  -- a filter value matches: "*" zero or more characters, "?" exactly one, a
  -- backslash escapes ("Wildcards can be included in filter values", the
  -- AWS SDK for .NET's Amazon.EC2.Model.Filter reference,
  -- docs.aws.amazon.com/sdkfornet1/latest/apidocs/html/T_Amazon_EC2_Model_Filter.htm)
  local function value_matches(want, have)
    if not want:find("[*?]") then return want == have end
    local pat, i = {}, 1
    while i <= #want do
      local c = want:sub(i, i)
      if c == "\\" and i < #want then
        i = i + 1
        local e = want:sub(i, i)
        pat[#pat + 1] = e:match("%p") and "%" .. e or e
      elseif c == "*" then
        pat[#pat + 1] = ".*"
      elseif c == "?" then
        pat[#pat + 1] = "."
      else
        pat[#pat + 1] = c:match("%p") and "%" .. c or c
      end
      i = i + 1
    end
    return have:match("^" .. table.concat(pat) .. "$") ~= nil
  end

  -- filters_match(fs, known, fields) -> true | false | nil, bad filter name:
  -- fields(name) gives the values the resource has for that filter
  local function filters_match(fs, known, fields)
    for _, f in ipairs(fs) do
      if not f.name or not known[f.name] then return nil, f.name or "(no name)" end
      local hit = false
      for _, have in ipairs(fields(f.name)) do
        for want in pairs(f.values) do hit = hit or value_matches(want, tostring(have)) end
      end
      if not hit then return false end
    end
    return true
  end

  local function bad_filter(name)
    -- [ec2err] InvalidParameterValue; message MODEL
    return ec2_error(400, "InvalidParameterValue", "The filter '" .. tostring(name) .. "' is invalid")
  end

  -- page(params, list, max) -> the page, the next token | nil, error:
  -- MaxResults 5..max ([ec2] Describe*MaxResults: min 5, max 1000, 100
  -- for route tables; "If this parameter is not specified, then all items
  -- are returned"), NextToken from the answer before. The token is
  -- opaque to clients; here it holds the offset (MODEL).
  local function page(params, list, max)
    local first, size = 1, #list
    if params.MaxResults then
      size = math.tointeger(tonumber(params.MaxResults))
      if not size or size < 5 or size > max then
        return nil, ec2_error(400, "InvalidParameterValue", "Value ( " .. params.MaxResults .. " ) for parameter "
                              .. "maxResults is invalid. Parameter must be between 5 and " .. max)
      end
    end
    if params.NextToken then
      first = math.tointeger(tonumber(params.NextToken:match("^sim%-page%-(%d+)$") or ""))
      if not first or first < 1 or first > #list + 1 then
        -- [ec2err] InvalidPaginationToken; message MODEL
        return nil, ec2_error(400, "InvalidPaginationToken", "Invalid pagination token: " .. params.NextToken)
      end
    end
    local out = table.move(list, first, math.min(#list, first + size - 1), 1, {})
    local next_at = first + size
    return out, next_at <= #list and ("sim-page-" .. next_at) or nil
  end

  local ec2 = {} -- action -> fn(params, principal, region) -> response

  -- ids checked for form, then found: malformed / not found errors
  -- ([ec2err] InvalidVpcPeeringConnectionId.Malformed, ...ID.NotFound)
  local function pcx_id_problem(id)
    if type(id) ~= "string" or not (id:match("^pcx%-%x%x%x%x%x%x%x%x$") or id:match("^pcx%-" .. ("%x"):rep(17) .. "$")) then
      return ec2_error(400, "InvalidVpcPeeringConnectionId.Malformed", 'Invalid id: "' .. tostring(id)
                       .. '" (expecting "pcx-...")')
    end
  end
  local function pcx_not_found(id)
    return ec2_error(400, "InvalidVpcPeeringConnectionID.NotFound",
                     "The vpcPeeringConnection ID '" .. id .. "' does not exist")
  end

  local PCX_FILTERS = { ["vpc-peering-connection-id"] = true, ["status-code"] = true,
                        ["requester-vpc-info.vpc-id"] = true, ["accepter-vpc-info.vpc-id"] = true,
                        ["requester-vpc-info.owner-id"] = true, ["accepter-vpc-info.owner-id"] = true,
                        ["requester-vpc-info.cidr-block"] = true, ["accepter-vpc-info.cidr-block"] = true }

  function ec2.DescribeVpcPeeringConnections(params, p, region)
    local ids = list_param(params, "VpcPeeringConnectionId") -- [ec2] queryName via locationName
    for _, id in ipairs(ids) do
      local bad = pcx_id_problem(id)
      if bad then return bad end
    end
    local list, by = all_pcx()
    for _, id in ipairs(ids) do
      if not by[id] or not pcx_visible(by[id], p.account, region) then return pcx_not_found(id) end
    end
    local want = {}
    for _, id in ipairs(ids) do want[id] = true end
    local fs, out = filters(params), {}
    for _, x in ipairs(list) do
      if pcx_visible(x, p.account, region) and (#ids == 0 or want[x.pcx]) then
        local acc_vpc = find_vpc(x.accepter.vpc)
        local ok, bad = filters_match(fs, PCX_FILTERS, function(name)
          if name == "vpc-peering-connection-id" then return { x.pcx } end
          if name == "status-code" then return { pcx_status(x) } end
          local side, field = name:match("^(%l+)%-vpc%-info%.(.+)$")
          local s = side == "requester" and x.requester or x.accepter
          if field == "vpc-id" then return { s.vpc } end
          if field == "owner-id" then return { s.account } end
          return { side == "requester" and x.requester.cidr or (acc_vpc and acc_vpc.cidr) }
        end)
        if ok == nil then return bad_filter(bad) end
        if ok then out[#out + 1] = x end
      end
    end
    local pg, tok = page(params, out, 1000)
    if not pg then return tok end
    -- [ec2] DescribeVpcPeeringConnectionsResult: vpcPeeringConnectionSet, nextToken
    return ec2_ok("DescribeVpcPeeringConnections", { items("vpcPeeringConnectionSet", pg, pcx_view), el("nextToken", tok) })
  end

  -- the pcx named by VpcPeeringConnectionId that the caller may answer
  local function answerable(params, p, region)
    local id = params.VpcPeeringConnectionId
    if not id then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter vpcPeeringConnectionId")
    end
    local bad = pcx_id_problem(id)
    if bad then return nil, bad end
    local _, by = all_pcx()
    local x = by[id]
    if not x or not pcx_visible(x, p.account, region) then return nil, pcx_not_found(id) end
    if x.accepter.account ~= p.account then
      -- MODEL: the requester may not accept its own request ([ec2] "you must
      -- be the owner of the peer VPC"); code OperationNotPermitted ([ec2err])
      return nil, ec2_error(400, "OperationNotPermitted", "User " .. p.account .. " cannot accept peering " .. id)
    end
    local st = pcx_status(x)
    if st ~= "pending-acceptance" then
      -- [ec2] "the VPC peering connection must be in the pending-acceptance
      -- state"; InvalidStateTransition ([ec2err]); message MODEL
      return nil, ec2_error(400, "InvalidStateTransition", "Invalid state transition for " .. id
                            .. ", attempted to transition from " .. st .. " to " .. (params.Action == "AcceptVpcPeeringConnection"
                            and "provisioning" or "rejected"))
    end
    return x
  end

  function ec2.AcceptVpcPeeringConnection(params, p, region)
    local x, err = answerable(params, p, region)
    if not x then return err end
    local ok, why = x.accept(true)
    if not ok then return ec2_error(500, "InternalError", "An internal error has occurred: " .. tostring(why)) end
    local _, by = all_pcx()
    -- [ec2] AcceptVpcPeeringConnectionResult: vpcPeeringConnection
    return ec2_ok("AcceptVpcPeeringConnection", { el("vpcPeeringConnection", pcx_view(by[x.pcx] or x)) })
  end

  function ec2.RejectVpcPeeringConnection(params, p, region)
    local x, err = answerable(params, p, region)
    if not x then return err end
    local ok, why = x.accept(false)
    if not ok then return ec2_error(500, "InternalError", "An internal error has occurred: " .. tostring(why)) end
    return ec2_ok("RejectVpcPeeringConnection", { el("return", true) }) -- [ec2] RejectVpcPeeringConnectionResult
  end

  -- ---- route tables ----

  -- owned(kind, id, p, region) -> the route table or security group id of
  -- principal p's account in region | nil, EC2's Malformed or NotFound error
  local OWNED = {
    table = { store = "tables", form = "^rtb%-%x+$", malformed = "InvalidRouteTableId.Malformed", hint = "",
              missing = "InvalidRouteTableID.NotFound", what = "The routeTable ID '" },
    group = { store = "groups", form = "^sg%-%x+$", malformed = "InvalidGroupId.Malformed",
              hint = ' (expecting "sg-...")', missing = "InvalidGroup.NotFound", what = "The security group '" },
  }
  local function owned(kind, id, p, region)
    local k = OWNED[kind]
    if type(id) ~= "string" or not id:match(k.form) then
      return nil, ec2_error(400, k.malformed, 'Invalid id: "' .. tostring(id) .. '"' .. k.hint)
    end
    local v = state[k.store][id]
    if not v or v.account ~= p.account or v.region ~= region then
      return nil, ec2_error(400, k.missing, k.what .. id .. "' does not exist")
    end
    return v
  end
  local function my_table(id, p, region) return owned("table", id, p, region) end

  -- a route's state: blackhole when its peering is not active ([ec2]
  -- RouteState; "blackhole ... the route's target isn't available")
  local function route_state(r, by)
    if not r.pcx then return "active" end
    local x = by[r.pcx]
    return x and pcx_status(x) == "active" and "active" or "blackhole"
  end

  -- [ec2] RouteTable, Route, RouteTableAssociation
  local function table_view(t, by)
    return {
      t.main and items("associationSet", { t }, function(a)
        return { el("main", true), el("routeTableAssociationId", a.assoc), el("routeTableId", a.id),
                 el("associationState", { el("state", "associated") }) }
      end) or el("associationSet", {}),
      el("propagatingVgwSet", {}),
      el("routeTableId", t.id),
      items("routeSet", t.routes, function(r)
        return { el("destinationCidrBlock", r.cidr), el("gatewayId", r.gateway), el("origin", r.origin),
                 el("state", route_state(r, by)), el("vpcPeeringConnectionId", r.pcx) }
      end),
      el("tagSet", {}), el("vpcId", t.vpc), el("ownerId", t.account),
    }
  end

  local RTB_FILTERS = { ["vpc-id"] = true, ["route-table-id"] = true, ["association.main"] = true,
                        ["route.vpc-peering-connection-id"] = true, ["route.destination-cidr-block"] = true,
                        ["owner-id"] = true }

  function ec2.DescribeRouteTables(params, p, region)
    local ids = list_param(params, "RouteTableId")
    for _, id in ipairs(ids) do
      local _, err = my_table(id, p, region)
      if err then return err end
    end
    local want = {}
    for _, id in ipairs(ids) do want[id] = true end
    local fs, out = filters(params), {}
    local _, by = all_pcx()
    for _, id in ipairs(state.table_order) do
      local t = state.tables[id]
      if t.account == p.account and t.region == region and (#ids == 0 or want[id]) then
        local ok, bad = filters_match(fs, RTB_FILTERS, function(name)
          if name == "vpc-id" then return { t.vpc } end
          if name == "route-table-id" then return { t.id } end
          if name == "owner-id" then return { t.account } end
          if name == "association.main" then return t.main and { "true" } or {} end
          local vals = {}
          for _, r in ipairs(t.routes) do
            vals[#vals + 1] = name == "route.vpc-peering-connection-id" and r.pcx or r.cidr
          end
          return vals
        end)
        if ok == nil then return bad_filter(bad) end
        if ok then out[#out + 1] = t end
      end
    end
    local pg, tok = page(params, out, 100)
    if not pg then return tok end
    -- [ec2] DescribeRouteTablesResult: routeTableSet, nextToken
    return ec2_ok("DescribeRouteTables", { items("routeTableSet", pg, function(t) return table_view(t, by) end),
                                           el("nextToken", tok) })
  end

  local function destination(params)
    local cidr = params.DestinationCidrBlock
    if not cidr then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter destinationCidrBlock "
                            .. "or destinationIpv6CidrBlock or destinationPrefixListId")
    end
    if not cidr_ok(cidr) then
      return nil, ec2_error(400, "InvalidParameterValue", "Value (" .. cidr .. ") for parameter destinationCidrBlock "
                            .. "is invalid. This is not a valid CIDR block.")
    end
    return cidr
  end

  -- the table and destination a CreateRoute or DeleteRoute names | nil, the error
  local function route_target(params, p, region)
    if not params.RouteTableId then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter routeTableId")
    end
    local t, err = my_table(params.RouteTableId, p, region)
    if not t then return nil, err end
    local cidr, derr = destination(params)
    if not cidr then return nil, derr end
    return t, cidr
  end

  function ec2.CreateRoute(params, p, region)
    local t, cidr = route_target(params, p, region)
    if not t then return cidr end
    local pcx, gw = params.VpcPeeringConnectionId, params.GatewayId
    if (pcx == nil) == (gw == nil) then
      -- [ec2] CreateRoute: "You must also specify exactly one of the resources"
      return ec2_error(400, "InvalidParameterCombination", "The request must contain exactly one of gatewayId, "
                       .. "vpcPeeringConnectionId (the targets this emulator models)")
    end
    if pcx then
      local bad = pcx_id_problem(pcx)
      if bad then return bad end
      local _, by = all_pcx()
      local x = by[pcx]
      if not x or not pcx_visible(x, p.account, region) then return pcx_not_found(pcx) end
      if x.accepter.vpc ~= t.vpc and x.requester.vpc ~= t.vpc then
        -- MODEL message
        return ec2_error(400, "InvalidParameterValue", "route table " .. t.id .. " and network gateway " .. pcx
                         .. " belong to different networks")
      end
    end
    for _, r in ipairs(t.routes) do
      if r.cidr == cidr then
        -- one route per destination in a table ([ec2err] RouteAlreadyExists); message MODEL
        return ec2_error(400, "RouteAlreadyExists", "The route identified by " .. cidr .. " already exists.")
      end
    end
    t.routes[#t.routes + 1] = { cidr = cidr, pcx = pcx, gateway = gw, origin = "CreateRoute" }
    return ec2_ok("CreateRoute", { el("return", true) }) -- [ec2] CreateRouteResult
  end

  function ec2.DeleteRoute(params, p, region)
    local t, cidr = route_target(params, p, region)
    if not t then return cidr end
    for i, r in ipairs(t.routes) do
      if r.cidr == cidr then
        if r.origin == "CreateRouteTable" then
          -- MODEL: the local route cannot go ([ec2err] InvalidParameterValue)
          return ec2_error(400, "InvalidParameterValue", "cannot remove local route " .. cidr .. " in route table " .. t.id)
        end
        table.remove(t.routes, i)
        -- [ec2] DeleteRoute has no output: the response holds a return
        -- element all the same (MODEL: what EC2 answers)
        return ec2_ok("DeleteRoute", { el("return", true) })
      end
    end
    -- [ec2err] InvalidRoute.NotFound; message MODEL
    return ec2_error(400, "InvalidRoute.NotFound", "no route with destination-cidr-block " .. cidr
                     .. " in route table " .. t.id)
  end

  -- ---- security groups ----

  local function my_group(id, p, region) return owned("group", id, p, region) end

  -- IpPermissions grouped as EC2 shows them: one IpPermission per protocol
  -- and port range, its ranges inside ([ec2] IpPermission, IpRange)
  local function permissions(rules)
    local out, by = {}, {}
    for _, r in ipairs(rules) do
      local k = r.protocol .. " " .. tostring(r.from) .. " " .. tostring(r.to)
      local perm = by[k]
      if not perm then
        perm = { protocol = r.protocol, from = r.from, to = r.to, ranges = {} }
        by[k] = perm
        out[#out + 1] = perm
      end
      perm.ranges[#perm.ranges + 1] = r
    end
    return out
  end

  local function permission_view(perm)
    return { el("ipProtocol", perm.protocol), el("fromPort", perm.from), el("toPort", perm.to), el("groups", {}),
             items("ipRanges", perm.ranges, function(r) return { el("cidrIp", r.cidr), el("description", r.description) } end),
             el("ipv6Ranges", {}), el("prefixListIds", {}) }
  end

  -- [ec2] SecurityGroup (the default egress rule: everything, MODEL as AWS creates it)
  local function group_view(g)
    return {
      el("ownerId", g.account), el("groupId", g.id), el("groupName", g.name), el("groupDescription", g.description),
      el("vpcId", g.vpc), items("ipPermissions", permissions(g.ingress), permission_view),
      items("ipPermissionsEgress", { { protocol = "-1", ranges = { { cidr = "0.0.0.0/0" } } } }, permission_view),
      el("tagSet", {}),
      el("securityGroupArn", "arn:aws:ec2:" .. g.region .. ":" .. g.account .. ":security-group/" .. g.id),
    }
  end

  local SG_FILTERS = { ["vpc-id"] = true, ["group-id"] = true, ["group-name"] = true, ["owner-id"] = true }

  function ec2.DescribeSecurityGroups(params, p, region)
    local ids = list_param(params, "GroupId") -- [ec2] GroupIds locationName... queryName "GroupId"
    for _, id in ipairs(ids) do
      local _, err = my_group(id, p, region)
      if err then return err end
    end
    local want = {}
    for _, id in ipairs(ids) do want[id] = true end
    local fs, out = filters(params), {}
    for _, id in ipairs(state.group_order) do
      local g = state.groups[id]
      if g.account == p.account and g.region == region and (#ids == 0 or want[id]) then
        local ok, bad = filters_match(fs, SG_FILTERS, function(name)
          return { ({ ["vpc-id"] = g.vpc, ["group-id"] = g.id, ["group-name"] = g.name, ["owner-id"] = g.account })[name] }
        end)
        if ok == nil then return bad_filter(bad) end
        if ok then out[#out + 1] = g end
      end
    end
    local pg, tok = page(params, out, 1000)
    if not pg then return tok end
    -- [ec2] DescribeSecurityGroupsResult: nextToken, securityGroupInfo
    return ec2_ok("DescribeSecurityGroups", { el("nextToken", tok), items("securityGroupInfo", pg, group_view) })
  end

  local PROTOCOLS = { ["6"] = "tcp", ["17"] = "udp", ["1"] = "icmp", tcp = "tcp", udp = "udp", icmp = "icmp", ["-1"] = "-1" }

  -- the rules a request names: IpPermissions.N.IpProtocol/FromPort/ToPort/
  -- IpRanges.M.CidrIp/Description ([ec2] IpPermissionList has no
  -- locationName, so "IpPermissions"; IpRanges locationName "ipRanges"),
  -- or the older top-level IpProtocol/FromPort/ToPort/CidrIp
  local function read_rules(params)
    local perms = {}
    for k in pairs(params) do
      local n = k:match("^IpPermissions%.(%d+)%.")
      if n then perms[tonumber(n)] = true end
    end
    local list = {}
    for n in pairs(perms) do list[#list + 1] = n end
    table.sort(list)
    local specs = {}
    for _, n in ipairs(list) do
      local pre = "IpPermissions." .. n .. "."
      local ranges = {}
      local rn = {}
      for k in pairs(params) do
        local m = k:sub(1, #pre) == pre and k:sub(#pre + 1):match("^IpRanges%.(%d+)%.")
        if m then rn[tonumber(m)] = true end
      end
      local ms = {}
      for m in pairs(rn) do ms[#ms + 1] = m end
      table.sort(ms)
      for _, m in ipairs(ms) do
        ranges[#ranges + 1] = { cidr = params[pre .. "IpRanges." .. m .. ".CidrIp"],
                                description = params[pre .. "IpRanges." .. m .. ".Description"] }
      end
      specs[#specs + 1] = { protocol = params[pre .. "IpProtocol"], from = params[pre .. "FromPort"],
                            to = params[pre .. "ToPort"], ranges = ranges }
    end
    if #specs == 0 and params.IpProtocol then
      specs[1] = { protocol = params.IpProtocol, from = params.FromPort, to = params.ToPort,
                   ranges = params.CidrIp and { { cidr = params.CidrIp } } or {} }
    end
    if #specs == 0 then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter ipPermissions")
    end
    local rules = {}
    for _, s in ipairs(specs) do
      local proto = s.protocol and PROTOCOLS[s.protocol:lower()]
      if not proto and s.protocol and s.protocol:match("^%d+$") and tonumber(s.protocol) <= 255 then proto = s.protocol end
      if not proto then
        return nil, ec2_error(400, "InvalidParameterValue", "Invalid value '" .. tostring(s.protocol)
                              .. "' for IP protocol. Unknown protocol.")
      end
      local from, to = math.tointeger(tonumber(s.from)), math.tointeger(tonumber(s.to))
      if proto == "-1" then
        from, to = nil, nil
      elseif proto == "tcp" or proto == "udp" then
        if not from or not to then
          return nil, ec2_error(400, "MissingParameter", "Missing source port range: fromPort and toPort are required for "
                                .. proto)
        end
        if from < 0 or to > 65535 or from > to then
          return nil, ec2_error(400, "InvalidParameterValue", "Invalid TCP/UDP port range " .. from .. " to " .. to)
        end
      end
      if #s.ranges == 0 then
        return nil, ec2_error(400, "MissingParameter", "The request must name a source: IpRanges.N.CidrIp")
      end
      for _, r in ipairs(s.ranges) do
        if not cidr_ok(r.cidr) then
          return nil, ec2_error(400, "InvalidParameterValue", "CIDR block " .. tostring(r.cidr) .. " is malformed")
        end
        rules[#rules + 1] = { protocol = proto, from = from, to = to, cidr = r.cidr, description = r.description }
      end
    end
    return rules
  end

  local function same_rule(a, b)
    return a.protocol == b.protocol and a.from == b.from and a.to == b.to and a.cidr == b.cidr
  end

  -- the rule as EC2 words it in InvalidPermission.Duplicate (MODEL from
  -- the messages AWS writes: 'the specified rule "peer: 10.1.0.0/16, TCP,
  -- from port: 9042, to port: 9042, ALLOW" already exists')
  local function rule_words(r)
    local proto = r.protocol == "-1" and "ALL" or r.protocol:upper()
    local ports = r.from and (", from port: " .. r.from .. ", to port: " .. r.to) or ""
    return '"peer: ' .. r.cidr .. ", " .. proto .. ports .. ', ALLOW"'
  end

  local function group_param(params, p, region)
    if not params.GroupId then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter groupId")
    end
    return my_group(params.GroupId, p, region)
  end

  function ec2.AuthorizeSecurityGroupIngress(params, p, region)
    local g, err = group_param(params, p, region)
    if not g then return err end
    local rules, rerr = read_rules(params)
    if not rules then return rerr end
    for i, r in ipairs(rules) do
      for j = 1, i - 1 do
        if same_rule(r, rules[j]) then
          return ec2_error(400, "InvalidPermission.Duplicate", "the specified rule " .. rule_words(r) .. " already exists")
        end
      end
      for _, x in ipairs(g.ingress) do
        if same_rule(r, x) then
          -- [ec2err] InvalidPermission.Duplicate; nothing is added
          return ec2_error(400, "InvalidPermission.Duplicate", "the specified rule " .. rule_words(r) .. " already exists")
        end
      end
    end
    for _, r in ipairs(rules) do
      r.id = "sgr-" .. token(17)
      g.ingress[#g.ingress + 1] = r
    end
    -- [ec2] AuthorizeSecurityGroupIngressResult: return, securityGroupRuleSet
    return ec2_ok("AuthorizeSecurityGroupIngress", { el("return", true), items("securityGroupRuleSet", rules, function(r)
      return { el("securityGroupRuleId", r.id), el("groupId", g.id), el("groupOwnerId", g.account), el("isEgress", false),
               el("ipProtocol", r.protocol), el("fromPort", r.from or -1), el("toPort", r.to or -1),
               el("cidrIpv4", r.cidr), el("description", r.description) }
    end) })
  end

  function ec2.RevokeSecurityGroupIngress(params, p, region)
    local g, err = group_param(params, p, region)
    if not g then return err end
    local rules, rerr = read_rules(params)
    if not rules then return rerr end
    local drop = {}
    for _, r in ipairs(rules) do
      local found
      for i, x in ipairs(g.ingress) do
        if same_rule(r, x) then found = i end
      end
      if not found then
        -- [ec2] RevokeSecurityGroupIngress: "For a non-default VPC, if the
        -- values you specify do not match the existing rule's values, an
        -- InvalidPermission.NotFound client error is returned, and no rules
        -- are revoked." (message MODEL)
        return ec2_error(400, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
      end
      drop[found] = true
    end
    local kept = {}
    for i, x in ipairs(g.ingress) do
      if not drop[i] then kept[#kept + 1] = x end
    end
    g.ingress = kept
    return ec2_ok("RevokeSecurityGroupIngress", { el("return", true) }) -- [ec2] RevokeSecurityGroupIngressResult
  end

  -- EC2's auth error codes and statuses (see verify)
  local EC2_AUTH = { missing_status = 401, incomplete_status = 400, unknown_status = 401, unknown_key = "AuthFailure",
                     unknown_message = "AWS was not able to validate the provided access credentials" }

  local function ec2_host_region(req)
    local host = ((req.headers.host or ""):lower()):gsub(":%d+$", "")
    return host:match("^ec2%.([%w-]+)%.amazonaws%.com$") or (host == "ec2.amazonaws.com" and "us-east-1") or nil
  end

  local function serve_ec2(req)
    local params = params_of(req)
    local p, region = verify(req, "ec2", ec2_error, function(r)
      local host_region = ec2_host_region(req)
      return is_region(r) and (not host_region or host_region == r)
    end, EC2_AUTH)
    if not p then return region end
    local action = params.Action
    req.op = action -- for the request log
    local fn = action and ec2[action]
    if not fn then
      -- [common] InvalidAction 400; message MODEL
      return ec2_error(400, "InvalidAction", "The action " .. tostring(action) .. " is not valid for this web service.")
    end
    if not params.Version then
      return ec2_error(400, "MissingParameter", "The request must contain the parameter Version")
    end
    if not allowed(p, "ec2:" .. action) then
      -- [ec2err] UnauthorizedOperation ("You are not authorized to perform
      -- this operation."); status 403 MODEL
      return ec2_error(403, "UnauthorizedOperation", "You are not authorized to perform this operation. User: "
                       .. p.arn .. " is not authorized to perform: ec2:" .. action)
    end
    if params.DryRun == "true" then
      -- [ec2err] DryRunOperation; status 412 MODEL (what EC2 answers)
      return ec2_error(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    end
    return fn(params, p, region)
  end

  for _, path in ipairs({ "/ec2", "/ec2/" }) do rt:add({ "GET", "POST" }, path, serve_ec2) end
  return { error = ec2_error, all_pcx = all_pcx, pcx_status = pcx_status }
end

return M
