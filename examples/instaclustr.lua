-- Instaclustr: peer a cluster data centre with your AWS VPC, accept it on
-- the AWS side and add the routes, wait until the peering is active, then
-- open the cluster's firewall to your subnet.
--
--   peerlua --sim examples/instaclustr.lua      # against the emulator
--   peerlua examples/instaclustr.lua            # against your account
--
-- Credentials: PEERLUA_INSTACLUSTR_USERNAME and PEERLUA_INSTACLUSTR_API_KEY,
-- or the [default] profile of ~/.config/peerlua/credentials, and AWS's own
-- (see step 2); under --sim, the emulator's accounts. Running it again
-- changes nothing.
local peerlua = require("peerlua")

local CLUSTER = os.getenv("IC_CLUSTER_ID") or "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"
local DATA_CENTRE = os.getenv("IC_CDC_ID") or "aabc665c-8916-40ae-978c-96d39a3a1364"
local MY_VPC = { account = "123456789012", vpc = "vpc-0a1b2c3d", subnet = "10.1.0.0/16", region = "US_WEST_2" }

local ic = assert(peerlua.instaclustr {})

-- 1. the peering: found if it exists already, created otherwise
local p = assert(ic:ensure_peering {
  cluster_data_centre_id = DATA_CENTRE,
  peer_account_id = MY_VPC.account,
  peer_vpc_id = MY_VPC.vpc,
  peer_subnets = { MY_VPC.subnet },
  peer_region = MY_VPC.region,
})
print(("peering %s: %s"):format(p.id, p.status))

-- 2. the AWS side: accept the request Instaclustr sent to your account and
--    route the cluster's network through the peering. With AWS credentials
--    (AWS_PROFILE, AWS_ACCESS_KEY_ID..., ~/.aws; under --sim the emulator's
--    account) peerlua does it; without them it says what to do by hand.
local aws, why = peerlua.aws { region = "us-west-2" }
if aws then
  local a, how = assert(aws:accept_peering(p))
  print(("AWS peering connection %s: %s"):format(a.pcx or "(once the peering exists)", how))
  local routes = assert(aws:ensure_routes(p))
  print(("routes to the cluster: %d added, %d already there"):format(#routes.added, #routes.existing))
elseif p.state == "pending_acceptance" then
  print(("no AWS client (%s): accept %s in AWS account %s (VPC console, Peering connections), then add a route to %s")
    :format(why.message, p.raw.aws_vpc_connection_id or "the pcx- connection", MY_VPC.account,
            p.raw.vpcId or "the cluster VPC"))
end

-- 3. wait until it is active (fails fast if rejected, expired or failed)
assert(p:wait("active", { timeout = 1800 }))

-- 4. let the subnet reach the cluster; a rule that exists is not added twice
local _, how = assert(ic:add_firewall_rule {
  cluster_id = CLUSTER, network = MY_VPC.subnet, rules = { { type = "CASSANDRA" } },
})
local said = { exists = "already there", planned = "planned (dry run)" }
print(("peering %s is %s; firewall rule for %s %s"):format(p.id, p.state, MY_VPC.subnet, said[how] or "added"))
