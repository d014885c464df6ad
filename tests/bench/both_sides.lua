-- N Instaclustr peerings done on both sides in parallel against an
-- emulator started here: the vendor's create, then on AWS the accept, a
-- route and a security-group rule (peerlua.aws), then the wait until
-- active. Each peering has a VPC of its own in the emulated AWS account.
-- Prints the requests the emulator saw (vendor and AWS; admin routes not
-- counted), the wall time and the provisioning time, in real seconds.
-- usage: peerlua both_sides.lua N [TIME_SCALE]
local peerlua = require("peerlua")
local n = tonumber(arg[1]) or 100
local scale = tonumber(arg[2]) or 1

-- the default fixture, with a VPC, a route table and a security group for
-- each peering (ids of EC2's 17-digit form)
local fixture = peerlua.json.decode(peerlua.json.encode(require("peerlua.sim.fixture")))
for i = 1, n do
  local hex = ("%017x"):format(i)
  table.insert(fixture.aws.vpcs, {
    vpc_id = "vpc-" .. hex, account_id = "123456789012", region = "us-west-2",
    cidr = ("10.%d.%d.0/24"):format(i // 256, i % 256),
    route_tables = { { id = "rtb-" .. hex, main = true } },
    security_groups = { { id = "sg-" .. hex, name = "default", description = "bench" } },
  })
end
-- EC2's own buckets, not the fixture's small test window: 200 mutating
-- requests, refilled at 5 a second (the client keeps under that)
fixture.aws.rate_limit, fixture.aws.rate_window = 1000, 5

local sim <close> = assert(require("peerlua.sim").start({ time_scale = scale, fixture = fixture }))
local provisioning = fixture.instaclustr.durations.provisioning / scale
local ic = assert(peerlua.instaclustr { api = "v1" })
local aws = assert(peerlua.aws { region = "us-west-2" })
local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"

-- Two rounds, as a script for many peerings would do them: first every
-- create and accept (acceptance starts the vendor's provisioning), then the
-- routes, the rules and the waits, while they provision. One round per
-- peering would queue later accepts behind earlier routes: EC2 allows 5
-- mutating requests a second.
local t0 = peerlua.now()
local function round(fn)
  local tasks = {}
  for i = 1, n do tasks[i] = peerlua.spawn(fn, i) end
  return peerlua.wait_all(tasks)
end
local peerings = {}
round(function(i)
  local hex = ("%017x"):format(i)
  local p = assert(ic:create_peering { cluster_data_centre_id = CDC, peer_account_id = "123456789012",
    peer_vpc_id = "vpc-" .. hex, peer_subnets = { ("10.%d.%d.0/24"):format(i // 256, i % 256) },
    peer_region = "US_WEST_2" })
  assert(aws:accept_peering(p))
  peerings[i] = p
end)
local active = 0
for _, r in ipairs(round(function(i)
  local hex, p = ("%017x"):format(i), peerings[i]
  if not p then error("peering " .. i .. " was not created") end
  assert(aws:ensure_routes(p, { route_tables = { "rtb-" .. hex } }))
  assert(aws:ensure_ingress(p, { security_group = "sg-" .. hex, ports = { 9042 } }))
  return assert(p:wait("active"))
end)) do
  if r[1] and r[1].state == "active" then active = active + 1 else io.stderr:write(tostring(r[2]), "\n") end
end
local wall = peerlua.now() - t0
local stats = assert(peerlua.http.request({ url = sim.url .. "/_sim/stats" })):json()
print(string.format("peerings=%d active=%d requests=%d instaclustr=%d aws=%d wall=%.2f provisioning=%.2f", n, active,
  (stats.by_provider.instaclustr or 0) + (stats.by_provider.aws or 0), stats.by_provider.instaclustr or 0,
  stats.by_provider.aws or 0, wall, provisioning))
