-- Running a workflow twice changes nothing the second time: ensure_peering
-- finds the peering it made, the AWS side finds it accepted and routed, the
-- firewall rule is already there, and no second peering is ever created
-- (run it again after a crash, too).
--
--   peerlua --sim examples/idempotent.lua
local peerlua = require("peerlua")

local ic = assert(peerlua.instaclustr {})
local aws = peerlua.aws { region = "us-west-2" } -- nil without AWS credentials: accept by hand then
local want = {
  cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364",
  peer_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" },
}
local rule = { cluster_id = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d", network = "10.1.0.0/16",
               rules = { { type = "CASSANDRA" } } }

local function workflow()
  local p, how = assert(ic:ensure_peering(want))
  local accept_how, routes_how = "by hand", "by hand"
  if aws then
    accept_how = select(2, assert(aws:accept_peering(p)))
    routes_how = select(2, assert(aws:ensure_routes(p)))
  end
  assert(p:wait("active", { timeout = 1800 }))
  local _, rule_how = assert(ic:add_firewall_rule(rule))
  return p, how, rule_how or "added", accept_how, routes_how
end

local first, how1, rule1, acc1, rt1 = workflow()
local second, how2, rule2, acc2, rt2 = workflow()
print(("first run:  peering %s %s, AWS accept %s, routes %s, firewall rule %s"):format(first.id, how1, acc1, rt1, rule1))
print(("second run: peering %s %s, AWS accept %s, routes %s, firewall rule %s"):format(second.id, how2, acc2, rt2,
  rule2))
for _, how in ipairs({ how1, rule1, acc1, rt1 }) do
  if how == "planned" then return end -- peerlua --dry-run: neither run changed anything
end
assert(first.id == second.id and how2 == "existing" and rule2 == "exists", "the second run changed something")
assert(not aws or (acc2 == "existing" and rt2 == "existing"), "the second run changed something on AWS")
print(("%d peering(s) for this VPC"):format(#assert(ic:list_peerings { cluster_data_centre_id = want.cluster_data_centre_id })))
