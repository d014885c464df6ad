-- Aerospike Cloud: peer a database cluster with your AWS VPC. Aerospike
-- sends the peering request; your AWS account accepts it. The script prints
-- exactly what to run on the AWS side, then waits until the peering is
-- active (under --sim, the emulator plays the AWS side).
--
--   peerlua --sim examples/aerospike.lua
--
-- Credentials: an API key in PEERLUA_AEROSPIKE_CLIENT_ID and
-- PEERLUA_AEROSPIKE_CLIENT_SECRET, or the [default] profile.
local peerlua = require("peerlua")

local CLUSTER = os.getenv("AEROSPIKE_CLUSTER_ID") or "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local MY_VPC = { id = "vpc-0123456789abcdef0", cidr = "192.168.0.0/16", account = "123456789012",
                 region = "us-east-1" }

local as = assert(peerlua.aerospike {})

local p = assert(as:ensure_peering {
  cluster_id = CLUSTER, vpc_id = MY_VPC.id, cidr_block = MY_VPC.cidr, account_id = MY_VPC.account,
  region = MY_VPC.region, is_secure_connection = true,
})
print(("peering %s: %s"):format(p.id, p.status))

-- the pcx- id appears once Aerospike has sent the request
if p.state == "pending" then p = assert(p:wait("pending_acceptance", { timeout = 600 })) end

if p.state == "pending_acceptance" then
  local pcx, zone = p.raw.peeringId, p.raw.privateHostedZoneId
  print("On the AWS side (account " .. MY_VPC.account .. "), run:")
  print(("  aws ec2 accept-vpc-peering-connection --region %s --vpc-peering-connection-id %s"):format(
    MY_VPC.region, pcx))
  print(("  aws ec2 create-route --route-table-id <your route table> --destination-cidr-block 10.128.0.0/19 "
    .. "--vpc-peering-connection-id %s"):format(pcx))
  if zone then
    print(("  aws route53 associate-vpc-with-hosted-zone --hosted-zone-id %s --vpc VPCRegion=%s,VPCId=%s"):format(
      zone, MY_VPC.region, MY_VPC.id))
  end
  print("  and allow TCP 4000 from 10.128.0.0/19 in the security group of your clients")
  if peerlua.sim then assert(peerlua.sim.accept(p)) end
end

assert(p:wait("active", { timeout = 3600 }))
print(("peering %s is active (%s)"):format(p.id, p.raw.peeringId))
