-- Aerospike Cloud: peer a database cluster with your AWS VPC. Aerospike
-- sends the peering request; your AWS account accepts it, routes to the
-- cluster, opens its port and joins its private DNS zone (peerlua.aws),
-- then the script waits until the peering is active. Without AWS
-- credentials it prints what to run on the AWS side instead.
--
--   peerlua --sim examples/aerospike.lua
--
-- Credentials: an API key in PEERLUA_AEROSPIKE_CLIENT_ID and
-- PEERLUA_AEROSPIKE_CLIENT_SECRET, or the [default] profile, and AWS's own;
-- under --sim, the emulator's accounts.
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

-- The AWS side: accept, route the cluster's CIDR, open TCP 4000, associate
-- the cluster's private DNS zone. With AWS credentials (AWS_PROFILE,
-- AWS_ACCESS_KEY_ID..., ~/.aws; under --sim the emulator's account)
-- peerlua does it; each step changes only what is missing.
local aws, why = peerlua.aws { region = MY_VPC.region }
if aws then
  local a, how = assert(aws:accept_peering(p))
  print(("AWS peering connection %s: %s"):format(a.pcx or "(once the peering exists)", how))
  local routes = assert(aws:ensure_routes(p))
  local ingress = assert(aws:ensure_ingress(p))
  local _, zone = assert(aws:associate_hosted_zone(p))
  print(("routes added: %d; security group %s, rules added: %d; hosted zone: %s"):format(
    #routes.added, ingress.security_group or "(the VPC's default)", #ingress.added, zone))
elseif p.state == "pending_acceptance" then
  local pcx, zone = p.raw.peeringId, p.raw.privateHostedZoneId
  print("No AWS client (" .. why.message .. "). On the AWS side (account " .. MY_VPC.account .. "), run:")
  print(("  aws ec2 accept-vpc-peering-connection --region %s --vpc-peering-connection-id %s"):format(
    MY_VPC.region, pcx))
  print(("  aws ec2 create-route --route-table-id <your route table> --destination-cidr-block 10.128.0.0/19 "
    .. "--vpc-peering-connection-id %s"):format(pcx))
  if zone then
    print(("  aws route53 associate-vpc-with-hosted-zone --hosted-zone-id %s --vpc VPCRegion=%s,VPCId=%s"):format(
      zone, MY_VPC.region, MY_VPC.id))
  end
  print("  and allow TCP 4000 from 10.128.0.0/19 in the security group of your clients")
end

assert(p:wait("active", { timeout = 3600 }))
print(("peering %s is %s (%s)"):format(p.id, p.state, p.raw.peeringId or "no pcx- yet"))
