-- peerlua.sim.ratelimit: per-credential request limits as the providers
-- document them (fixture[provider].rate_limit requests per rate_window
-- seconds, default 1; for Instaclustr, "more than 35 requests per second
-- are being received by your user" gets 429; Aiven, 120 a minute). A
-- sliding window of wall-clock time: a request is refused when `limit`
-- requests of the same credential were accepted in the window before it.
-- Refused requests do not count.
local M = {}

local Limiter = {}
Limiter.__index = Limiter

function M.new(now)
  return setmetatable({ now = now, windows = {} }, Limiter)
end

-- limiter:allow(key, limit[, window]) -> true | false, seconds until a slot frees up
function Limiter:allow(key, limit, window)
  if not limit or limit <= 0 then return true end
  window = window or 1
  local t = self.now()
  local w = self.windows[key]
  if not w then
    w = { first = 1, last = 0 }
    self.windows[key] = w
  end
  while w.first <= w.last and w[w.first] <= t - window do
    w[w.first] = nil
    w.first = w.first + 1
  end
  if w.last - w.first + 1 >= limit then
    return false, math.max(0, w[w.first] + window - t)
  end
  w.last = w.last + 1
  w[w.last] = t
  return true
end

function Limiter:reset()
  self.windows = {}
end

return M
