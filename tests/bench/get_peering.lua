-- N sequential client:get_peering calls against the same GET sent bare
-- through peerlua.http.request (same URL, same bearer header), on an
-- emulator in this process whose UpCloud rate limit is off. Prints the
-- median of RUNS timings of each, and their ratio.
-- usage: peerlua get_peering.lua N RUNS
local peerlua = require("peerlua")
local sim = require("peerlua.sim")
local n, runs = tonumber(arg[1]), tonumber(arg[2])

local probe = assert(sim.start({}))
local fixture = probe.fixture
probe:stop()
fixture.upcloud.rate_limit = 1e9 -- no limit in reach: this measures the client
local emu <close> = assert(sim.start({ fixture = fixture, time_scale = 60 }))
local account = fixture.upcloud.accounts[1]
local c = assert(peerlua.upcloud({ token = account.token, rate = 10000, burst = 10000 }))
local p = assert(c:create_peering({ name = "bench", network = "03126dc1-a69f-4bc2-8b24-e31c22d64712",
                                    peer_network = "03585987-bf7d-4544-8e9b-5a1b4d74a333" }))
local url = emu.url .. "/upcloud/1.3/network-peering/" .. p.id
local headers = { Authorization = "Bearer " .. account.token, Accept = "application/json" }

local function bare()
  for _ = 1, n do
    local resp = assert(peerlua.http.request({ url = url, headers = headers }))
    assert(resp.status == 200 and resp:json().network_peering.uuid == p.id)
  end
end
local function client()
  for _ = 1, n do assert(assert(c:get_peering({ uuid = p.id })).id == p.id) end
end
local function median(xs)
  table.sort(xs)
  local m = #xs // 2
  return #xs % 2 == 1 and xs[m + 1] or (xs[m] + xs[m + 1]) / 2
end
local tb, tc = {}, {}
for i = 1, runs do -- interleaved, so drift hits both alike
  local t = peerlua.now(); bare(); tb[i] = peerlua.now() - t
  t = peerlua.now(); client(); tc[i] = peerlua.now() - t
end
local b, cl = median(tb), median(tc)
print(string.format("bare=%.3f client=%.3f ratio=%.3f", b, cl, cl / b))
