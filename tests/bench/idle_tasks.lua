-- Many tasks, each sleeping and doing one request per second, for a while.
-- Prints peak RSS (MB) and CPU use (% of one core) of this process.
-- usage: peerlua idle_tasks.lua URL TASKS SECONDS
local peerlua = require("peerlua")
local url, ntasks, seconds = arg[1], tonumber(arg[2]), tonumber(arg[3])
local requests, failures = 0, 0
local t0, c0 = peerlua.now(), os.clock()
local tasks = {}
for i = 1, ntasks do
  tasks[i] = peerlua.spawn(function()
    peerlua.sleep((i % 100) / 100) -- spread the starts over the first second
    while peerlua.now() - t0 < seconds do
      local resp = peerlua.http.request({ url = url })
      if resp and resp.status == 200 then requests = requests + 1 else failures = failures + 1 end
      peerlua.sleep(1)
    end
  end)
end
peerlua.wait_all(tasks)
local wall, cpu = peerlua.now() - t0, os.clock() - c0
local hwm = 0
for line in io.lines("/proc/self/status") do
  local kb = line:match("^VmHWM:%s+(%d+) kB")
  if kb then hwm = tonumber(kb) end
end
print(string.format("tasks=%d requests=%d failures=%d wall=%.1fs cpu=%.2fs cpu_pct=%.2f rss_mb=%.1f",
  ntasks, requests, failures, wall, cpu, 100 * cpu / wall, hwm / 1024))
