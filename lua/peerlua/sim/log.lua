-- peerlua.sim.log: the emulator's request log and counters.
--   local log = require("peerlua.sim.log").new([capacity])
--   log:add{time =, method =, path =, status =, credential =, provider =,
--           route =, action =, op =, fault =}  (op: AWS's Action, which the path does not say)
--   log:entries([filter]) -> list, oldest first
--   log:stats() -> {by_provider, by_route, by_status, max_per_second, total}
--   log:reset()
-- The log keeps the last `capacity` entries (default 50000); the counters
-- cover every request since the last reset. max_per_second is, for each
-- credential, the largest number of its requests seen in any sliding
-- one-second window.
local M = {}

local Log = {}
Log.__index = Log

local DEFAULT_CAPACITY = 50000

function M.new(capacity)
  local self = setmetatable({ capacity = capacity or DEFAULT_CAPACITY }, Log)
  self:reset()
  return self
end

function Log:reset()
  self.ring, self.first, self.last = {}, 1, 0
  self.total = 0
  self.by_provider, self.by_route, self.by_status = {}, {}, {}
  self.windows = {}         -- credential -> {t = times, head =, tail =}
  self.max_per_second = {}  -- credential -> n
end

local function bump(t, k)
  t[k] = (t[k] or 0) + 1
end

function Log:add(e)
  local ring = self.ring
  self.last = self.last + 1
  ring[self.last] = e
  if self.last - self.first + 1 > self.capacity then
    ring[self.first] = nil
    self.first = self.first + 1
  end
  self.total = self.total + 1
  if e.provider then bump(self.by_provider, e.provider) end
  bump(self.by_route, e.method .. " " .. (e.route or "(unmatched)"))
  bump(self.by_status, tostring(e.status))
  local cred = e.credential
  if cred then
    local w = self.windows[cred]
    if not w then
      w = { t = {}, head = 1, tail = 0 }
      self.windows[cred] = w
    end
    local now, t = e.time, w.t
    w.tail = w.tail + 1
    t[w.tail] = now
    while t[w.head] <= now - 1 do
      t[w.head] = nil
      w.head = w.head + 1
    end
    local n = w.tail - w.head + 1
    if n > (self.max_per_second[cred] or 0) then self.max_per_second[cred] = n end
  end
end

-- entries([filter]) -> list of {time, method, path, status, credential,
-- provider, action}; filter.provider keeps one provider, filter.limit the
-- last n.
function Log:entries(filter)
  local out = {}
  local provider = filter and filter.provider
  for i = self.first, self.last do
    local e = self.ring[i]
    if not provider or e.provider == provider then
      out[#out + 1] = {
        time = e.time, method = e.method, path = e.path, status = e.status,
        credential = e.credential, provider = e.provider, action = e.action, fault = e.fault, op = e.op,
      }
    end
  end
  local limit = filter and filter.limit
  if limit and #out > limit then
    table.move(out, #out - limit + 1, #out, 1)
    for i = #out, limit + 1, -1 do out[i] = nil end
  end
  return out
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

function Log:stats()
  return {
    total = self.total,
    by_provider = copy(self.by_provider),
    by_route = copy(self.by_route),
    by_status = copy(self.by_status),
    max_per_second = copy(self.max_per_second),
  }
end

return M
