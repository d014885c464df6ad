-- UpCloud: peer two private networks that belong to two accounts. UpCloud
-- activates a peering only when it exists in both directions, so each
-- account creates its own; then both are awaited together.
--
--   peerlua --sim examples/upcloud.lua
--
-- Credentials: UPCLOUD_TOKEN (or UPCLOUD_USERNAME and UPCLOUD_PASSWORD) for
-- the first account and the [peer] profile of ~/.config/peerlua/credentials
-- for the second; under --sim, the emulator's two accounts.
local peerlua = require("peerlua")

local NET_A = os.getenv("UPCLOUD_NETWORK") or "03126dc1-a69f-4bc2-8b24-e31c22d64712"
local NET_B = os.getenv("UPCLOUD_PEER_NETWORK") or "03585987-bf7d-4544-8e9b-5a1b4d74a333"

local a = assert(peerlua.upcloud {})
local b
if peerlua.sim then
  local peer = peerlua.sim.fixture.upcloud.accounts[2]
  b = assert(peerlua.upcloud { username = peer.username, password = peer.password })
else
  b = assert(peerlua.upcloud { profile = "peer" })
end

-- each side, found or created (a re-run creates nothing)
local ab = assert(a:ensure_peering { name = "A->B", network = NET_A, peer_network = NET_B })
local ba = assert(b:ensure_peering { name = "B->A", network = NET_B, peer_network = NET_A })
print(("A->B %s: %s, B->A %s: %s"):format(ab.id, ab.status, ba.id, ba.status))

-- wait for both at once: each wait is a task
local results = peerlua.wait_all {
  peerlua.spawn(function() return assert(ab:wait("active", { timeout = 600 })) end),
  peerlua.spawn(function() return assert(ba:wait("active", { timeout = 600 })) end),
}
for _, r in ipairs(results) do
  local p = assert(r[1], r[2])
  print(("%s is %s"):format(p.id, p.status))
end
