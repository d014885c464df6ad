-- Huawei Cloud Stream Service: peer a CS cluster's VPC with a VPC of another
-- tenant. The cluster's tenant creates the peering; the other tenant
-- accepts it on its VPC service; then the peering is ACTIVE.
--
--   peerlua --sim examples/huawei.lua
--
-- Credentials (AK/SK request signing, or an IAM user and password):
-- HW_ACCESS_KEY, HW_SECRET_KEY and HW_PROJECT_ID for the cluster's tenant,
-- the [peer] profile for the accepting tenant; under --sim, the emulator's
-- two accounts.
local peerlua = require("peerlua")

local CLUSTER = os.getenv("CS_CLUSTER_ID") or "6b29f3c0-4e1d-4d6a-9c58-2f7a8b9c0d1e"
local PEER_VPC = os.getenv("PEER_VPC_ID") or "f4da5a55-fcd9-4a93-8b86-5b81585e14bb"
local PEER_TENANT = os.getenv("PEER_TENANT_ID") or "4f30b9215e054c908d18f2b150131646"

local cs = assert(peerlua.huawei {})
local peer
if peerlua.sim then
  local a = peerlua.sim.fixture.huawei.accounts[2]
  peer = assert(peerlua.huawei { ak = a.ak, sk = a.sk, project_id = a.project_id })
else
  peer = assert(peerlua.huawei { profile = "peer" })
end

-- 1. the cluster's side asks for the peering (found again on a re-run)
local p = assert(cs:ensure_peering {
  cluster_id = CLUSTER, vpc_id = PEER_VPC, name = "cs-to-peer", accept_tenant_id = PEER_TENANT,
})
print(("peering %s: %s"):format(p.id, p.status))

-- 2. the peer tenant accepts it on its own VPC service
if p.state == "pending_acceptance" then
  local accepted = assert(peer:accept_peering { peering_id = p.id })
  print(("accepted by tenant %s: %s"):format(PEER_TENANT, accepted.status))
end

-- 3. the cluster's side sees it active
assert(p:wait("active", { timeout = 600 }))
print(("peering %s is %s"):format(p.id, p.status))
