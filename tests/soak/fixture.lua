-- The soak's fixture: the emulator's default one, plus a VPC (with a
-- route table and its default security group) in the emulated AWS
-- account for each Instaclustr and Aerospike workflow of soak.lua, so
-- that the AWS side is done by peerlua.aws. Prints it as JSON.
-- usage: peerlua fixture.lua > FILE
local peerlua = require("peerlua")
local fx = require("peerlua.sim.fixture")
local function vpc(n, region)
  local hex = ("%08x"):format(n)
  table.insert(fx.aws.vpcs, { vpc_id = "vpc-" .. hex, account_id = "123456789012", region = region,
    cidr = ("10.%d.%d.0/24"):format(200 + n // 256, n % 256),
    route_tables = { { id = "rtb-" .. hex, main = true } },
    security_groups = { { id = "sg-" .. hex, name = "default", description = "soak" } } })
end
for i = 1, 40 do vpc(i, "us-west-2") end      -- Instaclustr's data centre is in US_WEST_2
for i = 1, 30 do vpc(100 + i, "us-east-1") end -- the Aerospike cluster's region
-- the soak's requests come faster than the small test window allows
fx.aws.rate_limit, fx.aws.rate_window = 1000, 5
print(peerlua.json.encode(fx))
