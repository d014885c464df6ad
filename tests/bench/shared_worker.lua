-- One automation job of the shared-throttle benchmark and test: TASKS tasks
-- listing Instaclustr peerings with one credential, as fast as the
-- throttle lets them, for SECONDS.
--   peerlua shared_worker.lua EMULATOR_URL REDIS_URL|none RATE SECONDS TASKS
local peerlua = require("peerlua")
local url, redis_url = arg[1], arg[2]
local rate, seconds, ntasks = tonumber(arg[3]), tonumber(arg[4]), math.tointeger(tonumber(arg[5]))
assert(url and redis_url and rate and seconds and ntasks, "usage: shared_worker.lua URL REDIS_URL|none RATE SECONDS TASKS")

local opts = { base_url = url .. "/instaclustr", username = "sim-user", api_key = "sim-instaclustr-api-key-0001",
               rate = rate, burst = 1 }
if redis_url ~= "none" then opts.throttle = assert(peerlua.throttle.redis({ url = redis_url, prefix = "bench:" })) end
local ic = assert(peerlua.instaclustr(opts))
local deadline = peerlua.now() + seconds
local done, failed = 0, 0
local tasks = {}
for i = 1, ntasks do
  tasks[i] = peerlua.spawn(function()
    while peerlua.now() < deadline do
      if ic:list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" }) then
        done = done + 1
      else
        failed = failed + 1
      end
    end
  end)
end
peerlua.wait_all(tasks)
print(string.format("done %d failed %d", done, failed))
