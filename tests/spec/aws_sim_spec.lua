-- The emulated AWS (peerlua.sim.aws): EC2, STS and Route 53 answers and
-- refusals, Signature Version 4 checked for real, the pcx- ids that the
-- Instaclustr and Aerospike emulators hand out, throttling and faults.
-- Driven in-process through app:handle with an injected clock, requests
-- signed with peerlua.auth.aws_sign; one test goes through the HTTP server
-- at EC2's real host name. Secrets are never printed.
local peerlua = require("peerlua")
local sim = require("peerlua.sim")
local json = require("peerlua.json")

local FX = require("peerlua.sim.fixture")
local CUSTOMER, PEER, READONLY = FX.aws.accounts[1], FX.aws.accounts[2], FX.aws.accounts[3]
local HOST = "127.0.0.1:8080"
local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364" -- Instaclustr's US_WEST_2 data centre
local IC = FX.instaclustr.accounts[1]
local AS_CLUSTER = FX.aerospike.clusters[1]

-- the text of the first <name> element of an XML body
local function tag(body, name)
  return body:match("<" .. name .. ">(.-)</" .. name .. ">")
end

local function count(body, name)
  local n = 0
  for _ in body:gmatch("<" .. name .. ">") do n = n + 1 end
  return n
end

local function form(t)
  local keys, parts = {}, {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    parts[#parts + 1] = k .. "=" .. tostring(t[k]):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)
  end
  return table.concat(parts, "&")
end

describe("emulated AWS", function()
  local app, clock, wall

  before_each(function()
    clock, wall = 0, os.time()
    app = sim.new({ clock = function() return clock end, now = function() return wall end })
  end)

  -- a signed request; opts: key = {access_key_id, secret_access_key[, token]},
  -- region, service, date, host, secret (a wrong one), query, headers
  local function request(method, path, body, opts)
    opts = opts or {}
    local key = opts.key or CUSTOMER
    local host = opts.host or HOST
    local ct = opts.content_type or (body and body ~= "" and "application/x-www-form-urlencoded; charset=utf-8") or nil
    local sign_headers = { Host = host }
    if ct then sign_headers["Content-Type"] = ct end
    local url = "http://" .. host .. path .. (opts.query and "?" .. form(opts.query) or "")
    local h = assert(peerlua.auth.aws_sign({
      method = method, url = url, headers = sign_headers, body = body or "",
      access_key = key.access_key_id, secret_key = opts.secret or key.secret_access_key, session_token = key.token,
      region = opts.region or "us-west-2", service = opts.service or "ec2",
      date = opts.date or os.date("!%Y%m%dT%H%M%SZ", wall),
    }))
    local headers = { host = host, authorization = h.Authorization, ["x-amz-date"] = h["X-Amz-Date"],
                      ["x-amz-security-token"] = h["X-Amz-Security-Token"] }
    if ct then headers["content-type"] = ct end
    for k, v in pairs(opts.headers or {}) do headers[k] = v end
    if opts.drop then headers[opts.drop] = nil end
    return app:handle({ method = method, path = opts.sent_path or path, query = opts.query or {}, headers = headers,
                        body = body or "" })
  end

  local function ec2(params, opts)
    params.Version = params.Version or "2016-11-15"
    return request("POST", "/aws/ec2/", form(params), opts)
  end

  local function sts(params, opts)
    params.Version = "2011-06-15"
    opts = opts or {}
    opts.service, opts.region = "sts", opts.region or "us-east-1"
    return request("POST", "/aws/sts/", form(params), opts)
  end

  local function r53(method, path, body, opts)
    opts = opts or {}
    opts.service, opts.region = "route53", opts.region or "us-east-1"
    opts.content_type = body and "text/xml" or nil
    return request(method, "/aws/route53/2013-04-01" .. path, body, opts)
  end

  local function ec2_code(resp) return tag(resp.body, "Code") end

  -- an Instaclustr peering to the customer's vpc-0a1b2c3d; its pcx- id
  local function instaclustr_peering(account)
    local body = json.encode({ peerAccountId = account or CUSTOMER.account_id, peerVpcId = "vpc-0a1b2c3d",
                               peerSubnets = { "10.1.0.0/16" }, peerRegion = "US_WEST_2" })
    local auth = "Basic " .. require("peerlua.sim.credential").base64_encode(IC.username .. ":" .. IC.api_key)
    local path = "/instaclustr/provisioning/v1/vpc-peering/" .. CDC
    local resp = app:handle({ method = "POST", path = path, query = {}, body = body,
                              headers = { authorization = auth, ["content-type"] = "application/json" } })
    assert.equal(202, resp.status)
    local id = json.decode(resp.body)
    local function read()
      local r = app:handle({ method = "GET", path = path .. "/" .. id, query = {}, body = "",
                             headers = { authorization = auth } })
      return json.decode(r.body)
    end
    return read().aws_vpc_connection_id, read
  end

  describe("EC2", function()
    it("lists an Instaclustr pcx pending-acceptance, requester the data centre, accepter the peer asked for", function()
      local pcx = instaclustr_peering()
      local resp = ec2({ Action = "DescribeVpcPeeringConnections", ["VpcPeeringConnectionId.1"] = pcx })
      assert.equal(200, resp.status)
      assert.matches("^text/xml", resp.headers["Content-Type"])
      local b = resp.body
      assert.matches('^<%?xml version="1.0" encoding="UTF%-8"%?>\n<DescribeVpcPeeringConnectionsResponse '
                     .. 'xmlns="http://ec2%.amazonaws%.com/doc/2016%-11%-15/"><requestId>[%x%-]+</requestId>'
                     .. "<vpcPeeringConnectionSet><item>", b)
      assert.equal(1, count(b, "item") - count(b, "cidrBlockSet")) -- one pcx (its cidrBlockSet has an item too)
      assert.equal(pcx, tag(b, "vpcPeeringConnectionId"))
      assert.equal("pending-acceptance", tag(tag(b, "status"), "code"))
      assert.equal("Pending Acceptance by 123456789012", tag(tag(b, "status"), "message"))
      local req_info, acc_info = tag(b, "requesterVpcInfo"), tag(b, "accepterVpcInfo")
      local dc = FX.instaclustr.clusters[1].data_centres[1]
      assert.equal(dc.aws_account_id, tag(req_info, "ownerId"))
      assert.equal(dc.vpc_id, tag(req_info, "vpcId"))
      assert.equal(dc.network, tag(req_info, "cidrBlock"))
      assert.equal("us-west-2", tag(req_info, "region"))
      assert.equal("123456789012", tag(acc_info, "ownerId"))
      assert.equal("vpc-0a1b2c3d", tag(acc_info, "vpcId"))
      assert.equal("us-west-2", tag(acc_info, "region"))
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", tag(b, "expirationTime"))
      -- filters: status-code and the VPC ids; another region sees nothing
      local f = ec2({ Action = "DescribeVpcPeeringConnections", ["Filter.1.Name"] = "status-code",
                      ["Filter.1.Value.1"] = "active", ["Filter.1.Value.2"] = "pending-acceptance",
                      ["Filter.2.Name"] = "accepter-vpc-info.vpc-id", ["Filter.2.Value.1"] = "vpc-0a1b2c3d" })
      assert.equal(pcx, tag(f.body, "vpcPeeringConnectionId"))
      f = ec2({ Action = "DescribeVpcPeeringConnections", ["Filter.1.Name"] = "requester-vpc-info.vpc-id",
                ["Filter.1.Value.1"] = "vpc-00000000" })
      assert.is_nil(tag(f.body, "vpcPeeringConnectionId"))
      f = ec2({ Action = "DescribeVpcPeeringConnections", ["Filter.1.Name"] = "vpc-peering-connection-id",
                ["Filter.1.Value.1"] = pcx })
      assert.equal(pcx, tag(f.body, "vpcPeeringConnectionId"))
      f = ec2({ Action = "DescribeVpcPeeringConnections", ["Filter.1.Name"] = "status-code",
                ["Filter.1.Value.1"] = "pending-*" }) -- a wildcard
      assert.equal(pcx, tag(f.body, "vpcPeeringConnectionId"))
      f = ec2({ Action = "DescribeVpcPeeringConnections", ["Filter.1.Name"] = "status-code",
                ["Filter.1.Value.1"] = "p?nding" })
      assert.is_nil(tag(f.body, "vpcPeeringConnectionId"))
      f = ec2({ Action = "DescribeVpcPeeringConnections" }, { region = "eu-west-1" })
      assert.equal(200, f.status)
      assert.is_nil(tag(f.body, "vpcPeeringConnectionId"))
      f = ec2({ Action = "DescribeVpcPeeringConnections", ["Filter.1.Name"] = "colour", ["Filter.1.Value.1"] = "x" })
      assert.equal(400, f.status)
      assert.equal("InvalidParameterValue", ec2_code(f))
    end)

    it("accepting moves the Instaclustr peering to provisioning, then active; rejecting rejects", function()
      local pcx, read = instaclustr_peering()
      local resp = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx })
      assert.equal(200, resp.status)
      assert.matches("<AcceptVpcPeeringConnectionResponse ", resp.body)
      assert.equal("provisioning", tag(tag(resp.body, "vpcPeeringConnection"), "code"))
      assert.equal("provisioning", read().statusCode)
      clock = clock + FX.instaclustr.durations.provisioning
      assert.equal("active", read().statusCode)
      local d = ec2({ Action = "DescribeVpcPeeringConnections", ["VpcPeeringConnectionId.1"] = pcx })
      assert.equal("active", tag(tag(d.body, "status"), "code"))
      assert.equal("10.1.0.0/16", tag(tag(d.body, "accepterVpcInfo"), "cidrBlock"))
      -- a second accept: not pending-acceptance any more
      local again = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx })
      assert.equal(400, again.status)
      assert.equal("InvalidStateTransition", ec2_code(again))

      local pcx2, read2 = instaclustr_peering()
      local rj = ec2({ Action = "RejectVpcPeeringConnection", VpcPeeringConnectionId = pcx2 })
      assert.equal(200, rj.status)
      assert.equal("true", tag(rj.body, "return"))
      assert.equal("rejected", read2().statusCode)
    end)

    it("follows the vendor's peering: expired after the acceptance window, deleting then deleted", function()
      local pcx = instaclustr_peering()
      local function code()
        local d = ec2({ Action = "DescribeVpcPeeringConnections", ["VpcPeeringConnectionId.1"] = pcx })
        return tag(tag(d.body, "status"), "code")
      end
      clock = clock + FX.instaclustr.durations.acceptance_expiry
      assert.equal("expired", code())
      local refused = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx })
      assert.equal("InvalidStateTransition", ec2_code(refused))
      local pcx2, read2 = instaclustr_peering()
      local auth = "Basic " .. require("peerlua.sim.credential").base64_encode(IC.username .. ":" .. IC.api_key)
      local del = app:handle({ method = "DELETE", path = "/instaclustr/provisioning/v1/vpc-peering/" .. CDC .. "/"
                               .. read2().id, query = {}, body = "", headers = { authorization = auth } })
      assert.equal(202, del.status)
      pcx = pcx2
      assert.equal("deleting", code())
      clock = clock + FX.instaclustr.durations.deleting
      assert.equal("deleted", code())
    end)

    it("refuses an accept by another account, unknown and malformed ids", function()
      local pcx = instaclustr_peering()
      local peer_key = { access_key_id = PEER.access_key_id, secret_access_key = PEER.secret_access_key }
      local resp = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx }, { key = peer_key })
      assert.equal(400, resp.status)
      assert.equal("InvalidVpcPeeringConnectionID.NotFound", ec2_code(resp))
      -- the accepter in the wrong region does not see it either
      resp = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx }, { region = "us-east-1" })
      assert.equal("InvalidVpcPeeringConnectionID.NotFound", ec2_code(resp))
      resp = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = "pcx-0123456789abcdef0" })
      assert.equal("InvalidVpcPeeringConnectionID.NotFound", ec2_code(resp))
      resp = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = "peering-1" })
      assert.equal(400, resp.status)
      assert.equal("InvalidVpcPeeringConnectionId.Malformed", ec2_code(resp))
      resp = ec2({ Action = "AcceptVpcPeeringConnection" })
      assert.equal("MissingParameter", ec2_code(resp))
      -- still pending for its accepter
      local d = ec2({ Action = "DescribeVpcPeeringConnections", ["VpcPeeringConnectionId.1"] = pcx })
      assert.equal("pending-acceptance", tag(tag(d.body, "status"), "code"))
    end)

    it("a pcx whose accepter VPC is not in the accepter's account and region shows failed", function()
      local pcx = instaclustr_peering(PEER.account_id) -- vpc-0a1b2c3d is the customer's
      local peer_key = { access_key_id = PEER.access_key_id, secret_access_key = PEER.secret_access_key }
      -- the second account's VPC is not in us-west-2: the request failed
      local d = ec2({ Action = "DescribeVpcPeeringConnections", ["VpcPeeringConnectionId.1"] = pcx },
                    { key = peer_key })
      assert.equal("failed", tag(tag(d.body, "status"), "code"))
      local resp = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx }, { key = peer_key })
      assert.equal("InvalidStateTransition", ec2_code(resp))
    end)

    it("refuses an accept by the requester with OperationNotPermitted", function()
      -- a fixture where Instaclustr's own AWS account has a key too
      local fx = json.decode(json.encode(FX))
      local ic_account = FX.instaclustr.clusters[1].data_centres[1].aws_account_id
      local vendor = { account_id = ic_account, access_key_id = "AKIASIMVENDOR0000004",
                       secret_access_key = "sim/aws/secret/access/key/0000000000000004" }
      table.insert(fx.aws.accounts, vendor)
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(json.encode(fx))
      f:close()
      app = sim.new({ fixture = path, clock = function() return clock end, now = function() return wall end })
      os.remove(path)
      local pcx = instaclustr_peering()
      local seen = ec2({ Action = "DescribeVpcPeeringConnections" }, { key = vendor })
      assert.truthy(seen.body:find(pcx, 1, true)) -- the requester sees it
      local resp = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx }, { key = vendor })
      assert.equal(400, resp.status)
      assert.equal("OperationNotPermitted", ec2_code(resp))
      assert.equal(200, ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx }).status)
    end)

    it("links Aerospike's pcx, its requester the cluster's own VPC", function()
      local tokresp = app:handle({ method = "POST", path = "/aerospike/oauth/token", query = {}, headers = {
        ["content-type"] = "application/json" }, body = json.encode({ grant_type = "client_credentials",
        client_id = FX.aerospike.accounts[1].client_id, client_secret = FX.aerospike.accounts[1].client_secret }) })
      local tok = json.decode(tokresp.body).access_token
      local created = app:handle({ method = "POST", path = "/aerospike/v1/database/clusters/" .. AS_CLUSTER.id
        .. "/vpc-peerings", query = {}, headers = { authorization = "Bearer " .. tok, ["content-type"] = "application/json" },
        body = json.encode({ vpcId = "vpc-0123456789abcdef0", cidrBlock = "192.168.0.0/16", accountId = "123456789012",
                             region = "us-east-1", isSecureConnection = true }) })
      assert.equal(201, created.status)
      local pcx = json.decode(created.body).peeringId
      local d = ec2({ Action = "DescribeVpcPeeringConnections" }, { region = "us-east-1" })
      assert.equal(pcx, tag(d.body, "vpcPeeringConnectionId"))
      assert.equal("initiating-request", tag(tag(d.body, "status"), "code"))
      assert.equal(AS_CLUSTER.vpc_id, tag(tag(d.body, "requesterVpcInfo"), "vpcId"))
      assert.equal(AS_CLUSTER.cidr, tag(tag(d.body, "requesterVpcInfo"), "cidrBlock"))
      clock = clock + FX.aerospike.durations.initiating
      local a = ec2({ Action = "AcceptVpcPeeringConnection", VpcPeeringConnectionId = pcx }, { region = "us-east-1" })
      assert.equal(200, a.status)
      assert.equal("provisioning", app.providers.aerospike.peerings()[1].status)
    end)

    it("describes route tables; CreateRoute to the pcx, RouteAlreadyExists, DeleteRoute", function()
      local pcx = instaclustr_peering()
      local d = ec2({ Action = "DescribeRouteTables", ["Filter.1.Name"] = "vpc-id", ["Filter.1.Value.1"] = "vpc-0a1b2c3d" })
      assert.equal(200, d.status)
      assert.matches("<DescribeRouteTablesResponse xmlns=\"http://ec2%.amazonaws%.com/doc/2016%-11%-15/\">", d.body)
      assert.equal(2, count(d.body, "vpcId")) -- its two tables
      assert.equal("true", tag(d.body, "main"))
      assert.matches("<destinationCidrBlock>10%.1%.0%.0/16</destinationCidrBlock><gatewayId>local</gatewayId>", d.body)
      local rtb = "rtb-0a1b2c3d000000002"
      local c = ec2({ Action = "CreateRoute", RouteTableId = rtb, DestinationCidrBlock = "10.224.0.0/16",
                      VpcPeeringConnectionId = pcx })
      assert.equal(200, c.status)
      assert.equal("true", tag(c.body, "return"))
      local one = ec2({ Action = "DescribeRouteTables", ["RouteTableId.1"] = rtb })
      assert.matches("<destinationCidrBlock>10%.224%.0%.0/16</destinationCidrBlock><origin>CreateRoute</origin>"
                     .. "<state>blackhole</state><vpcPeeringConnectionId>pcx%-%x+", one.body) -- not active yet
      local dup = ec2({ Action = "CreateRoute", RouteTableId = rtb, DestinationCidrBlock = "10.224.0.0/16",
                        VpcPeeringConnectionId = pcx })
      assert.equal(400, dup.status)
      assert.equal("RouteAlreadyExists", ec2_code(dup))
      assert.matches("^<%?xml[^\n]*%?>\n<Response><Errors><Error><Code>RouteAlreadyExists</Code><Message>.-</Message>"
                     .. "</Error></Errors><RequestID>[%x%-]+</RequestID></Response>$", dup.body)
      local del = ec2({ Action = "DeleteRoute", RouteTableId = rtb, DestinationCidrBlock = "10.224.0.0/16" })
      assert.equal(200, del.status)
      local gone = ec2({ Action = "DeleteRoute", RouteTableId = rtb, DestinationCidrBlock = "10.224.0.0/16" })
      assert.equal("InvalidRoute.NotFound", ec2_code(gone))
      local nf = ec2({ Action = "CreateRoute", RouteTableId = "rtb-00000000", DestinationCidrBlock = "10.0.0.0/8",
                       VpcPeeringConnectionId = pcx })
      assert.equal("InvalidRouteTableID.NotFound", ec2_code(nf))
      nf = ec2({ Action = "DescribeRouteTables", ["RouteTableId.1"] = "rtb-0123456789abcdef0" }) -- another region's
      assert.equal("InvalidRouteTableID.NotFound", ec2_code(nf))
      local bad = ec2({ Action = "CreateRoute", RouteTableId = rtb, DestinationCidrBlock = "10.224.0.0/99",
                        VpcPeeringConnectionId = pcx })
      assert.equal("InvalidParameterValue", ec2_code(bad))
      local miss = ec2({ Action = "CreateRoute", RouteTableId = rtb, VpcPeeringConnectionId = pcx })
      assert.equal("MissingParameter", ec2_code(miss))
    end)

    it("describes security groups; AuthorizeSecurityGroupIngress, InvalidPermission.Duplicate, Revoke", function()
      local sg = "sg-0a1b2c3d000000002"
      local d = ec2({ Action = "DescribeSecurityGroups", ["GroupId.1"] = sg })
      assert.equal(200, d.status)
      assert.truthy(d.body:find("<securityGroupInfo><item><ownerId>123456789012</ownerId><groupId>" .. sg, 1, true))
      assert.equal("app", tag(d.body, "groupName"))
      local rule = { Action = "AuthorizeSecurityGroupIngress", GroupId = sg, ["IpPermissions.1.IpProtocol"] = "tcp",
                     ["IpPermissions.1.FromPort"] = "9042", ["IpPermissions.1.ToPort"] = "9042",
                     ["IpPermissions.1.IpRanges.1.CidrIp"] = "10.224.0.0/16",
                     ["IpPermissions.1.IpRanges.1.Description"] = "Instaclustr" }
      local a = ec2(rule)
      assert.equal(200, a.status)
      assert.equal("true", tag(a.body, "return"))
      assert.matches("<securityGroupRuleId>sgr%-%x+</securityGroupRuleId>", a.body)
      local dup = ec2(rule)
      assert.equal(400, dup.status)
      assert.equal("InvalidPermission.Duplicate", ec2_code(dup))
      d = ec2({ Action = "DescribeSecurityGroups", ["Filter.1.Name"] = "group-id", ["Filter.1.Value.1"] = sg })
      assert.matches("<ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>9042</fromPort><toPort>9042</toPort>"
                     .. "<groups></groups><ipRanges><item><cidrIp>10%.224%.0%.0/16</cidrIp><description>Instaclustr"
                     .. "</description></item></ipRanges>", d.body)
      rule.Action = "RevokeSecurityGroupIngress"
      assert.equal(200, ec2(rule).status)
      local again = ec2(rule)
      assert.equal("InvalidPermission.NotFound", ec2_code(again))
      local nf = ec2({ Action = "DescribeSecurityGroups", ["GroupId.1"] = "sg-00000000" })
      assert.equal("InvalidGroup.NotFound", ec2_code(nf))
      nf = ec2({ Action = "AuthorizeSecurityGroupIngress", GroupId = "sg-00000000", IpProtocol = "tcp", FromPort = "1",
                 ToPort = "2", CidrIp = "10.0.0.0/8" })
      assert.equal("InvalidGroup.NotFound", ec2_code(nf))
      local vf = ec2({ Action = "DescribeSecurityGroups", ["Filter.1.Name"] = "vpc-id", ["Filter.1.Value.1"] = "vpc-0a1b2c3d" })
      assert.equal(2, count(vf.body, "groupId"))
    end)

    it("pages a Describe by MaxResults and NextToken", function()
      local seen = {}
      for _ = 1, 6 do instaclustr_peering() end
      local q = { Action = "DescribeVpcPeeringConnections", MaxResults = "5" }
      local first = ec2(q)
      assert.equal(200, first.status)
      local tok = tag(first.body, "nextToken")
      assert.is_string(tok)
      for id in first.body:gmatch("<vpcPeeringConnectionId>(.-)</vpcPeeringConnectionId>") do seen[#seen + 1] = id end
      assert.equal(5, #seen)
      q.NextToken = tok
      local second = ec2(q)
      for id in second.body:gmatch("<vpcPeeringConnectionId>(.-)</vpcPeeringConnectionId>") do seen[#seen + 1] = id end
      assert.equal(6, #seen)
      assert.is_nil(tag(second.body, "nextToken"))
      assert.are_not.equal(seen[1], seen[6])
      assert.equal("InvalidParameterValue", ec2_code(ec2({ Action = "DescribeRouteTables", MaxResults = "101" })))
      assert.equal("InvalidPaginationToken", ec2_code(ec2({ Action = "DescribeSecurityGroups", NextToken = "nope" })))
    end)

    it("takes the parameters from the query of a GET, and refuses unknown actions and unpermitted ones", function()
      local resp = request("GET", "/aws/ec2/", "", { query = { Action = "DescribeSecurityGroups", Version = "2016-11-15" } })
      assert.equal(200, resp.status)
      assert.matches("<DescribeSecurityGroupsResponse", resp.body)
      local bad = ec2({ Action = "LaunchRockets" })
      assert.equal(400, bad.status)
      assert.equal("InvalidAction", ec2_code(bad))
      local ro = { access_key_id = READONLY.access_key_id, secret_access_key = READONLY.secret_access_key }
      assert.equal(200, ec2({ Action = "DescribeRouteTables" }, { key = ro }).status)
      local no = ec2({ Action = "CreateRoute", RouteTableId = "rtb-0a1b2c3d000000002", DestinationCidrBlock = "10.9.0.0/16",
                       GatewayId = "igw-1" }, { key = ro })
      assert.equal(403, no.status)
      assert.equal("UnauthorizedOperation", ec2_code(no))
    end)
  end)

  describe("Signature Version 4", function()
    it("refuses an unknown key, a wrong secret, a changed body, a skewed date, a wrong scope, no signature", function()
      local function refused(status, code, resp)
        assert.equal(status, resp.status)
        assert.equal(code, ec2_code(resp))
      end
      local q = { Action = "DescribeRouteTables" }
      refused(401, "AuthFailure", ec2(q, { key = { access_key_id = "AKIAUNKNOWN000000000", secret_access_key = "x" } }))
      refused(403, "SignatureDoesNotMatch", ec2(q, { secret = "not-the-secret" }))
      refused(400, "RequestExpired", ec2(q, { date = os.date("!%Y%m%dT%H%M%SZ", wall - 301) }))
      assert.equal(200, ec2(q, { date = os.date("!%Y%m%dT%H%M%SZ", wall - 299) }).status)
      local wrong = ec2(q, { service = "sts" })
      refused(403, "SignatureDoesNotMatch", wrong)
      assert.matches("scoped to correct service: 'ec2'", tag(wrong.body, "Message"), 1, true)
      refused(403, "SignatureDoesNotMatch", ec2(q, { region = "local" })) -- not a region's name
      refused(401, "MissingAuthenticationToken", ec2(q, { drop = "authorization" }))
      refused(400, "IncompleteSignature", ec2(q, { headers = { authorization = "AWS4-HMAC-SHA256 Credential=x" } }))
      -- a body changed after signing
      local body = form({ Action = "DescribeRouteTables", Version = "2016-11-15" })
      local resp = request("POST", "/aws/ec2/", body, {})
      assert.equal(200, resp.status)
      local signed = request("POST", "/aws/ec2/", body, { headers = {} })
      assert.equal(200, signed.status)
      -- the same signature with another body: recompute from scratch
      local h = assert(peerlua.auth.aws_sign({ method = "POST", url = "http://" .. HOST .. "/aws/ec2/",
        headers = { Host = HOST, ["Content-Type"] = "application/x-www-form-urlencoded" }, body = body,
        access_key = CUSTOMER.access_key_id, secret_key = CUSTOMER.secret_access_key, region = "us-west-2",
        service = "ec2", date = os.date("!%Y%m%dT%H%M%SZ", wall) }))
      local tampered = app:handle({ method = "POST", path = "/aws/ec2/", query = {}, body = body .. "&DryRun=true",
        headers = { host = HOST, ["content-type"] = "application/x-www-form-urlencoded", authorization = h.Authorization,
                    ["x-amz-date"] = h["X-Amz-Date"] } })
      refused(403, "SignatureDoesNotMatch", tampered)
      -- the STS and Route 53 words
      local stranger = { access_key_id = "AKIAUNKNOWN000000000", secret_access_key = "x" }
      local s = sts({ Action = "GetCallerIdentity" }, { key = stranger })
      assert.equal(403, s.status)
      assert.equal("InvalidClientTokenId", tag(s.body, "Code"))
      assert.matches("^<%?xml[^\n]*%?>\n<ErrorResponse xmlns=\"https://sts%.amazonaws%.com/doc/2011%-06%-15/\"><Error>"
                     .. "<Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>.-</Message></Error><RequestId>", s.body)
      s = sts({ Action = "GetCallerIdentity" }, { date = os.date("!%Y%m%dT%H%M%SZ", wall + 400) })
      assert.equal(403, s.status)
      assert.equal("SignatureDoesNotMatch", tag(s.body, "Code"))
      assert.matches("^Signature not yet current", tag(s.body, "Message"))
      s = sts({ Action = "GetCallerIdentity" }, { date = os.date("!%Y%m%dT%H%M%SZ", wall - 400) })
      assert.equal("SignatureDoesNotMatch", tag(s.body, "Code"))
      assert.matches("^Signature expired", tag(s.body, "Message"))
      local z = r53("GET", "/change/C0000000000000", nil, { region = "us-west-2" })
      assert.equal(403, z.status)
      assert.equal("SignatureDoesNotMatch", tag(z.body, "Code"))
    end)

    it("takes a presigned GET (the query form) until its X-Amz-Expires runs out", function()
      local wire = require("peerlua.sim.aws_wire")
      -- GetCallerIdentity presigned for STS, then sent as a plain GET: no
      -- Authorization, the signature and token in the query
      local function presigned(opts)
        opts = opts or {}
        local key = opts.key or CUSTOMER
        local url = assert(peerlua.auth.aws_presign({
          method = "GET", url = "http://" .. HOST .. "/aws/sts/?Action=GetCallerIdentity&Version=2011-06-15",
          headers = { Host = HOST }, access_key = key.access_key_id, secret_key = opts.secret or key.secret_access_key,
          session_token = key.token, region = "us-east-1", service = "sts", expires = opts.expires or 60,
          date = os.date("!%Y%m%dT%H%M%SZ", opts.signed or wall) }))
        url = opts.edit and opts.edit(url) or url
        local path, q = url:match("^http://[^/]+(/[^?]*)%?(.*)$")
        local query = {}
        for k, v in q:gmatch("([^&=]+)=([^&]*)") do query[wire.url_decode(k)] = wire.url_decode(v) end
        return app:handle({ method = "GET", path = path, query = query, headers = { host = HOST }, body = "" })
      end
      local ok = presigned()
      assert.equal(200, ok.status)
      assert.equal("123456789012", tag(ok.body, "Account"))
      -- signed 50 s ago for 60 s: still good; 70 s ago: expired, though
      -- within the header form's five minutes
      assert.equal(200, presigned({ signed = wall - 50 }).status)
      local old = presigned({ signed = wall - 70 })
      assert.equal(403, old.status)
      assert.matches("^Request has expired", tag(old.body, "Message"))
      -- a day's URL signed an hour ago is good; one dated ahead is not
      assert.equal(200, presigned({ expires = 86400, signed = wall - 3600 }).status)
      assert.matches("^Signature not yet current", tag(presigned({ signed = wall + 400 }).body, "Message"))
      -- a wrong secret, a parameter changed after signing, a longer life
      -- claimed, and an X-Amz-Expires past seven days
      assert.equal("SignatureDoesNotMatch", tag(presigned({ secret = "not-the-secret" }).body, "Code"))
      local changed = presigned({ edit = function(u) return (u:gsub("Action=GetCallerIdentity", "Action=AssumeRole")) end })
      assert.equal("SignatureDoesNotMatch", tag(changed.body, "Code"))
      local longer = presigned({ edit = function(u) return (u:gsub("X%-Amz%-Expires=60", "X-Amz-Expires=600")) end })
      assert.equal("SignatureDoesNotMatch", tag(longer.body, "Code"))
      local week = presigned({ edit = function(u) return (u:gsub("X%-Amz%-Expires=60", "X-Amz-Expires=604801")) end })
      assert.equal("IncompleteSignature", tag(week.body, "Code"))
      -- a session's token rides in the query, and must be the session's
      local arn = "arn:aws:iam::210987654321:role/peerlua-accepter"
      local b = sts({ Action = "AssumeRole", RoleArn = arn, RoleSessionName = "peerlua" }).body
      local session = { access_key_id = tag(b, "AccessKeyId"), secret_access_key = tag(b, "SecretAccessKey"),
                        token = tag(b, "SessionToken") }
      local mine = presigned({ key = session })
      assert.equal("210987654321", tag(mine.body, "Account"))
      local stolen = presigned({ key = session, edit = function(u) return (u:gsub("X%-Amz%-Security%-Token=", "%0X")) end })
      assert.equal("InvalidClientTokenId", tag(stolen.body, "Code"))
    end)

    it("checks the scope's region against ec2.REGION.amazonaws.com", function()
      local q = { Action = "DescribeRouteTables", Version = "2016-11-15" }
      local ok = request("POST", "/", form(q), { host = "ec2.us-west-2.amazonaws.com", region = "us-west-2" })
      assert.equal(200, ok.status)
      assert.matches("<DescribeRouteTablesResponse", ok.body)
      local bad = request("POST", "/", form(q), { host = "ec2.us-west-2.amazonaws.com", region = "us-east-1" })
      assert.equal(403, bad.status)
      assert.equal("SignatureDoesNotMatch", ec2_code(bad))
    end)
  end)

  describe("STS", function()
    it("answers GetCallerIdentity", function()
      local resp = sts({ Action = "GetCallerIdentity" })
      assert.equal(200, resp.status)
      assert.matches('^<%?xml[^\n]*%?>\n<GetCallerIdentityResponse xmlns="https://sts%.amazonaws%.com/doc/2011%-06%-15/">'
                     .. "<GetCallerIdentityResult>.-</GetCallerIdentityResult><ResponseMetadata><RequestId>[%x%-]+"
                     .. "</RequestId></ResponseMetadata></GetCallerIdentityResponse>$", resp.body)
      assert.equal("123456789012", tag(resp.body, "Account"))
      assert.equal("arn:aws:iam::123456789012:user/peerlua-sim", tag(resp.body, "Arn"))
    end)

    it("AssumeRole gives ASIA keys of the role's account that expire; a wrong token or a role not trusted is refused",
      function()
        local arn = "arn:aws:iam::210987654321:role/peerlua-accepter"
        local resp = sts({ Action = "AssumeRole", RoleArn = arn, RoleSessionName = "peerlua", DurationSeconds = "900" })
        assert.equal(200, resp.status)
        local b = resp.body
        local key = { access_key_id = tag(b, "AccessKeyId"), secret_access_key = tag(b, "SecretAccessKey"),
                      token = tag(b, "SessionToken") }
        assert.matches("^ASIA[%u%d]+$", key.access_key_id) -- upper-case letters and digits
        assert.equal(20, #key.access_key_id)
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", tag(b, "Expiration"))
        assert.equal(os.date("!%Y-%m-%dT%H:%M:%S", wall + 900) .. ".000Z", tag(b, "Expiration"))
        assert.equal("arn:aws:sts::210987654321:assumed-role/peerlua-accepter/peerlua", tag(tag(b, "AssumedRoleUser"), "Arn"))
        local me = sts({ Action = "GetCallerIdentity" }, { key = key })
        assert.equal(200, me.status)
        assert.equal("210987654321", tag(me.body, "Account"))
        -- the role's account's resources
        local sg = ec2({ Action = "DescribeSecurityGroups" }, { key = key, region = "us-east-1" })
        assert.equal("sg-0fedcba987654321f", tag(sg.body, "groupId"))
        -- without or with a wrong token
        local bad = { access_key_id = key.access_key_id, secret_access_key = key.secret_access_key, token = "X" .. key.token }
        assert.equal("InvalidClientTokenId", tag(sts({ Action = "GetCallerIdentity" }, { key = bad }).body, "Code"))
        assert.equal("AuthFailure", ec2_code(ec2({ Action = "DescribeSecurityGroups" }, { key = bad })))
        -- past its expiration
        clock = clock + 900
        local old = sts({ Action = "GetCallerIdentity" }, { key = key })
        assert.equal(403, old.status)
        assert.equal("ExpiredToken", tag(old.body, "Code"))
        assert.equal("RequestExpired", ec2_code(ec2({ Action = "DescribeSecurityGroups" }, { key = key })))
        -- refusals
        local peer_key = { access_key_id = PEER.access_key_id, secret_access_key = PEER.secret_access_key }
        local denied = sts({ Action = "AssumeRole", RoleArn = arn, RoleSessionName = "x1" }, { key = peer_key })
        assert.equal(403, denied.status)
        assert.equal("AccessDenied", tag(denied.body, "Code"))
        local unknown = sts({ Action = "AssumeRole", RoleArn = "arn:aws:iam::210987654321:role/nope", RoleSessionName = "x1" })
        assert.equal("AccessDenied", tag(unknown.body, "Code"))
        local long = sts({ Action = "AssumeRole", RoleArn = arn, RoleSessionName = "x1", DurationSeconds = "7200" })
        assert.equal(400, long.status)
        assert.equal("ValidationError", tag(long.body, "Code"))
        local noname = sts({ Action = "AssumeRole", RoleArn = arn })
        assert.equal("ValidationError", tag(noname.body, "Code"))
      end)
  end)

  describe("Route 53", function()
    local ZONE = AS_CLUSTER.hosted_zone
    local function assoc(vpc, region, path)
      return r53("POST", "/hostedzone/" .. ZONE .. "/" .. (path or "associatevpc"),
        '<?xml version="1.0" encoding="UTF-8"?>\n<' .. (path == "disassociatevpc" and "DisassociateVPCFromHostedZoneRequest"
        or "AssociateVPCWithHostedZoneRequest") .. ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
        .. "<VPC><VPCRegion>" .. region .. "</VPCRegion><VPCId>" .. vpc .. "</VPCId></VPC><Comment>peerlua &amp; co"
        .. "</Comment></" .. (path == "disassociatevpc" and "DisassociateVPCFromHostedZoneRequest"
        or "AssociateVPCWithHostedZoneRequest") .. ">")
    end

    it("associates a customer VPC with the Aerospike zone; the change is PENDING then INSYNC", function()
      local resp = assoc("vpc-0123456789abcdef0", "us-east-1")
      assert.equal(200, resp.status)
      assert.matches('^<%?xml[^\n]*%?>\n<AssociateVPCWithHostedZoneResponse xmlns="https://route53%.amazonaws%.com/doc/'
                     .. '2013%-04%-01/"><ChangeInfo><Id>/change/C%w+</Id><Status>PENDING</Status>', resp.body)
      assert.equal("peerlua &amp; co", tag(resp.body, "Comment"))
      local id = tag(resp.body, "Id"):match("^/change/(.*)$")
      assert.equal("PENDING", tag(r53("GET", "/change/" .. id).body, "Status"))
      clock = clock + FX.aws.durations.change_insync
      local c = r53("GET", "/change/" .. id)
      assert.equal(200, c.status)
      assert.matches("<GetChangeResponse ", c.body)
      assert.equal("INSYNC", tag(c.body, "Status"))
      assert.equal("NoSuchChange", tag(r53("GET", "/change/CNOSUCH").body, "Code"))
      -- again: already associated
      local again = assoc("vpc-0123456789abcdef0", "us-east-1")
      assert.equal(400, again.status)
      assert.equal("ConflictingDomainExists", tag(again.body, "Code"))
      assert.matches("^<%?xml[^\n]*%?>\n<ErrorResponse xmlns=\"https://route53%.amazonaws%.com/doc/2013%-04%-01/\">"
                     .. "<Error><Type>Sender</Type><Code>", again.body)
      -- listed for the VPC
      local l = r53("GET", "/hostedzonesbyvpc", nil, { query = { vpcid = "vpc-0123456789abcdef0", vpcregion = "us-east-1" } })
      assert.equal(200, l.status)
      assert.matches("<ListHostedZonesByVPCResponse xmlns=\"https://route53%.amazonaws%.com/doc/2013%-04%-01/\">"
                     .. "<HostedZoneSummaries><HostedZoneSummary><HostedZoneId>" .. ZONE, l.body)
      assert.equal("456789012345", tag(l.body, "OwningAccount"))
      -- disassociate, then it is not there
      assert.equal(200, assoc("vpc-0123456789abcdef0", "us-east-1", "disassociatevpc").status)
      assert.equal("VPCAssociationNotFound", tag(assoc("vpc-0123456789abcdef0", "us-east-1", "disassociatevpc").body, "Code"))
      l = r53("GET", "/hostedzonesbyvpc", nil, { query = { vpcid = "vpc-0123456789abcdef0", vpcregion = "us-east-1" } })
      assert.is_nil(tag(l.body, "HostedZoneId"))
    end)

    it("refuses an unknown zone, another account's VPC, a bad region and bad XML", function()
      local nz = r53("POST", "/hostedzone/ZNOSUCHZONE/associatevpc",
        "<AssociateVPCWithHostedZoneRequest><VPC><VPCRegion>us-east-1</VPCRegion><VPCId>vpc-0123456789abcdef0</VPCId></VPC>"
        .. "</AssociateVPCWithHostedZoneRequest>")
      assert.equal(404, nz.status)
      assert.equal("NoSuchHostedZone", tag(nz.body, "Code"))
      assert.equal("InvalidVPCId", tag(assoc("vpc-0fedcba987654321f", "us-east-1").body, "Code"))
      assert.equal("InvalidVPCId", tag(assoc("vpc-0123456789abcdef0", "us-west-2").body, "Code"))
      local bad = r53("POST", "/hostedzone/" .. ZONE .. "/associatevpc", "<AssociateVPCWithHostedZoneRequest><VPC>")
      assert.equal(400, bad.status)
      assert.equal("InvalidInput", tag(bad.body, "Code"))
    end)
  end)

  describe("throttling and faults", function()
    it("answers each service's own throttling words past the rate limit", function()
      local fx = app.fixture
      app.fixture = setmetatable({ aws = setmetatable({ rate_limit = 2, rate_window = 60 }, { __index = fx.aws }) },
                                 { __index = fx })
      assert.equal(200, ec2({ Action = "DescribeRouteTables" }).status)
      assert.equal(200, sts({ Action = "GetCallerIdentity" }).status)
      local t = ec2({ Action = "DescribeRouteTables" })
      assert.equal(503, t.status)
      assert.equal("RequestLimitExceeded", ec2_code(t))
      assert.is_nil(t.headers["Retry-After"])
      local s = sts({ Action = "GetCallerIdentity" })
      assert.equal(400, s.status)
      assert.equal("Throttling", tag(s.body, "Code"))
      local z = r53("GET", "/change/C1")
      assert.equal(400, z.status)
      assert.equal("Throttling", tag(z.body, "Code"))
      -- per account: the second account is not held back
      local peer_key = { access_key_id = PEER.access_key_id, secret_access_key = PEER.secret_access_key }
      assert.equal(200, ec2({ Action = "DescribeRouteTables" }, { key = peer_key, region = "us-east-1" }).status)
      local log = app.log:entries({ provider = "aws" })
      assert.equal("123456789012", log[1].credential)
      assert.equal("rate-limit", log[3].fault)
      app.fixture = fx
    end)

    it("injected faults come in EC2's error shape", function()
      assert(app:set_faults("/aws/ec2*=500:1"))
      local resp = ec2({ Action = "DescribeRouteTables" })
      assert.equal(500, resp.status)
      assert.equal("InternalError", ec2_code(resp))
      assert(app:set_faults("/aws/sts*=503:1"))
      local s = sts({ Action = "GetCallerIdentity" })
      assert.equal(503, s.status)
      assert.equal("ServiceUnavailable", tag(s.body, "Code"))
    end)
  end)

  it("forgets routes and rules on /_sim/reset; /_sim/peer-accept takes a pcx- id", function()
    local pcx = instaclustr_peering()
    local route = { Action = "CreateRoute", RouteTableId = "rtb-0a1b2c3d000000002", DestinationCidrBlock = "10.224.0.0/16",
                    VpcPeeringConnectionId = pcx }
    assert.equal(200, ec2(route).status)
    local ok = app:handle({ method = "POST", path = "/_sim/peer-accept", query = {}, headers = {},
                            body = json.encode({ provider = "aws", id = pcx }) })
    assert.equal(200, ok.status)
    assert.equal("provisioning", app.providers.instaclustr.peerings()[1].status)
    app:reset()
    local d = ec2({ Action = "DescribeRouteTables", ["RouteTableId.1"] = "rtb-0a1b2c3d000000002" })
    assert.is_nil(d.body:find("10.224.0.0/16", 1, true))
    assert.is_nil(tag(ec2({ Action = "DescribeVpcPeeringConnections" }).body, "vpcPeeringConnectionId"))
  end)

  it("saves and restores its state with --state", function()
    local pcx = instaclustr_peering()
    assert.equal(200, ec2({ Action = "CreateRoute", RouteTableId = "rtb-0a1b2c3d000000002",
                            DestinationCidrBlock = "10.224.0.0/16", VpcPeeringConnectionId = pcx }).status)
    local path = os.tmpname()
    assert(app:save_state(path))
    local again = sim.new({ state = path, clock = function() return clock end, now = function() return wall end })
    os.remove(path)
    app = again
    local d = ec2({ Action = "DescribeRouteTables", ["RouteTableId.1"] = "rtb-0a1b2c3d000000002" })
    assert.truthy(d.body:find("<vpcPeeringConnectionId>" .. pcx, 1, true))
    local p = ec2({ Action = "DescribeVpcPeeringConnections", ["VpcPeeringConnectionId.1"] = pcx })
    assert.equal("pending-acceptance", tag(tag(p.body, "status"), "code"))
  end)
end)

describe("emulated AWS over HTTP", function()
  it("answers at EC2's real host name, signed over the path as sent", function()
    local emu <close> = assert(sim.start({}))
    local url = emu.url .. "/"
    local body = "Action=DescribeSecurityGroups&Version=2016-11-15"
    local host = "ec2.us-west-2.amazonaws.com"
    local h = assert(peerlua.auth.aws_sign({ method = "POST", url = "http://" .. host .. "/",
      headers = { Host = host, ["Content-Type"] = "application/x-www-form-urlencoded" }, body = body,
      access_key = CUSTOMER.access_key_id, secret_key = CUSTOMER.secret_access_key, region = "us-west-2",
      service = "ec2" }))
    local resp = assert(peerlua.http.request({ method = "POST", url = url, body = body, timeout = 5, headers = {
      Host = host, ["Content-Type"] = "application/x-www-form-urlencoded", Authorization = h.Authorization,
      ["X-Amz-Date"] = h["X-Amz-Date"] } }))
    assert.equal(200, resp.status)
    assert.matches("<DescribeSecurityGroupsResponse", resp.body)
    assert.matches("sg%-0a1b2c3d000000001", resp.body)
  end)
end)

describe("emulated AWS over HTTP, presigned", function()
  it("answers a presigned GetCallerIdentity URL fetched as it is, with nothing but the URL", function()
    local emu <close> = assert(sim.start({}))
    local url = assert(peerlua.auth.aws_presign({ url = emu.url .. "/aws/sts/?Action=GetCallerIdentity&Version=2011-06-15",
      access_key = CUSTOMER.access_key_id, secret_key = CUSTOMER.secret_access_key, region = "us-east-1",
      service = "sts", expires = 60 }))
    local resp = assert(peerlua.http.request({ url = url, timeout = 5 }))
    assert.equal(200, resp.status)
    assert.equal("123456789012", tag(resp.body, "Account"))
    local tampered = assert(peerlua.http.request({ url = url:gsub("Version=2011", "Version=2012"), timeout = 5 }))
    assert.equal(403, tampered.status)
    assert.equal("SignatureDoesNotMatch", tag(tampered.body, "Code"))
  end)
end)
