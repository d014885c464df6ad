-- peerlua.lock: one ensure_peering at a time for one peering. Without it
-- two copies of a script (two CI jobs, a retried pipeline) both list, both
-- find nothing and both create. The lock is in Redis when the client has a
-- shared throttle (every machine that uses that Redis agrees), else a file
-- lock of this machine's user (core/engine/pl_lock.h); either way tasks of one
-- process exclude each other too. A holder that dies loses its lock: the
-- kernel drops the file lock, the Redis one expires TTL seconds after its
-- last renewal.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local M = {}
M.error = nil

local TTL = 30 -- seconds a Redis lock lives past its last renewal
local RENEW = TTL / 3

local Held = {}
Held.__index = Held
Held.__name = "peerlua.lock"

function Held:release()
  if self.done then return end
  self.done = true
  if self.file then core.lock_release(self.file) end
  if self.token then
    if self.renewer then self.renewer:cancel() end
    core.redis_unlock(self.redis.handle, self.key, self.token) -- sent, not waited for; failing, it expires
  end
end
Held.__close = Held.release

-- Keep a Redis lock alive while it is held; say so loudly if it was lost
-- (Redis restarted, or this process stalled past TTL).
local function renew(held)
  held.renewer = core.spawn(function()
    while not held.done do
      core.sleep(RENEW)
      if held.done then return end
      local ok, err = core.redis_lock(held.redis.handle, held.key, TTL, held.token)
      if ok ~= nil then held.redis:working() end
      if ok == false then
        held.redis:say("peerlua: warning: the lock for " .. held.what .. " expired while held; "
          .. "another process may be creating the same peering")
        return
      elseif not ok then
        held.redis:fallback(err)
      end
    end
  end)
end

-- hold(key, opts) -> held (release with held:release() or <close>) | nil, err
--   opts.redis  a peerlua.throttle.redis value, or nil for a file lock
--   opts.wait   seconds to wait for another holder before giving up
--   opts.what   what the lock is for, for messages ("instaclustr peering ...")
--   opts.provider, opts.op  for the error
function M.hold(key, opts)
  local redis = opts.redis
  local give_up = core.now() + opts.wait
  local pause, holder = 0.01, nil
  while true do
    if redis then
      local token, err = core.redis_lock(redis.handle, key, TTL)
      if token ~= nil then redis:working() end
      if token then
        local held = setmetatable({ key = key, token = token, redis = redis, what = opts.what }, Held)
        renew(held)
        return held
      elseif token == nil then -- Redis cannot be used: this machine's lock still holds off local copies
        redis:fallback(err)
        redis = nil
      end
    end
    if not redis then
      local file, who = core.lock_file(key)
      if file then return setmetatable({ file = file, what = opts.what }, Held) end
      if file == nil then
        return nil, M.error({ code = "invalid", provider = opts.provider, op = opts.op, retryable = false,
                              message = "cannot lock " .. opts.what .. ": " .. who })
      end
      holder = who
    end
    if core.now() + pause > give_up then
      return nil, M.error({ code = "timeout", provider = opts.provider, op = opts.op, retryable = true,
                            message = string.format("another ensure_peering for %s%s held its lock for %.0f s",
                              opts.what, holder and holder > 0 and " (process " .. holder .. ")" or "", opts.wait) })
    end
    core.sleep(pause)
    pause = math.min(pause * 2, 0.25)
  end
end

return M
