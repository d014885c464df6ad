-- N sequential keep-alive GETs through peerlua.http (the C loop's twin).
-- usage: peerlua seq_get.lua URL N
local peerlua = require("peerlua")
local url, n = arg[1], tonumber(arg[2])
local ok = 0
for _ = 1, n do
  local resp = peerlua.http.request({ url = url })
  if resp and resp.status == 200 then ok = ok + 1 end
end
print(ok .. "/" .. n .. " ok")
if ok ~= n then os.exit(1) end
