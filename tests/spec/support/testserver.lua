-- Start `peerlua --emulator` on a free loopback port for a spec, and stop it.
--   local server = require("testserver").start()
--   server.url  -- "http://127.0.0.1:PORT"
--   server:stop()
--
--   local server = require("testserver").attach(peerlua, "--time-scale 600", { quiet = true })
--   -- clients without base_url use it (peerlua.set_sim); progress lines off
--   server:stop()  -- also undoes set_sim and quiet
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

-- attach(peerlua, extra, {quiet = bool}) -> server that peerlua's
-- clients use, as under --sim.
function M.attach(peerlua, extra, opts)
  local server = M.start(extra)
  peerlua.set_sim({ url = server.url })
  if opts and opts.quiet then peerlua.options.quiet = true end
  server.attached = peerlua
  return server
end

-- server:admin(method, path[, body]) -> the decoded answer of the
-- emulator's /_sim/PATH (faults, reset, requests, clock ...)
function Server:admin(method, path, body)
  local http = require("peerlua").http
  local resp = assert(http.request({ method = method, url = self.url .. "/_sim/" .. path, json = body }))
  return resp:json()
end

function Server:stop()
  if self.attached then
    self.attached.options.quiet = nil
    self.attached.set_sim(nil)
    self.attached = nil
  end
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    self.pipe:close()
    self.pid = nil
  end
end

return M
