-- Fifty peerings across three providers at once: each is a task (at most
-- 20 running), each is ensured, accepted on the peer side, awaited; one
-- failure never stops the others, and the summary says what happened.
--
--   peerlua --sim examples/bulk.lua
--   peerlua --sim --sim-faults '429:0.05,500:0.05,reset:0.02' examples/bulk.lua
local peerlua = require("peerlua")

local ic = assert(peerlua.instaclustr {})
local as = assert(peerlua.aerospike {})
local hw = assert(peerlua.huawei {})
local hw_peer
if peerlua.sim then
  local a = peerlua.sim.fixture.huawei.accounts[2]
  hw_peer = assert(peerlua.huawei { ak = a.ak, sk = a.sk, project_id = a.project_id })
else
  hw_peer = assert(peerlua.huawei { profile = "peer" })
end

-- what we want: one entry per peering
local jobs = {}
for i = 1, 25 do
  jobs[#jobs + 1] = { ic, { cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364",
    peer_account_id = "123456789012", peer_vpc_id = ("vpc-%08x"):format(i), peer_subnets = { ("10.%d.0.0/16"):format(i) } } }
end
for i = 1, 15 do
  jobs[#jobs + 1] = { as, { cluster_id = "e2e81cba-446e-4ff9-9b92-9a9992af44c6", vpc_id = ("vpc-%08x"):format(100 + i),
    cidr_block = ("172.%d.0.0/16"):format(15 + i), account_id = "123456789012", region = "us-east-1" } }
end
for i = 1, 10 do
  jobs[#jobs + 1] = { hw, { cluster_id = "6b29f3c0-4e1d-4d6a-9c58-2f7a8b9c0d1e", vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb",
    name = ("stream-%02d"):format(i), accept_tenant_id = "4f30b9215e054c908d18f2b150131646" } }
end

local t0 = peerlua.now()
local results, failures = peerlua.bulk(jobs, function(job)
  local client, args = job[1], job[2]
  local p = assert(client:ensure_peering(args))
  if p.state == "pending" then p = assert(p:wait("pending_acceptance", { timeout = 600 })) end
  if p.state == "pending_acceptance" then
    if client == hw then
      assert(hw_peer:accept_peering { peering_id = p.id })
    elseif peerlua.sim then
      assert(peerlua.sim.accept(p)) -- on AWS: aws:accept_peering(p) (the emulated AWS account has no VPCs for
      -- these fifty: the emulator plays that side here)
    end
  end
  return assert(p:wait("active", { timeout = 1800 }))
end, { concurrency = 20 })

local by = {}
for i, r in ipairs(results) do
  local name = jobs[i][1]:settings().provider
  by[name] = by[name] or { ok = 0, failed = 0 }
  if r.ok then
    by[name].ok = by[name].ok + 1
    by[name].state = r.value.state -- "active"; "planned" in a dry run
  else
    by[name].failed = by[name].failed + 1
    io.stderr:write(("job %d (%s): %s\n"):format(i, name, tostring(r.err)))
  end
end
for _, name in ipairs({ "instaclustr", "aerospike", "huawei" }) do
  print(("%-12s %2d %s, %d failed"):format(name, by[name].ok, by[name].state or "active", by[name].failed))
end
print(("%d peerings in %.1f s, %d failed"):format(#jobs, peerlua.now() - t0, failures))

-- Nothing was created twice, whatever was retried: per provider, one live
-- peering for each VPC (or name) asked for.
local duplicates = 0
for _, check in ipairs({
  { ic, { cluster_data_centre_id = jobs[1][2].cluster_data_centre_id }, function(r) return r.peerVpcId end },
  { as, { cluster_id = jobs[26][2].cluster_id }, function(r) return r.vpcId end },
  { hw, { cluster_id = jobs[41][2].cluster_id }, function(r) return r.name end },
}) do
  local seen = {}
  for _, p in ipairs(assert(check[1]:list_peerings(check[2]))) do
    local key = check[3](p.raw)
    if p.state ~= "deleted" and seen[key] then
      duplicates = duplicates + 1
      io.stderr:write(("%s: two peerings for %s: %s and %s\n"):format(check[1]:settings().provider, key, seen[key], p.id))
    end
    seen[key] = seen[key] or p.id
  end
end
os.exit(failures == 0 and duplicates == 0 and 0 or 1)
