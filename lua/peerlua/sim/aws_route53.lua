-- peerlua.sim.aws_route53: the emulated Route 53 REST XML API
-- (2013-04-01) at /aws/route53 (and route53.amazonaws.com):
-- AssociateVPCWithHostedZone, DisassociateVPCFromHostedZone,
-- ListHostedZonesByVPC, GetChange (PENDING, then INSYNC after
-- durations.change_insync). The private hosted zones are the fixture's
-- (one per Aerospike cluster); a VPC of an authorized account may be
-- associated. Errors <ErrorResponse><Error><Type/><Code/><Message/></Error>
-- <RequestId/></ErrorResponse>. Sources ([r53], ...) in peerlua.sim.aws.
local response = require("peerlua.sim.response")
local wire = require("peerlua.sim.aws_wire")

local el, iso = wire.el, wire.iso
local url_decode, is_region, xml = wire.url_decode, wire.is_region, wire.xml

local R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/" -- [r53] input xmlNamespace.uri
local INVALID_TOKEN = "The security token included in the request is invalid."

local M = {}

-- mount(r, ctx): the routes on r (the /aws router); ctx: see peerlua.sim.aws
function M.mount(rt, ctx)
  local app, fx, state, verify, token = ctx.app, ctx.fx, ctx.state, ctx.verify, ctx.token
  local request_id, find_vpc, zone_of, duration = ctx.request_id, ctx.find_vpc, ctx.zone_of, ctx.duration
  -- ---- Route 53 ----

  local function r53_error(status, code, message)
    -- [r53] rest-xml error: ErrorResponse/Error/{Type, Code, Message}, RequestId
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="' .. R53_NS .. '">'
      .. el("Error", { el("Type", status >= 500 and "Receiver" or "Sender"), el("Code", code), el("Message", message) })
      .. el("RequestId", request_id()) .. "</ErrorResponse>"
    return response.raw(status, body, "text/xml")
  end

  local function r53_ok(name, change)
    local id = request_id()
    local insync = app:clock() >= change.at + duration("change_insync", 30)
    -- [r53] ChangeInfo {Id, Status PENDING|INSYNC, SubmittedAt, Comment}
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<' .. name .. ' xmlns="' .. R53_NS .. '">'
      .. el("ChangeInfo", { el("Id", "/change/" .. change.id), el("Status", insync and "INSYNC" or "PENDING"),
                            el("SubmittedAt", iso(change.wall)), el("Comment", change.comment) })
      .. "</" .. name .. ">"
    return response.raw(200, body, "text/xml", { ["x-amzn-RequestId"] = id })
  end

  local R53_AUTH = { missing_status = 403, incomplete_status = 400, unknown_status = 403,
                     unknown_key = "InvalidClientTokenId", unknown_message = INVALID_TOKEN }

  local function r53_auth(req)
    -- Route 53 is global: signed for us-east-1 (AWS General Reference,
    -- "Amazon Route 53 endpoints and quotas")
    return verify(req, "route53", r53_error, function(r) return r == "us-east-1" end, R53_AUTH)
  end

  local function new_change(comment)
    local c = { id = "C" .. token(13, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), at = app:clock(), wall = app:now(),
                comment = comment }
    state.changes[c.id] = c
    return c
  end

  -- the request body's VPC: VPCId, VPCRegion; Comment
  local function read_vpc(req, root_name)
    local doc, why = xml(req.body or "")
    if not doc then return nil, r53_error(400, "InvalidInput", "Invalid XML ; " .. why) end
    if doc.name ~= root_name then return nil, r53_error(400, "InvalidInput", "Invalid XML ; expected " .. root_name) end
    local vpc = doc.children.VPC
    local id = vpc and vpc.children.VPCId and vpc.children.VPCId.text
    local region = vpc and vpc.children.VPCRegion and vpc.children.VPCRegion.text
    if not id or id == "" then return nil, r53_error(400, "InvalidInput", "VPC.VPCId is required") end
    if not is_region(region) then
      -- [r53] VPCRegion is an enum of region names (MODEL: any AWS-form name)
      return nil, r53_error(400, "InvalidInput", "VPC.VPCRegion: must be a region name such as us-east-1")
    end
    return { id = id, region = region, comment = doc.children.Comment and doc.children.Comment.text or nil }
  end

  -- the zone id from the path ("Z..." or "/hostedzone/Z...")
  local function zone_param(params)
    local id = url_decode(params.Id):gsub("^/?hostedzone/", "")
    local z = zone_of(id)
    if not z then
      return nil, r53_error(404, "NoSuchHostedZone", "No hosted zone found with ID: " .. id) -- [r53] NoSuchHostedZone 404
    end
    return z
  end

  local function vpc_index(z, vid, region)
    for i, a in ipairs(state.zones[z.id] or {}) do
      if a.vpc == vid and a.region == region then return i end
    end
  end

  local R53 = "/route53/2013-04-01"

  -- [r53] AssociateVPCWithHostedZone: POST /2013-04-01/hostedzone/{Id}/associatevpc
  rt:add("POST", R53 .. "/hostedzone/{Id}/associatevpc", function(req, params)
    local p, err = r53_auth(req)
    if not p then return err end
    local z, zerr = zone_param(params)
    if not z then return zerr end
    local v, verr = read_vpc(req, "AssociateVPCWithHostedZoneRequest")
    if not v then return verr end
    local vpc = find_vpc(v.id)
    if not vpc or vpc.account_id ~= p.account or vpc.region ~= v.region then
      -- [r53] InvalidVPCId 400: "isn't a valid ID or the current account is
      -- not authorized to access this VPC"
      return r53_error(400, "InvalidVPCId", "The VPC ID " .. v.id .. " is not valid, or the VPC is not in " .. v.region
                       .. " of account " .. p.account .. ".")
    end
    local authorized = z.owner_account_id == p.account
    for _, a in ipairs(z.authorized_accounts or {}) do authorized = authorized or a == p.account end
    if not authorized then
      -- [r53] NotAuthorizedException 401 (a zone of another account needs
      -- its owner's CreateVPCAssociationAuthorization)
      return r53_error(401, "NotAuthorizedException", "The VPC: " .. v.id .. " has not authorized to associate with "
                       .. "your hosted zone.")
    end
    if vpc_index(z, v.id, v.region) then
      -- ConflictingDomainExists: what Route 53 answers for a VPC already
      -- associated (saltstack/salt#47480 treats it as "already associated";
      -- status 400 as in infrablocks/terraform-aws-base-networking#4)
      return r53_error(400, "ConflictingDomainExists", "The VPC " .. v.id .. " in " .. v.region
                       .. " region has already been associated with the hosted zone " .. z.id .. " with the same domain name.")
    end
    local list = state.zones[z.id] or {}
    state.zones[z.id] = list
    list[#list + 1] = { vpc = v.id, region = v.region }
    return r53_ok("AssociateVPCWithHostedZoneResponse", new_change(v.comment))
  end)

  -- [r53] DisassociateVPCFromHostedZone
  rt:add("POST", R53 .. "/hostedzone/{Id}/disassociatevpc", function(req, params)
    local p, err = r53_auth(req)
    if not p then return err end
    local z, zerr = zone_param(params)
    if not z then return zerr end
    local v, verr = read_vpc(req, "DisassociateVPCFromHostedZoneRequest")
    if not v then return verr end
    local vpc = find_vpc(v.id)
    if not vpc or (vpc.account_id ~= p.account and z.owner_account_id ~= p.account) then
      return r53_error(400, "InvalidVPCId", "The VPC ID " .. v.id .. " is not valid for account " .. p.account .. ".")
    end
    local i = vpc_index(z, v.id, v.region)
    if not i then
      -- [r53] VPCAssociationNotFound 404
      return r53_error(404, "VPCAssociationNotFound", "The specified VPC " .. v.id .. " and hosted zone " .. z.id
                       .. " are not currently associated.")
    end
    if #state.zones[z.id] == 1 then
      -- [r53] LastVPCAssociation 400
      return r53_error(400, "LastVPCAssociation", "The VPC " .. v.id .. " is the last VPC associated with the "
                       .. "private hosted zone " .. z.id .. ".")
    end
    table.remove(state.zones[z.id], i)
    return r53_ok("DisassociateVPCFromHostedZoneResponse", new_change(v.comment))
  end)

  -- [r53] ListHostedZonesByVPC: GET /2013-04-01/hostedzonesbyvpc?vpcid=&vpcregion=
  -- -> HostedZoneSummaries/HostedZoneSummary {HostedZoneId, Name, Owner
  -- {OwningAccount}}, MaxItems: the zones a VPC of the caller is associated with
  rt:add("GET", R53 .. "/hostedzonesbyvpc", function(req)
    local p, err = r53_auth(req)
    if not p then return err end
    local q = req.query or {}
    local vid, region = q.vpcid, q.vpcregion
    if type(vid) ~= "string" or not is_region(region) then
      return r53_error(400, "InvalidInput", "vpcid and vpcregion are required")
    end
    local vpc = find_vpc(vid)
    if not vpc or vpc.account_id ~= p.account or vpc.region ~= region then
      return r53_error(400, "InvalidInput", "The VPC " .. vid .. " in " .. region .. " is not a VPC of account "
                       .. p.account .. ".")
    end
    local out = {}
    for _, z in ipairs(fx.hosted_zones or {}) do
      if vpc_index(z, vid, region) then
        out[#out + 1] = el("HostedZoneSummary", { el("HostedZoneId", z.id), el("Name", z.name),
                                                 el("Owner", { el("OwningAccount", z.owner_account_id) }) })
      end
    end
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListHostedZonesByVPCResponse xmlns="' .. R53_NS .. '">'
      .. el("HostedZoneSummaries", out) .. el("MaxItems", "100") .. "</ListHostedZonesByVPCResponse>"
    return response.raw(200, body, "text/xml", { ["x-amzn-RequestId"] = request_id() })
  end)

  -- [r53] GetChange: GET /2013-04-01/change/{Id}; PENDING, then INSYNC
  -- after durations.change_insync emulated seconds (MODEL length)
  rt:add("GET", R53 .. "/change/{Id}", function(req, params)
    local p, err = r53_auth(req)
    if not p then return err end
    local id = url_decode(params.Id):gsub("^/?change/", "")
    local c = state.changes[id]
    if not c then
      return r53_error(404, "NoSuchChange", "A change with the specified change ID does not exist.") -- [r53] NoSuchChange 404
    end
    return r53_ok("GetChangeResponse", c)
  end)

  return { error = r53_error }
end

return M
