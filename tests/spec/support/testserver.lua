-- Start `peerlua --emulator` on a free loopback port for a spec, and stop it.
--   local server = require("testserver").start()
--   server.url  -- "http://127.0.0.1:PORT"
--   server:stop()
local M = {}

local Server = {}
Server.__index = Server

function M.start(extra)
  local bin = assert(os.getenv("PEERLUA_BIN"), "PEERLUA_BIN is not set")
  -- the shell prints its pid, then execs the server, whose first line is the URL
  local cmd = string.format("sh -c 'echo $$; exec %q --emulator --listen 127.0.0.1:0 %s'",
                            bin, extra or "")
  local f = assert(io.popen(cmd, "r"))
  local pid = assert(tonumber(f:read("l")), "no pid from the server shell")
  local line = f:read("l") or ""
  local url = line:match("^listening on (http://127%.0%.0%.1:%d+)$")
  if not url then
    os.execute("kill " .. pid .. " 2>/dev/null")
    f:close()
    error("emulator did not start: " .. line)
  end
  return setmetatable({ url = url, pid = pid, pipe = f }, Server)
end

function Server:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    self.pipe:close()
    self.pid = nil
  end
end

return M
