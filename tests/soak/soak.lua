-- Fault soak: 102 workflows (ensure, accept on the peer side, wait until
-- active, firewall where the provider has one) across the five providers,
-- Instaclustr's and Aerospike's with their AWS side done by peerlua.aws
-- (accept, route, security-group rule; Aerospike's hosted zone too),
-- while the emulator fails a share of all requests (429, 500, 504 before
-- the handler; 500, 504 and resets after it, which make creates
-- reconcile; resets, slow and truncated answers). Every workflow must end
-- active, with no duplicate peering and no 429 from the emulator's own rate
-- limiter (only injected ones), and on AWS exactly one route per table and
-- one rule per port for each peering (at most one for a failed workflow). Prints one line of figures; exits 1
-- on any failure.
-- usage: peerlua --sim --sim-fixture F --sim-faults SPEC --quiet soak.lua
--        (F: tests/soak/fixture.lua's output, a VPC for each workflow)
--        (tests/soak/run.sh RATE SEED builds SPEC for a total fault rate)
local peerlua = require("peerlua")
assert(peerlua.sim, "run under --sim")
local fx = peerlua.sim.fixture
-- up to 40% of all requests fail: allow more attempts than the default 5
local RETRIES = { attempts = tonumber(os.getenv("SOAK_ATTEMPTS") or "") or 12 }

local function client(provider, account)
  local a = fx[provider].accounts[account or 1]
  local opts = { retries = RETRIES }
  if provider == "huawei" then
    opts.ak, opts.sk, opts.project_id = a.ak, a.sk, a.project_id
  elseif provider == "upcloud" then
    opts.username, opts.password = a.username, a.password
  elseif provider == "aiven" then
    opts.token, opts.project = a.token, a.projects[1]
  elseif provider == "aws" then
    opts.region = account
  end
  return assert(peerlua[provider](opts))
end
local ic, as, hw, hw_peer = client("instaclustr"), client("aerospike"), client("huawei"), client("huawei", 2)
local uc_a, uc_b = client("upcloud", 1), client("upcloud", 2)
local av = client("aiven")
local aws = { [ic] = client("aws", "us-west-2"), [as] = client("aws", "us-east-1") }

local IC_CDC, IC_CLUSTER = "aabc665c-8916-40ae-978c-96d39a3a1364", "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"
local AS_CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local HW_CLUSTER, HW_VPC = "6b29f3c0-4e1d-4d6a-9c58-2f7a8b9c0d1e", "f4da5a55-fcd9-4a93-8b86-5b81585e14bb"
local HW_TENANT = "4f30b9215e054c908d18f2b150131646"
local NET_A, NET_B = "03126dc1-a69f-4bc2-8b24-e31c22d64712", "03585987-bf7d-4544-8e9b-5a1b4d74a333"
local AV_VPC = fx.aiven.projects[1].vpcs[1].project_vpc_id

local jobs = {}
for i = 1, 40 do
  jobs[#jobs + 1] = { c = ic, args = { cluster_data_centre_id = IC_CDC, peer_account_id = "123456789012",
    peer_vpc_id = ("vpc-%08x"):format(i), peer_subnets = { ("10.%d.0.0/16"):format(i) } },
    rule = { cluster_id = IC_CLUSTER, network = ("10.%d.0.0/16"):format(i), rules = { "CASSANDRA" } } }
end
for i = 1, 30 do
  jobs[#jobs + 1] = { c = as, args = { cluster_id = AS_CLUSTER, vpc_id = ("vpc-%08x"):format(100 + i),
    cidr_block = ("172.%d.0.0/16"):format(i), account_id = "123456789012", region = "us-east-1" } }
end
for i = 1, 28 do
  jobs[#jobs + 1] = { c = hw, args = { cluster_id = HW_CLUSTER, vpc_id = HW_VPC, name = ("soak-%02d"):format(i),
    accept_tenant_id = HW_TENANT } }
end
-- UpCloud: one network pair, a peering in each direction
jobs[#jobs + 1] = { c = uc_a, args = { name = "soak-a-b", network = NET_A, peer_network = NET_B } }
jobs[#jobs + 1] = { c = uc_b, args = { name = "soak-b-a", network = NET_B, peer_network = NET_A } }
-- Aiven: the project VPC with each UpCloud account's network; the owner of
-- the network makes its half of the UpCloud peering to Aiven's network
for i, side in ipairs({ { uc_a, NET_A }, { uc_b, NET_B } }) do
  jobs[#jobs + 1] = { c = av, peer = side[1], name = "soak-aiven-" .. i,
    args = { project_vpc_id = AV_VPC, peer_cloud_account = "upcloud", peer_vpc = side[2] } }
end

local t0 = peerlua.now()
local results, failures = peerlua.bulk(jobs, function(job)
  local p = assert(job.c:ensure_peering(job.args))
  if p.state == "pending" then p = assert(p:wait("pending_acceptance", { timeout = 600 })) end
  if job.c == av then -- accepted by the UpCloud peering from the user's network to Aiven's
    local to = assert(p.raw.state_info and p.raw.state_info.to_network_id, "no to_network_id")
    local ours = assert(job.peer:ensure_peering { name = job.name, network = job.args.peer_vpc, peer_network = to })
    assert(ours:wait("active", { timeout = 3600 }))
  elseif p.state == "pending_acceptance" and job.c == hw then
    assert(hw_peer:accept_peering { peering_id = p.id })
  elseif aws[job.c] then -- the AWS side, each step checked and done once
    local side = aws[job.c]
    assert(side:accept_peering(p, { timeout = 3600 }))
    assert(side:ensure_routes(p))
    assert(side:ensure_ingress(p, { ports = job.c == ic and { 9042 } or nil }))
    if job.c == as then assert(side:associate_hosted_zone(p)) end
  end
  assert(p:wait("active", { timeout = 3600 }))
  if job.rule then assert(job.c:add_firewall_rule(job.rule)) end
  return p
end, { concurrency = 25 })
local wall = peerlua.now() - t0
for i, r in ipairs(results) do
  if not r.ok then io.stderr:write(("job %d (%s): %s\n"):format(i, tostring(jobs[i].c), tostring(r.err))) end
end

-- what the emulator saw, read with its faults off
local function admin(method, path, body)
  return assert(peerlua.http.request({ method = method, url = peerlua.sim.url .. "/_sim/" .. path, json = body })):json()
end
admin("POST", "faults", { spec = "none" })
local injected, limited = 0, 0
local log = admin("GET", "requests?limit=100000")
for _, e in ipairs(log) do
  if e.fault then injected = injected + 1 elseif e.status == 429 then limited = limited + 1 end
end

local duplicates = 0
for _, check in ipairs({
  { ic, { cluster_data_centre_id = IC_CDC }, function(r) return r.peerVpcId end },
  { as, { cluster_id = AS_CLUSTER }, function(r) return r.vpcId end },
  { hw, { cluster_id = HW_CLUSTER }, function(r) return r.name end },
  { uc_a, {}, function(r) return r.name end },
  { uc_b, {}, function(r) return r.name end },
  { av, { project_vpc_id = AV_VPC }, function(r) return r.peer_cloud_account .. "/" .. r.peer_vpc end },
}) do
  local seen = {}
  for _, p in ipairs(assert(check[1]:list_peerings(check[2]))) do
    local key = check[3](p.raw)
    if p.state ~= "deleted" and seen[key] then
      duplicates = duplicates + 1
      io.stderr:write(("duplicate %s peering: %s\n"):format(check[1].name, tostring(key)))
    end
    seen[key] = true
  end
end
local rules = assert(ic:list_firewall_rules { cluster_id = IC_CLUSTER })

-- the AWS side: in each workflow's VPC, one route to the vendor's network
-- through a pcx-, and one rule for its port from that network
local list = require("peerlua.providers.common").xml_list
local aws_bad, aws_routes, aws_rules = 0, 0, 0
for c, side in pairs(aws) do
  for j, job in ipairs(jobs) do
    if job.c == c then
      local vpc = job.args.peer_vpc_id or job.args.vpc_id
      local t = assert(side:describe_route_tables { filters = { ["vpc-id"] = vpc } })
      local g = assert(side:describe_security_groups { filters = { ["vpc-id"] = vpc } })
      local routes, nrules = 0, 0
      for _, tbl in ipairs(list(t.routeTableSet)) do
        for _, r in ipairs(list(tbl.routeSet)) do
          if r.vpcPeeringConnectionId then routes = routes + 1 end
        end
      end
      for _, grp in ipairs(list(g.securityGroupInfo)) do
        for _, perm in ipairs(list(grp.ipPermissions)) do nrules = nrules + #list(perm.ipRanges) end
      end
      aws_routes, aws_rules = aws_routes + routes, aws_rules + nrules
      -- a workflow that failed (the retry budget ran out) may have stopped
      -- before its AWS side: none then, but never two
      local want = results[j].ok and 1 or nil
      if routes > 1 or nrules > 1 or (want and (routes ~= want or nrules ~= want)) then
        aws_bad = aws_bad + 1
        io.stderr:write(("AWS side of %s: %d routes, %d rules (want 1 and 1)\n"):format(vpc, routes, nrules))
      end
    end
  end
end

local active = 0
for _, r in ipairs(results) do
  if r.ok and r.value.state == "active" then active = active + 1 end
end
local s = peerlua.stats()
print(("workflows=%d active=%d failed=%d duplicates=%d rules=%d aws_routes=%d aws_rules=%d aws_wrong=%d requests=%d "
  .. "faults_injected=%d limiter_429s=%d client_requests=%d retries=%d throttle_waits=%d wall=%.1f"):format(#jobs,
  active, failures, duplicates, #rules, aws_routes, aws_rules, aws_bad, #log, injected, limited, s.requests,
  s.retries, s.throttle_waits, wall))
os.exit(failures == 0 and duplicates == 0 and limited == 0 and #rules == 40 and aws_bad == 0 and 0 or 1)
