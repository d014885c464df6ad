-- peerlua: the Lua layer on top of the C core (core/lua_*.c).
-- core/lua_peerlua.c calls this chunk with its table of primitives.
local core = ...

local M = {
  version = core.version,
  spawn = core.spawn,
  sleep = core.sleep,
  now = core.now,
  stats = core.stats,
  error = core.error,
  is_error = core.is_error,
  options = {},
}

local http = require("peerlua.http")
http.core_request = core.http_request
http.error = core.error
M.http = http
M.json = require("peerlua.json")
core.set_array_mt(getmetatable(M.json.array()))

-- run(fn, ...) -> fn's results; runs fn as a task and waits for it, raising
-- its error (with the task's traceback) if it fails.
function M.run(fn, ...)
  local t = core.spawn(fn, ...)
  local r = table.pack(t:wait())
  if t:status() ~= "done" then error(r[2], 0) end
  return table.unpack(r, 1, r.n)
end

-- wait_all(tasks[, timeout]) -> list of table.pack(task:wait()) per task.
-- The timeout (seconds) is for the whole group.
function M.wait_all(tasks, timeout)
  local out = {}
  local deadline = timeout and core.now() + timeout
  for i, t in ipairs(tasks) do
    local left = deadline and math.max(0, deadline - core.now())
    out[i] = table.pack(t:wait(left))
  end
  return out
end

return M
