-- Aiven on UpCloud: peer an Aiven project VPC with your UpCloud network,
-- both sides (the UpCloud seed's "Aiven-UpCloud VPC peering").
--   1. Aiven is asked to peer its project VPC with your network: the peer
--      account is the word "upcloud", the peer VPC your network's UUID;
--   2. it sets up its half of the UpCloud peering (PENDING_PEER);
--   3. you create your half on UpCloud, your network -> Aiven's network
--      (the "Aiven network ID" of the Aiven Console: set AIVEN_NETWORK);
--   4. both become active together.
--
--   peerlua --sim examples/aiven.lua
--
-- Credentials: AIVEN_TOKEN and AIVEN_PROJECT_NAME; UPCLOUD_TOKEN (or
-- UPCLOUD_USERNAME and UPCLOUD_PASSWORD). Which VPC and networks:
-- AIVEN_PROJECT_VPC_ID, UPCLOUD_NETWORK (it needs a router), AIVEN_NETWORK.
-- Under --sim, the emulator's accounts (and the Aiven account's project),
-- and Aiven's network from the emulator's state_info.to_network_id (a
-- model: no published Aiven type names that field).
local peerlua = require("peerlua")

local PROJECT_VPC = os.getenv("AIVEN_PROJECT_VPC_ID") or "1c6a3d5e-7b9f-4e21-a8c4-5d6e7f809a1b"
local NETWORK = os.getenv("UPCLOUD_NETWORK") or "03126dc1-a69f-4bc2-8b24-e31c22d64712"
local AIVEN_NETWORK = os.getenv("AIVEN_NETWORK")

local aiven = assert(peerlua.aiven {})
local upcloud = assert(peerlua.upcloud {})

-- 1. Aiven's peering, found or created (a re-run creates nothing)
local p = assert(aiven:ensure_peering { project_vpc_id = PROJECT_VPC, peer_cloud_account = "upcloud",
                                        peer_vpc = NETWORK })
print(("Aiven peering %s: %s"):format(p.id, p.status))

if p.state == "planned" then -- peerlua --dry-run: nothing more can be planned until Aiven's side is up
  print("then: wait for Aiven's side, create the UpCloud peering to Aiven's network, wait for both")
  return
end

-- 2. Aiven's side first: until then it cannot say which network to peer with
local deadline = peerlua.now() + 900
while p.state == "pending" do
  assert(peerlua.now() < deadline, "Aiven did not set up its side in 15 minutes")
  peerlua.sleep(peerlua.sim and 0.5 or 10)
  assert(p:refresh())
end
assert(p.state == "pending_acceptance" or p.state == "active",
       ("Aiven peering is %s: %s"):format(p.status, p.raw.state_info and p.raw.state_info.message))
local to_network = AIVEN_NETWORK or (peerlua.sim and p.raw.state_info.to_network_id)
assert(to_network, "set AIVEN_NETWORK to the Aiven network ID the Aiven Console shows for this peering")
print(("Aiven's network on UpCloud: %s"):format(to_network))

-- 3. our half on UpCloud
local ours = assert(upcloud:ensure_peering { name = "to Aiven " .. PROJECT_VPC:sub(1, 8), network = NETWORK,
                                             peer_network = to_network })
print(("UpCloud peering %s: %s"):format(ours.id, ours.status))

-- 4. both active, awaited together
local results = peerlua.wait_all {
  peerlua.spawn(function() return assert(p:wait("active", { timeout = 900 })) end),
  peerlua.spawn(function() return assert(ours:wait("active", { timeout = 900 })) end),
}
for _, r in ipairs(results) do
  local done = assert(r[1], r[2])
  print(("%s peering %s is %s"):format(done.provider, done.id, done.status))
end
