-- N Instaclustr peerings created, accepted and awaited in parallel against
-- the emulator. Prints the provider requests made (the emulator's own
-- count; its admin routes are not counted), the wall time, and the
-- provisioning time the emulator is configured with, in real seconds.
-- usage: peerlua --sim [--sim-time-scale X] --quiet peerings.lua N
local peerlua = require("peerlua")
local n = tonumber(arg[1]) or 100
assert(peerlua.sim, "run under --sim")

local function admin(path)
  return assert(peerlua.http.request({ url = peerlua.sim.url .. "/_sim/" .. path })):json()
end

local scale = admin("health").time_scale
local provisioning = peerlua.sim.fixture.instaclustr.durations.provisioning / scale
local ic = assert(peerlua.instaclustr {})
local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"

local t0 = peerlua.now()
local tasks = {}
for i = 1, n do
  tasks[i] = peerlua.spawn(function()
    local p = assert(ic:create_peering { cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = ("vpc-%08x"):format(i), peer_subnets = { ("10.%d.%d.0/24"):format(i // 256, i % 256) } })
    assert(peerlua.sim.accept(p)) -- the AWS side, through the emulator
    return assert(p:wait("active"))
  end)
end
local active = 0
for _, r in ipairs(peerlua.wait_all(tasks)) do
  if r[1] and r[1].state == "active" then active = active + 1 else io.stderr:write(tostring(r[2]), "\n") end
end
local wall = peerlua.now() - t0
local stats = admin("stats")
local by = stats.by_route
local function count(pattern)
  local c = 0
  for route, k in pairs(by) do if route:match(pattern) then c = c + k end end
  return c
end
print(string.format("peerings=%d active=%d requests=%d creates=%d reads=%d lists=%d wall=%.2f provisioning=%.2f",
  n, active, stats.by_provider.instaclustr or 0, count("^POST .*/vpc%-peering/"),
  count("^GET .*/vpc%-peering/{[^}]*}/{[^}]*}$"), count("^GET .*/vpc%-peering/{[^}]*}$"), wall, provisioning))
