-- A first script: tasks that wait concurrently, and JSON. It needs no
-- network and no account.
--   build/peerlua examples/hello.lua
local peerlua = require("peerlua")

-- three tasks sleeping at once finish in about 0.3 s, not 0.6 s
local t0 = peerlua.now()
local tasks = {}
for i, delay in ipairs({ 0.1, 0.2, 0.3 }) do
  tasks[i] = peerlua.spawn(function()
    peerlua.sleep(delay)
    return string.format("task %d slept %.1f s", i, delay)
  end)
end
for _, t in ipairs(tasks) do print((t:wait())) end
print(string.format("all done in %.2f s", peerlua.now() - t0))

print(peerlua.json.encode({ peerlua = peerlua.version, subnets = peerlua.json.array() }))
