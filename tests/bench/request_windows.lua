-- Read the emulator's request log (GET /_sim/requests?provider=P) on stdin
-- and print: requests, 429s, the busiest one-second window of accepted
-- requests, and the accepted rate over the run.
--   curl -s URL/_sim/requests?provider=instaclustr | lua5.4 request_windows.lua
local cjson = require("cjson")
local entries = cjson.decode(io.read("a"))
local times, n429 = {}, 0
for _, e in ipairs(entries) do
  if e.status == 429 then n429 = n429 + 1 else times[#times + 1] = e.time end
end
table.sort(times)
local busiest, j = 0, 1
for i = 1, #times do
  while times[i] - times[j] >= 1 do j = j + 1 end
  if i - j + 1 > busiest then busiest = i - j + 1 end
end
local span = #times > 1 and times[#times] - times[1] or 0
local rate = span > 0 and (#times - 1) / span or 0
print(string.format("requests %d rejected_429 %d busiest_window %d rate %.2f", #entries, n429, busiest, rate))
