-- The AWS client (peerlua.aws) and its steps against the emulator: both
-- sides of an Instaclustr and an Aerospike peering from one script, every
-- step idempotent, refusals before any change, credentials from where
-- AWS's tools look, and the XML decoder it reads answers with.
local peerlua = require("peerlua")
local testserver = require("testserver")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local AS_CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local MUTATING = { AcceptVpcPeeringConnection = true, CreateRoute = true, AuthorizeSecurityGroupIngress = true,
                   RejectVpcPeeringConnection = true, DeleteRoute = true, RevokeSecurityGroupIngress = true }

describe("peerlua.xml.decode", function()
  local decode = peerlua.xml.decode

  it("reads AWS's shapes: item lists, repeated names, empty sets, entities", function()
    local v, root = decode([[<?xml version="1.0" encoding="UTF-8"?>
<R xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>
  <set><item><id>a</id><s><code>x &amp; y</code></s><tagSet/></item><item><id>b</id></item></set>
  <VPCs><VPC>v1</VPC><VPC>v2</VPC><VPC>v3</VPC></VPCs><one><VPC>only</VPC></one></R>]])
    assert.equal("R", root)
    assert.equal("r-1", v.requestId)
    assert.equal(2, #v.set)
    assert.equal("x & y", v.set[1].s.code)
    assert.equal("", v.set[1].tagSet)
    assert.equal("b", v.set[2].id)
    assert.same({ "v1", "v2", "v3" }, v.VPCs.VPC)
    assert.equal("only", v.one.VPC)
  end)

  it("refuses malformed XML, a DOCTYPE and deep nesting, as invalid", function()
    for _, bad in ipairs({ "<a><b></a>", "", '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
                           string.rep("<a>", 65) .. string.rep("</a>", 65) }) do
      local v, err = decode(bad)
      assert.is_nil(v)
      assert.equal("invalid", err.code)
      assert.matches("^XML: ", err.message)
    end
    assert.truthy(decode(string.rep("<a>", 64) .. string.rep("</a>", 64)))
  end)
end)

describe("AWS's request bodies: the Query API's form (EC2, STS), Route 53's XML", function()
  local core = require("internals").core
  -- written out by hand from botocore's EC2 serializer (serialize.py,
  -- EC2Serializer): lists NAME.N, structures NAME.Field, Filter.N.Name and
  -- Filter.N.Value.M; every name and value percent-encoded (RFC 3986)
  it("flattens lists, structures and filters, and names the action and version", function()
    assert.equal("Action=DescribeRouteTables&Version=2016-11-15&Filter.1.Name=a%20b&Filter.1.Value.1=x%26y"
      .. "&Filter.1.Value.2=z&Filter.2.Name=vpc-id&Filter.2.Value.1=vpc-1&RouteTableId.1=rtb-1&RouteTableId.2=rtb-2",
      core.query_form("aws", "", "describe_route_tables", { RouteTableId = { "rtb-1", "rtb-2" },
        Filter = { ["vpc-id"] = "vpc-1", ["a b"] = { "x&y", "z" } } }))
    assert.equal("Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1"
      .. "&IpPermissions.1.FromPort=9042&IpPermissions.1.IpProtocol=tcp"
      .. "&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F16&IpPermissions.1.IpRanges.1.Description=peer%20lua"
      .. "&IpPermissions.1.ToPort=9042&IpPermissions.2.IpProtocol=-1&IpPermissions.2.IpRanges.1.CidrIp=10.1.0.0%2F16",
      core.query_form("aws", "", "authorize_security_group_ingress", { GroupId = "sg-1", IpPermissions = {
        { ip_protocol = "tcp", from_port = 9042, to_port = 9042,
          ip_ranges = { { cidr_ip = "10.0.0.0/16", description = "peer lua" } } },
        { ip_protocol = "-1", ip_ranges = { { cidr_ip = "10.1.0.0/16" } } } } }))
    assert.equal("Action=GetCallerIdentity&Version=2011-06-15", core.query_form("aws", "", "get_caller_identity", {}))
    assert.equal("Action=AssumeRole&Version=2011-06-15&DurationSeconds=900&Flag=true",
      core.query_form("aws", "", "assume_role", { DurationSeconds = 900, Flag = true }))
  end)

  it("refuses an operation that is not a Query API's (Route 53 is REST)", function()
    local ok, err = pcall(core.query_form, "aws", "", "associate_vpc_with_hosted_zone", {})
    assert.is_false(ok)
    assert.matches("has no Query API operation associate_vpc_with_hosted_zone", err, 1, true)
    ok, err = pcall(core.xml_body, "aws", "", "create_route", {})
    assert.is_false(ok)
    assert.matches("has no XML body operation create_route", err, 1, true)
  end)

  -- Route 53's request syntax (API Reference, AssociateVPCWithHostedZone),
  -- in botocore's member order: VPC (VPCRegion, VPCId), then Comment
  it("writes Route 53's XML bodies: the root in its namespace, nested elements, text escaped", function()
    local function body(opname, args)
      return core.xml_body("aws", "", opname, assert(core.prepare("aws", "", opname, args)).body)
    end
    local head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    assert.equal(head .. '<AssociateVPCWithHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
      .. "<VPC><VPCRegion>us-east-1</VPCRegion><VPCId>vpc-0a1b2c3d</VPCId></VPC>"
      .. "<Comment>a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;</Comment></AssociateVPCWithHostedZoneRequest>",
      body("associate_vpc_with_hosted_zone", { hosted_zone_id = "Z1", vpc_id = "vpc-0a1b2c3d",
                                               vpc_region = "us-east-1", comment = [[a <b> & 'c' "d"]] }))
    assert.equal(head .. '<DisassociateVPCFromHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
      .. "<VPC><VPCRegion>eu-west-1</VPCRegion><VPCId>vpc-0a1b2c3d</VPCId></VPC></DisassociateVPCFromHostedZoneRequest>",
      body("disassociate_vpc_from_hosted_zone", { hosted_zone_id = "Z1", vpc_id = "vpc-0a1b2c3d",
                                                  vpc_region = "eu-west-1" }))
  end)
end)

describe("peerlua.aws", function()
  local server

  -- the AWS actions the emulator received, in order
  local function actions()
    local out = {}
    for _, e in ipairs(server:admin("GET", "requests")) do
      if e.path:match("^/aws/") then
        out[#out + 1] = e.op or (e.method .. " " .. e.path)
      end
    end
    return out
  end

  local function mutations()
    local n = 0
    for _, a in ipairs(actions()) do
      if MUTATING[a] or a:match("associatevpc") then n = n + 1 end
    end
    return n
  end

  local function ic_peering(ic)
    return assert(ic:ensure_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
                                      peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" },
                                      peer_region = "US_WEST_2" }))
  end

  setup(function() server = testserver.attach(peerlua, "--time-scale 600", { quiet = true }) end)
  teardown(function() server:stop() end)
  before_each(function()
    server:admin("POST", "faults", { spec = "none" })
    server:admin("POST", "reset")
  end)

  it("does the AWS side of an Instaclustr peering, and a second run changes nothing", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local p = ic_peering(ic)
    assert.equal("pending_acceptance", p.state)
    local a, how = assert(aws:accept_peering(p))
    assert.equal("accepted", how)
    assert.equal(p.raw.aws_vpc_connection_id, a.pcx)
    assert.same({ "10.224.0.0/16" }, a.cidrs) -- the data centre's network, from the requester side
    local routes, rhow = assert(aws:ensure_routes(p))
    assert.equal("added", rhow)
    assert.equal(2, #routes.added) -- both route tables of the VPC
    local ingress, ihow = assert(aws:ensure_ingress(p, { ports = { 9042 } }))
    assert.equal("added", ihow)
    assert.equal("sg-0a1b2c3d000000001", ingress.security_group) -- the VPC's default group
    assert(p:wait("active", { timeout = 600 }))
    local before = mutations()
    assert.equal(4, before) -- accept, two routes, one rule
    assert.equal("existing", select(2, aws:accept_peering(p)))
    assert.equal("existing", select(2, aws:ensure_routes(p)))
    assert.equal("existing", select(2, aws:ensure_ingress(p, { ports = { 9042 } })))
    assert.equal(before, mutations())
  end)

  it("refuses routes before the accept, with the canonical state", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local p = ic_peering(ic)
    local before = mutations()
    local ok, err = aws:ensure_routes(p)
    assert.is_nil(ok)
    assert.equal("state", err.code)
    assert.equal("pending_acceptance", err.state)
    assert.matches("is pending%-acceptance; accept it first", err.message)
    assert.equal(before, mutations())
  end)

  it("refuses to accept a connection AWS rejected, with AWS's word on it", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local p = ic_peering(ic)
    assert(peerlua.sim.accept(p, false)) -- the peer side rejects it
    local before = mutations()
    local ok, err = aws:accept_peering(p)
    assert.is_nil(ok)
    assert.equal("state", err.code)
    assert.equal("rejected", err.state)
    assert.matches("is rejected, not pending%-acceptance %(AWS: Rejected by %d+%)", err.message)
    assert.equal(before, mutations())
  end)

  it("finds on AWS the pcx- of a v2 Instaclustr peering, which names none", function()
    local ic = assert(peerlua.instaclustr({ api = "v2" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local p = assert(ic:ensure_peering({ cdc_id = CDC, peer_aws_account_id = "123456789012",
                                         peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" },
                                         peer_region = "US_WEST_2" }))
    assert.is_nil(p.raw.aws_vpc_connection_id)
    local t0 = os.time()
    local a, how = assert(aws:accept_peering(p, { timeout = 30 }))
    assert.equal("accepted", how)
    assert.truthy(os.time() - t0 < 20) -- found, not waited out
    assert.matches("^pcx%-%x+$", a.pcx)
    assert(p:wait("active", { timeout = 600 }))
    local r = assert(aws:describe_vpc_peering_connections({ vpc_peering_connection_ids = { a.pcx } }))
    assert.equal(1, #r.vpcPeeringConnectionSet)
    assert.equal("vpc-0a1b2c3d", r.vpcPeeringConnectionSet[1].accepterVpcInfo.vpcId)
    assert.equal("active", r.vpcPeeringConnectionSet[1].status.code)
    assert.equal("existing", select(2, aws:accept_peering(p)))
    -- a second one between the same VPCs: which is which is not guessed
    local q = assert(ic:create_peering({ cdc_id = CDC, peer_aws_account_id = "123456789012",
                                         peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.2.0.0/16" },
                                         peer_region = "US_WEST_2" }))
    local before = mutations()
    local ok, err = aws:accept_peering(q, { timeout = 30 })
    assert.is_nil(ok)
    assert.equal("conflict", err.code)
    assert.matches("2 live peering connections from vpc%-%w+ to vpc%-0a1b2c3d", err.message)
    assert.equal(before, mutations())
  end)

  it("does the AWS side of an Aerospike peering, hosted zone included", function()
    local as = assert(peerlua.aerospike({}))
    local aws = assert(peerlua.aws({ region = "us-east-1" }))
    local p = assert(as:ensure_peering({ cluster_id = AS_CLUSTER, vpc_id = "vpc-0123456789abcdef0",
                                         cidr_block = "192.168.0.0/16", account_id = "123456789012",
                                         region = "us-east-1", is_secure_connection = false }))
    local _, how = assert(aws:accept_peering(p))
    assert.equal("accepted", how)
    assert(aws:ensure_routes(p))
    local ingress = assert(aws:ensure_ingress(p)) -- Aerospike's port by default
    assert.equal(4000, ingress.added[1].port)
    local z, zhow = assert(aws:associate_hosted_zone(p))
    assert.equal("associated", zhow)
    assert.equal(p.raw.privateHostedZoneId, z.zone)
    assert(p:wait("active", { timeout = 600 }))
    local before = mutations()
    assert.equal("existing", select(2, aws:associate_hosted_zone(p)))
    assert.equal("existing", select(2, aws:ensure_ingress(p)))
    assert.equal(before, mutations())
  end)

  local function as_peering(as)
    return assert(as:ensure_peering({ cluster_id = AS_CLUSTER, vpc_id = "vpc-0123456789abcdef0",
                                      cidr_block = "192.168.0.0/16", account_id = "123456789012",
                                      region = "us-east-1", is_secure_connection = false }))
  end

  it("waits to accept while AWS is still initiating the request, as for a fresh Aerospike pcx-", function()
    -- initiating-request lasts 10 emulated seconds (sim/fixture.lua): half a
    -- second at this scale, long enough to be seen, short enough to wait out
    local slow = testserver.start("--time-scale 20")
    peerlua.set_sim({ url = slow.url })
    local ok, a, how, first = pcall(function()
      local as = assert(peerlua.aerospike({}))
      local aws = assert(peerlua.aws({ region = "us-east-1" }))
      local p = as_peering(as)
      local r = assert(aws:describe_vpc_peering_connections({ vpc_peering_connection_ids = { p.raw.peeringId } }))
      local result, word = aws:accept_peering(p, { timeout = 30 })
      return result, word, r.vpcPeeringConnectionSet[1].status.code
    end)
    peerlua.set_sim({ url = server.url })
    slow:stop()
    assert(ok, a)
    assert.equal("initiating-request", first) -- the wait was needed
    assert.equal("accepted", how, a and a.message)
  end)

  it("says a pcx- still initiating-request when the step's timeout ends, and changes nothing", function()
    local as = assert(peerlua.aerospike({}))
    local aws = assert(peerlua.aws({ region = "us-east-1" }))
    local p = as_peering(as)
    server:admin("POST", "state", { provider = "aerospike", id = p.id, state = "initiating-request" })
    local before = mutations()
    local ok, err = aws:accept_peering(p, { timeout = 0.5 })
    assert.is_nil(ok)
    assert.equal("timeout", err.code)
    assert.is_true(err.retryable)
    assert.matches("is still initiating%-request after 0.5 s", err.message)
    assert.equal(before, mutations())
  end)

  it("does the AWS side of an Aiven peering of a project VPC in AWS", function()
    local av = assert(peerlua.aiven({}))
    local aws = assert(peerlua.aws({ region = "us-east-1" }))
    local args = { project = "sim-project", project_vpc_id = "2d7b4e6f-8c0a-4f32-b9d5-6e7f8091a2b3",
                   peer_cloud_account = "123456789012", peer_vpc = "vpc-0123456789abcdef0", peer_region = "us-east-1" }
    local p = assert(av:ensure_peering(args))
    assert(p:wait("pending_acceptance", { timeout = 600 }))
    assert.matches("^pcx%-%x+$", p.raw.state_info.aws_vpc_peering_connection_id)
    local a, how = assert(aws:accept_peering(p, { timeout = 30 }))
    assert.equal("accepted", how)
    assert.equal(p.raw.state_info.aws_vpc_peering_connection_id, a.pcx)
    assert.same({ "10.20.0.0/24" }, a.cidrs) -- the project VPC's network, from the requester side
    local routes = assert(aws:ensure_routes(p))
    assert.equal(2, #routes.added)
    assert(aws:ensure_ingress(p, { ports = { 5432 } }))
    assert(p:wait("active", { timeout = 600 }))
    local before = mutations()
    assert.equal("existing", select(2, aws:accept_peering(p)))
    assert.equal("existing", select(2, aws:ensure_routes(p)))
    assert.equal(before, mutations())
    -- rejected on the AWS side: Aiven says REJECTED_BY_PEER
    local q = assert(av:create_peering({ project = "sim-project", project_vpc_id = args.project_vpc_id,
                                         peer_cloud_account = "123456789012", peer_vpc = "vpc-0a1b2c3d",
                                         peer_region = "us-west-2" }))
    assert(q:wait("pending_acceptance", { timeout = 600 }))
    local west = assert(peerlua.aws({ region = "us-west-2" }))
    assert(west:reject_vpc_peering_connection({ vpc_peering_connection_id = q.raw.state_info.aws_vpc_peering_connection_id }))
    local ok, err = q:wait("active", { timeout = 600 })
    assert.is_nil(ok)
    assert.equal("rejected", err.code)
    assert.equal("REJECTED_BY_PEER", q.status)
  end)

  it("reads once for steps running at the same time", function()
    -- an emulator of its own, with a VPC for each peering
    local fixture = peerlua.json.decode(peerlua.json.encode(require("peerlua.sim.fixture")))
    for i = 1, 5 do
      table.insert(fixture.aws.vpcs, { vpc_id = ("vpc-%08x"):format(i), account_id = "123456789012",
                                       region = "us-west-2", cidr = ("10.9.%d.0/24"):format(i),
                                       route_tables = { { id = ("rtb-%08x"):format(i), main = true } } })
    end
    local mine <close> = assert(require("peerlua.sim").start({ time_scale = 600, fixture = fixture }))
    local function my_actions()
      local out = {}
      for _, e in ipairs(mine:requests("aws")) do out[#out + 1] = e.op end
      return out
    end
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local tasks = {}
    for i = 1, 5 do
      tasks[i] = peerlua.spawn(function()
        local p = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
                                             peer_vpc_id = ("vpc-%08x"):format(i), peer_region = "US_WEST_2",
                                             peer_subnets = { ("10.9.%d.0/24"):format(i) } }))
        return assert(aws:accept_peering(p))
      end)
    end
    for _, r in ipairs(peerlua.wait_all(tasks)) do assert.equal("provisioning", r[1] and r[1].status, tostring(r[2])) end
    local describes, accepts, identities = 0, 0, 0
    for _, a in ipairs(my_actions()) do
      if a == "DescribeVpcPeeringConnections" then describes = describes + 1 end
      if a == "AcceptVpcPeeringConnection" then accepts = accepts + 1 end
      if a == "GetCallerIdentity" then identities = identities + 1 end
    end
    assert.equal(5, accepts)
    assert.equal(1, identities)
    assert.is_true(describes <= 2, describes .. " describes for 5 accepts")
  end)

  it("says at which line of the script a step failed, though its request ran in a task of its own", function()
    server:admin("POST", "faults", { spec = "POST /aws/sts*=500:1" })
    local aws = assert(peerlua.aws({ region = "us-west-2", retries = { attempts = 1 } }))
    local id, err = aws:account() -- GetCallerIdentity, shared by concurrent askers: a task's request
    assert.is_nil(id)
    assert.equal("unavailable", err.code)
    assert.matches("aws_spec%.lua:%d+$", err.where)
    assert.matches("^[^ ]*aws_spec%.lua:%d+: ", tostring(err))
  end)

  it("converges under faults on AWS: the retried accept, route and rule land once", function()
    server:admin("POST", "faults", { spec = "POST /aws/*=500after:0.3,504after:0.2,resetafter:0.2,503:0.1" })
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2", retries = { attempts = 20, base = 0.01, cap = 0.05 } }))
    local p = ic_peering(ic)
    local ok, err = aws:accept_peering(p)
    assert.truthy(ok, tostring(err))
    assert.truthy(aws:ensure_routes(p, { route_tables = { "rtb-0a1b2c3d000000002" } }))
    assert.truthy(aws:ensure_ingress(p, { security_group = "sg-0a1b2c3d000000002", ports = { 9042, 7000 } }))
    server:admin("POST", "faults", { spec = "none" })
    local faulted = 0
    for _, e in ipairs(server:admin("GET", "requests")) do
      if e.path:match("^/aws/") and e.fault then faulted = faulted + 1 end
    end
    assert.is_true(faulted > 0, "no fault was injected")
    -- read back: one route through the pcx, one rule a port, the pcx accepted
    local t = assert(aws:describe_route_tables({ route_table_ids = { "rtb-0a1b2c3d000000002" } }))
    local routes = 0
    for _, r in ipairs(require("peerlua.providers.common").xml_list(t.routeTableSet[1].routeSet)) do
      if r.destinationCidrBlock == "10.224.0.0/16" then routes = routes + 1 end
    end
    assert.equal(1, routes)
    local g = assert(aws:describe_security_groups({ group_ids = { "sg-0a1b2c3d000000002" } }))
    local rules = 0
    for _, perm in ipairs(require("peerlua.providers.common").xml_list(g.securityGroupInfo[1].ipPermissions)) do
      for _, r in ipairs(require("peerlua.providers.common").xml_list(perm.ipRanges)) do
        if r.cidrIp == "10.224.0.0/16" then rules = rules + 1 end
      end
    end
    assert.equal(2, rules)
    assert(p:wait("active", { timeout = 600 }))
    assert.equal("existing", select(2, aws:ensure_routes(p, { route_tables = { "rtb-0a1b2c3d000000002" } })))
  end)

  it("killed after the accept and run again, converges; no key, token or secret in a trace", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local script = dir .. "/both.lua"
    local f = assert(io.open(script, "w"))
    f:write([[
      local peerlua = require("peerlua")
      local ic = assert(peerlua.instaclustr({ api = "v1" }))
      local aws = assert(peerlua.aws({ region = "us-west-2", session_token = arg[1] == "token" and os.getenv("TOKEN") or nil,
                                       access_key_id = os.getenv("AKID"), secret_access_key = os.getenv("SECRET") }))
      local p = assert(ic:ensure_peering({ cluster_data_centre_id = "]] .. CDC .. [[",
        peer_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" },
        peer_region = "US_WEST_2" }))
      print("accept", select(2, aws:accept_peering(p)))
      if arg[1] == "crash" then os.exit(9) end
      print("routes", select(2, aws:ensure_routes(p)))
    ]])
    f:close()
    local fx = require("peerlua.sim.fixture").aws.accounts[1]
    local token = "sim-session-token-never-printed-0123456789"
    local function run(mode)
      local cmd = table.concat({ "PEERLUA_SIM_URL=" .. server.url, "AKID=" .. fx.access_key_id,
        "SECRET=" .. fx.secret_access_key, "TOKEN=" .. token, os.getenv("PEERLUA_BIN"), "--quiet --trace-headers",
        script, mode, "2>&1" }, " ")
      local h = io.popen(cmd)
      local out = h:read("a")
      h:close()
      return out
    end
    local first = run("crash")
    local second = run("")
    local third = run("token") -- a session token the emulator does not know: refused, and not shown
    os.remove(script)
    os.remove(dir)
    assert.matches("accept\taccepted", first)
    assert.is_nil(first:find("routes", 1, true))
    assert.matches("accept\texisting", second)
    assert.matches("routes\tadded", second)
    assert.matches("The security token included in the request is invalid", third)
    assert.matches("X%-Amz%-Security%-Token: %[REDACTED%]", third) -- the header is traced, its value is not
    for _, out in ipairs({ first, second, third }) do
      assert.matches("Authorization: %[REDACTED%]", out)
      assert.is_nil(out:find(fx.secret_access_key, 1, true))
      assert.is_nil(out:find(token, 1, true))
    end
    local accepts = 0
    for _, a in ipairs(actions()) do if a == "AcceptVpcPeeringConnection" then accepts = accepts + 1 end end
    assert.equal(1, accepts)
  end)

  it("names the access key in a trace's throttle lines by a fingerprint, not by its id", function()
    local fx = require("peerlua.sim.fixture").aws.accounts[1]
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local aws = assert(require("peerlua").aws({ region = "us-west-2", rate = 50, burst = 1,
        access_key_id = os.getenv("AKID"), secret_access_key = os.getenv("SECRET") }))
      for _ = 1, 3 do assert(aws:describe_route_tables({})) end
    ]])
    f:close()
    local h = io.popen(table.concat({ "PEERLUA_SIM_URL=" .. server.url, "AKID=" .. fx.access_key_id,
      "SECRET=" .. fx.secret_access_key, os.getenv("PEERLUA_BIN"), "--quiet --trace", script, "2>&1" }, " "))
    local out = h:read("a")
    h:close()
    os.remove(script)
    assert.matches("throttle aws:key:%x+@us%-west%-2 wait", out)
    assert.is_nil(out:find(fx.access_key_id, 1, true))
  end)

  it("plans the AWS side in a dry run: accept, routes and rule shown, nothing sent", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2", role_arn = "arn:aws:iam::210987654321:role/peerlua-accepter" }))
    local p = ic_peering(ic)
    local mine = assert(peerlua.aws({ region = "us-west-2" }))
    local hows = {}
    local summary, err = peerlua.dry_run(function()
      hows[1] = select(2, assert(mine:accept_peering(p)))
      hows[2] = select(2, assert(mine:ensure_routes(p)))
      hows[3] = select(2, assert(mine:ensure_ingress(p, { ports = { 9042 } })))
      hows[4] = assert(aws:account()) -- AssumeRole changes nothing: a dry run sends it
    end)
    assert.is_nil(err)
    assert.same({ "planned", "added", "added", "210987654321" }, hows)
    assert.same({ 1, 3 }, { summary.change, summary.create }) -- the accept changes, the routes and rule create
    assert.equal("pcx-", summary.items[1].body.vpc_peering_connection_id:sub(1, 4)) -- what is sent is shown
    assert.equal(0, mutations())
  end)

  it("says the region may be why a pcx- is not found when the vendor's peering names none", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local p = ic_peering(ic)
    p.raw.peerRegion = nil -- as a vendor answer without it
    local east = assert(peerlua.aws({ region = "us-east-1" }))
    local _, err = east:accept_peering(p, { timeout = 0.2 })
    assert.equal("not_found", err.code)
    assert.matches("names no region: if the VPC is in another, make the AWS client for it", err.message)
    p.raw.peerRegion = "US_EAST_1" -- named, and this client's: no such hint
    _, err = east:accept_peering(p, { timeout = 0.2 })
    assert.equal("not_found", err.code)
    assert.is_nil(err.message:find("names no region", 1, true))
    assert.equal(0, mutations())
  end)

  it("counts AWS steps already done as already as wanted in a dry run", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local p = ic_peering(ic)
    assert(aws:accept_peering(p))
    assert(aws:ensure_routes(p))
    local before, hows = mutations(), {}
    local summary = assert(peerlua.dry_run(function()
      hows[1] = select(2, assert(aws:accept_peering(p)))
      hows[2] = select(2, assert(aws:ensure_routes(p)))
    end))
    assert.same({ "existing", "existing" }, hows)
    assert.same({ 0, 0, 2 }, { summary.create, summary.change, summary.existing })
    assert.equal(before, mutations())
  end)

  it("plans the AWS steps of a peering the dry run only plans, and checks their options", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local hows, bad = {}, {}
    local summary, err = peerlua.dry_run(function()
      local p = ic_peering(ic)
      assert.equal("planned", p.state)
      hows[1] = select(2, assert(aws:accept_peering(p)))
      hows[2] = select(2, assert(aws:ensure_routes(p, { route_tables = { "rtb-0a1b2c3d" } })))
      hows[3] = select(2, assert(aws:ensure_ingress(p, { ports = { 9042 } })))
      bad[1] = select(2, aws:ensure_ingress(p)) -- Instaclustr: ports required
      bad[2] = select(2, aws:ensure_routes(p, { route_tables = { "rt-1" } }))
      bad[3] = select(2, aws:accept_peering(p, { timeout = -1 }))
      bad[4] = select(2, assert(peerlua.aws({ region = "us-east-1" })):accept_peering(p)) -- the VPC is in us-west-2
    end)
    assert.is_nil(err)
    assert.same({ "planned", "planned", "planned" }, hows)
    assert.same({ "ports", "route_tables[1]", "timeout", "region" },
      { bad[1].details[1].field, bad[2].details[1].field, bad[3].details[1].field, bad[4].details[1].field })
    local ops = {}
    for _, item in ipairs(summary.items) do ops[#ops + 1] = item.provider .. " " .. item.kind .. " " .. item.op end
    assert.same({ "instaclustr create create_peering", "aws change accept_peering", "aws create ensure_routes",
                  "aws create ensure_ingress" }, ops)
    assert.equal(0, mutations())
  end)

  it("refuses, in a dry run, the AWS steps of a planned peering another account is to accept", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local errs = {}
    local summary, err = peerlua.dry_run(function()
      local p = assert(ic:ensure_peering({ cluster_data_centre_id = CDC, peer_account_id = "111111111111",
                                           peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" },
                                           peer_region = "US_WEST_2" }))
      errs[1] = select(2, aws:accept_peering(p))
      errs[2] = select(2, aws:ensure_routes(p))
    end)
    assert.is_nil(err)
    for i = 1, 2 do
      assert.equal("forbidden", errs[i].code)
      assert.matches("accepted by AWS account 111111111111, not this client's account 123456789012", errs[i].message,
                     1, true)
    end
    local ops = {}
    for _, item in ipairs(summary.items) do ops[#ops + 1] = item.provider .. " " .. item.op end
    assert.same({ "instaclustr create_peering" }, ops) -- the AWS steps planned nothing
    assert.equal(0, mutations())
    -- what the dry run sent to AWS: the one read that names this client's account
    local sent = {}
    for _, a in ipairs(actions()) do sent[#sent + 1] = a end
    assert.same({ "GetCallerIdentity" }, sent)
  end)

  it("assumes the role again when AWS says its keys expired", function()
    local aws = assert(peerlua.aws({ region = "us-west-2", role_arn = "arn:aws:iam::210987654321:role/peerlua-accepter" }))
    assert(aws:describe_route_tables({}))
    server:admin("POST", "clock", { advance = 7200 }) -- past the session's hour
    assert(aws:describe_route_tables({}))
    assert(aws:get_caller_identity({}))
    local assumed = 0
    for _, a in ipairs(actions()) do if a == "AssumeRole" then assumed = assumed + 1 end end
    assert.equal(2, assumed)
  end)

  it("adds each missing rule, even when some are there or asked twice", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local p = ic_peering(ic)
    assert(aws:accept_peering(p))
    local a = assert(aws:ensure_ingress(p, { ports = { 9042, 9042 } }))
    assert.equal(1, #a.added)
    local b, how = assert(aws:ensure_ingress(p, { ports = { 9042, 9043 } }))
    assert.equal("added", how)
    assert.equal(1, #b.added)
    assert.equal(1, #b.existing)
    local g = assert(aws:describe_security_groups({ group_ids = { b.security_group } }))
    assert.equal(2, #require("peerlua.providers.common").xml_list(g.securityGroupInfo[1].ipPermissions))
  end)

  it("refuses a peering that another account must accept, before any change", function()
    local ic = assert(peerlua.instaclustr({ api = "v1" }))
    local p = ic_peering(ic)
    local fx = server:admin("GET", "fixture")
    local other = fx and fx.aws and fx.aws.accounts and fx.aws.accounts[2]
      or require("peerlua.sim.fixture").aws.accounts[2]
    local aws = assert(peerlua.aws({ region = "us-west-2", access_key_id = other.access_key_id,
                                     secret_access_key = other.secret_access_key }))
    local ok, err = aws:accept_peering(p)
    assert.is_nil(ok)
    assert.equal("forbidden", err.code)
    assert.matches("123456789012", err.message)
    assert.equal(0, mutations())
  end)

  it("checks arguments before sending anything", function()
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local cases = {
      { "create_route", { route_table_id = "rtb-123", destination_cidr_block = "10.0.0.0/16",
                          vpc_peering_connection_id = "pcx-0123456789abcdef0" }, "route_table_id" },
      { "accept_vpc_peering_connection", { vpc_peering_connection_id = "pcx-xyz" }, "vpc_peering_connection_id" },
      { "authorize_security_group_ingress", { group_id = "sg-0123456789abcdef0",
          ip_permissions = { { ip_protocol = "tcp", from_port = 1, to_port = 99999,
                               ip_ranges = { { cidr_ip = "10.0.0.0/8" } } } } }, "ip_permissions[1].to_port" },
      { "authorize_security_group_ingress", { group_id = "sg-0123456789abcdef0",
          ip_permissions = { { ip_protocol = "tcp", from_port = 1, to_port = 2,
                               ip_ranges = { { cidr_ip = "10.0.0.1/8" } } } } }, "ip_permissions[1].ip_ranges[1].cidr_ip" },
      { "assume_role", { role_arn = "arn:aws:iam::12:role/x", role_session_name = "s" }, "role_arn" },
      { "assume_role", { role_arn = "arn:aws:iam::123456789012:role/a\0b", role_session_name = "s" }, "role_arn" },
      { "assume_role", { role_arn = "arn:aws:iam::123456789012:role/a", role_session_name = "a b" },
        "role_session_name" },
      { "authorize_security_group_ingress", { group_id = "sg-0123456789abcdef0",
          ip_permissions = { { ip_protocol = "tcp", from_port = 9, to_port = 2,
                               ip_ranges = { { cidr_ip = "10.0.0.0/8" } } } } }, "ip_permissions[1].to_port" },
      { "authorize_security_group_ingress", { group_id = "sg-0123456789abcdef0",
          ip_permissions = { { ip_protocol = "tcp", from_port = 1, to_port = 2,
                               ip_ranges = { { cidr_ip = "10.0.0.0/8", foo = "bar" } } } } },
        "ip_permissions[1].ip_ranges[1].foo" },
      { "describe_route_tables", { filters = { ["vpc-id"] = {} } }, "filters.vpc-id" },
      { "get_change", { id = "/change/c-1" }, "id" },
    }
    for _, c in ipairs(cases) do
      local ok, err = aws[c[1]](aws, c[2])
      assert.is_nil(ok)
      assert.equal("invalid", err.code)
      assert.equal(c[3], err.details[1].field)
    end
    local ok, err = aws:ensure_ingress(setmetatable({ provider = "instaclustr", raw = {} },
      require("internals").core.require("peerlua.client").Peering))
    assert.is_nil(ok)
    assert.equal("ports", err.details[1].field)
    assert.is_nil(peerlua.aws({ region = "EU_WEST_1" }))
    assert.same({}, actions())
  end)

  it("maps AWS error codes: a wrong secret is auth, and the secret shows nowhere", function()
    local secret = "not-the-right-secret-value-0123456789"
    local aws = assert(peerlua.aws({ region = "us-west-2", access_key_id = "AKIASIMCUSTOMER00001",
                                     secret_access_key = secret }))
    local ok, err = aws:describe_route_tables({})
    assert.is_nil(ok)
    assert.equal("auth", err.code)
    assert.equal("SignatureDoesNotMatch", err.provider_code)
    assert.is_nil(tostring(err):find(secret, 1, true))
    assert.is_nil(tostring(aws):find(secret, 1, true))
  end)

  it("answers a describe with the list, and a pcx- that is not there as not_found", function()
    local aws = assert(peerlua.aws({ region = "us-west-2" }))
    local r = assert(aws:describe_route_tables({ filters = { ["vpc-id"] = "vpc-0a1b2c3d" } }))
    assert.equal(2, #r.routeTableSet)
    local _, err = aws:accept_vpc_peering_connection({ vpc_peering_connection_id = "pcx-0123456789abcdef0" })
    assert.equal("not_found", err.code)
    assert.equal("InvalidVpcPeeringConnectionID.NotFound", err.provider_code)
  end)

  it("takes an empty 2xx answer as broken, not done, even while checking a RouteAlreadyExists", function()
    -- a real API never answers so (a proxy might): a fake transport, set
    -- where only the debug library reaches, as tests/fuzz/response.lua does
    local core = debug.getregistry()["peerlua.core"]
    local answers = {
      { status = 400, headers = { ["content-type"] = "text/xml" },
        body = "<Response><Errors><Error><Code>RouteAlreadyExists</Code><Message>m</Message></Error></Errors>"
          .. "<RequestID>r</RequestID></Response>" },
      { status = 200, headers = { ["content-type"] = "text/xml" }, body = "" },
    }
    local sent = 0
    core.transport = function()
      sent = sent + 1
      return answers[sent] or { status = 200, headers = {}, body = "" }
    end
    local aws = assert(peerlua.aws({ base_url = "http://127.0.0.1:9", region = "us-east-1",
                                     access_key_id = "AKIDEXAMPLE", secret_access_key = "s" }))
    local ok2, r2, err2 = pcall(aws.create_route, aws, { route_table_id = "rtb-0123456789abcdef0",
      destination_cidr_block = "10.0.0.0/16", vpc_peering_connection_id = "pcx-0123456789abcdef0" })
    local ok, r, err = pcall(aws.describe_route_tables, aws, {})
    core.transport = nil
    assert.equal(3, sent)
    assert.is_true(ok, tostring(r))
    assert.is_nil(r)
    assert.equal("provider", err.code)
    assert.matches("empty", err.message)
    assert.is_true(ok2, tostring(r2)) -- the check's describe answered empty: no Lua error
    assert.is_nil(r2)
    assert.equal("conflict", err2.code)
  end)

  it("reads EC2's 'already' and 'not found' words as done from the table, confirming those that cover more", function()
    local core = debug.getregistry()["peerlua.core"]
    local XML = { ["content-type"] = "text/xml" }
    local function ec2_error(code)
      return { status = 400, headers = XML, body = "<Response><Errors><Error><Code>" .. code .. "</Code><Message>m"
        .. "</Message></Error></Errors><RequestID>r</RequestID></Response>" }
    end
    local via -- the pcx the existing route goes through
    local sent_actions = {}
    core.transport = function(opts)
      local action = opts.body:match("Action=(%w+)")
      sent_actions[#sent_actions + 1] = action
      if action == "CreateRoute" then return ec2_error("RouteAlreadyExists") end
      if action == "DeleteRoute" then return ec2_error("InvalidRoute.NotFound") end
      if action == "AuthorizeSecurityGroupIngress" then return ec2_error("InvalidPermission.Duplicate") end
      return { status = 200, headers = XML, body = "<DescribeRouteTablesResponse><routeTableSet><item><routeTableId>"
        .. "rtb-0123456789abcdef0</routeTableId><routeSet><item><destinationCidrBlock>10.0.0.0/16"
        .. "</destinationCidrBlock><vpcPeeringConnectionId>" .. via .. "</vpcPeeringConnectionId></item></routeSet>"
        .. "</item></routeTableSet></DescribeRouteTablesResponse>" }
    end
    local aws = assert(peerlua.aws({ base_url = "http://127.0.0.1:9", region = "us-east-1",
                                     access_key_id = "AKIDEXAMPLE", secret_access_key = "s" }))
    local route = { route_table_id = "rtb-0123456789abcdef0", destination_cidr_block = "10.0.0.0/16",
                    vpc_peering_connection_id = "pcx-0123456789abcdef0" }
    local results = {}
    local function try(f, ...) local ok, a, b = pcall(f, aws, ...) results[#results + 1] = { ok, a, b } end
    via = "pcx-0123456789abcdef0"
    try(aws.create_route, route) -- the same peering's route: made already
    via = "pcx-0fedcba9876543210"
    try(aws.create_route, route) -- another peering's: the refusal stands
    try(aws.delete_route, { route_table_id = route.route_table_id, destination_cidr_block = "10.0.0.0/16" })
    local perm = { ip_protocol = "tcp", from_port = 4000, to_port = 4000, ip_ranges = { { cidr_ip = "10.0.0.0/16" } } }
    local other = { ip_protocol = "tcp", from_port = 3000, to_port = 3000, ip_ranges = { { cidr_ip = "10.0.0.0/16" } } }
    try(aws.authorize_security_group_ingress, { group_id = "sg-0123456789abcdef0", ip_permissions = { perm } })
    try(aws.authorize_security_group_ingress, { group_id = "sg-0123456789abcdef0", ip_permissions = { perm, other } })
    core.transport = nil
    for i, r in ipairs(results) do assert.is_true(r[1], i .. ": " .. tostring(r[2])) end
    assert.same({ true, "exists" }, { results[1][2], results[1][3] })
    assert.is_nil(results[2][2])
    assert.equal("conflict", results[2][3].code)
    assert.equal("RouteAlreadyExists", results[2][3].provider_code)
    assert.same({ true, "missing" }, { results[3][2], results[3][3] })
    assert.same({ true, "exists" }, { results[4][2], results[4][3] })
    assert.is_nil(results[5][2]) -- one of two there: EC2 added neither
    assert.equal("conflict", results[5][3].code)
    assert.same({ "CreateRoute", "DescribeRouteTables", "CreateRoute", "DescribeRouteTables", "DeleteRoute",
                  "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupIngress" }, sent_actions)
  end)

  it("says what a profile lacks, and a key id without its secret, before any request", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local function write(name, text)
      local f = assert(io.open(dir .. "/" .. name, "w"))
      f:write(text)
      f:close()
    end
    write("config", "[default]\nregion = us-west-2\n") -- a region, and no keys anywhere
    write("credentials", "[default]\naws_access_key_id = AKIAONLYTHEID0000001\n")
    os.execute("chmod 600 " .. dir .. "/credentials")
    write("new.lua", "print(select(2, require('peerlua').aws({})).message)")
    local function run(envs)
      local cmd = table.concat({ "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE -u PEERLUA_SIM_URL",
        envs, "AWS_CONFIG_FILE=" .. dir .. "/config", "AWS_SHARED_CREDENTIALS_FILE=" .. dir .. "/credentials",
        os.getenv("PEERLUA_BIN"), dir .. "/new.lua", "2>&1" }, " ")
      return io.popen(cmd):read("a")
    end
    local lacks, partial = run(""), run("AWS_ACCESS_KEY_ID=AKIAENVIRONMENT00001")
    for _, name in ipairs({ "credentials", "config", "new.lua" }) do os.remove(dir .. "/" .. name) end
    os.remove(dir)
    assert.matches("no AWS credentials: .* %(profile %[default%] in .*/config and .*/credentials has "
      .. "aws_access_key_id but no aws_secret_access_key%)", lacks) -- it said "us-west-2"
    assert.matches("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not", partial)
    assert.is_nil(partial:find("AKIAENVIRONMENT", 1, true))
  end)

  it("reads a profile's role from ~/.aws/config and assumes it through STS", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local fx = require("peerlua.sim.fixture").aws.accounts[1]
    local function write(name, text)
      local f = assert(io.open(dir .. "/" .. name, "w"))
      f:write(text)
      f:close()
    end
    -- [peer] has keys of its own too: with role_arn and source_profile, the
    -- source's keys assume the role (botocore's order)
    write("credentials", "[base]\naws_access_key_id = " .. fx.access_key_id .. "\naws_secret_access_key = "
      .. fx.secret_access_key .. "\n[peer]\naws_access_key_id = AKIANOTTHEONE0000001\naws_secret_access_key = x\n")
    os.execute("chmod 600 " .. dir .. "/credentials")
    write("config", "[profile peer]\nrole_arn = arn:aws:iam::210987654321:role/peerlua-accepter\n"
      .. "source_profile = base\nregion = us-east-1\n")
    write("who.lua", [[
      local aws = assert(require("peerlua").aws({ profile = "peer" })) -- wins over the environment's keys
      local a = assert(aws:account())
      local b = assert(aws:get_caller_identity({}))
      print(a, b.GetCallerIdentityResult.Arn)
    ]])
    local cmd = table.concat({
      "env -u AWS_REGION -u AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID=AKIAENVIRONMENT00001 AWS_SECRET_ACCESS_KEY=x",
      "AWS_CONFIG_FILE=" .. dir .. "/config", "AWS_SHARED_CREDENTIALS_FILE=" .. dir .. "/credentials",
      "AWS_PROFILE=base", "AWS_ENDPOINT_URL_STS=" .. server.url .. "/aws/sts",
      "AWS_ENDPOINT_URL_EC2=" .. server.url .. "/aws/ec2",
      os.getenv("PEERLUA_BIN"), dir .. "/who.lua", "2>&1" }, " ")
    local out = io.popen(cmd):read("a")
    for _, name in ipairs({ "credentials", "config", "who.lua" }) do os.remove(dir .. "/" .. name) end
    os.remove(dir)
    assert.matches("^210987654321\tarn:aws:sts::210987654321:assumed%-role/peerlua%-accepter/", out)
    assert.is_nil(out:find(fx.secret_access_key, 1, true))
    local calls = actions()
    local assumed = 0
    for _, a in ipairs(calls) do if a == "AssumeRole" then assumed = assumed + 1 end end
    assert.equal(1, assumed) -- two calls, one AssumeRole: the keys are kept
  end)
end)
