-- Start a throwaway redis-server on a free loopback port for a spec, and stop it.
--   local redis = require("testredis").start()
--   redis.url            -- "redis://127.0.0.1:PORT"
--   redis:cli("EXISTS", "key")  -- redis-cli's answer, a string
--   redis:pause(), redis:resume()  -- silent, then answering again
--   redis:stop()
local M = {}

local Redis = {}
Redis.__index = Redis

function M.start()
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16))
  for _ = 1, 20 do
    local port = math.random(20000, 60000)
    local cmd = string.format("sh -c 'echo $$; exec redis-server --bind 127.0.0.1 --port %d --save \"\" "
                              .. "--appendonly no 2>&1'", port)
    local f = assert(io.popen(cmd, "r"))
    local pid = assert(tonumber(f:read("l")), "no pid from the redis shell")
    for line in f:lines() do
      if line:find("Ready to accept connections", 1, true) then
        return setmetatable({ url = "redis://127.0.0.1:" .. port, port = port, pid = pid, pipe = f }, Redis)
      end
    end
    f:close() -- it exited: the port was taken, try another
  end
  error("redis-server did not start")
end

function Redis:cli(...)
  local args = { "redis-cli", "-p", tostring(self.port) }
  for _, a in ipairs({ ... }) do args[#args + 1] = string.format("%q", a) end
  local f = assert(io.popen(table.concat(args, " "), "r"))
  local out = f:read("a")
  f:close()
  return (out:gsub("%s+$", ""))
end

-- pause(): the server stops answering (SIGSTOP: connections are still
-- accepted by the kernel, nothing is read); resume() lets it go on.
function Redis:pause() os.execute("kill -STOP " .. self.pid) end
function Redis:resume() os.execute("kill -CONT " .. self.pid) end

function Redis:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    self.pipe:close()
    self.pid = nil
  end
end

return M
