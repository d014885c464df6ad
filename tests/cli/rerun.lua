-- A workflow for the kill-and-rerun test: ensure N Instaclustr peerings on
-- the emulator at $PEERLUA_EMULATOR, have the AWS side accept them, wait
-- until all are active and open the firewall. Killed at any point and run
-- again, it must end with exactly N active peerings.
local peerlua = require("peerlua")
local url = assert(os.getenv("PEERLUA_EMULATOR"), "PEERLUA_EMULATOR is not set")
local n = tonumber(arg[1]) or 5
peerlua.set_sim({ url = url })
peerlua.options.quiet = true

local ic = assert(peerlua.instaclustr({}))
local items = {}
for i = 1, n do items[i] = i end
local results, failures = peerlua.bulk(items, function(i)
  local p = assert(ic:ensure_peering({
    cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364", peer_account_id = "123456789012",
    peer_vpc_id = string.format("vpc-%08x", i), peer_subnets = { string.format("10.%d.0.0/16", i) },
  }))
  if p.state == "pending_acceptance" then assert(peerlua.sim.accept(p)) end
  assert(p:wait("active", { timeout = 120, interval = 0.2, max_interval = 1 }))
  assert(ic:add_firewall_rule({ cluster_id = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d",
                                network = string.format("10.%d.0.0/16", i), rules = { { type = "CASSANDRA" } } }))
  return p
end, { concurrency = n })
for i = 1, n do
  if not results[i].ok then io.stderr:write("item ", i, ": ", tostring(results[i].err), "\n") end
end
print(("%d active, %d failed"):format(n - failures, failures))
os.exit(failures == 0 and 0 or 1)
