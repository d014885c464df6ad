-- peerlua.throttle: a throttle shared beyond one process.
--
--   local shared = peerlua.throttle.redis{ url = "redis://127.0.0.1:6379", prefix = "peerlua:" }
--   local ic = peerlua.instaclustr{ throttle = shared }
--
-- Every peerlua process whose clients use the same Redis shares one GCRA
-- schedule per (provider, credential): one atomic script per request on the
-- server's clock (core/engine/pl_redis.c), and a provider's Retry-After pauses
-- them all. If Redis cannot be used, each process throttles on its own and
-- says so on stderr; it tries Redis again every few seconds, says so when
-- Redis is back, and again if it is lost again. A Redis call runs on the
-- handle's own thread (core/engine/pl_redis.c), so a slow or silent Redis holds
-- up only the requests that wait for it, at most its 250 ms timeout.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local M = {}


-- A script holds an empty value with a locked metatable; what it stands
-- for (the Redis handle, the warn function, whether Redis is down) is kept
-- here, out of the script's reach, and handed to peerlua's own modules by
-- core.throttle_state(value).
local Redis = {}
Redis.__index = Redis

local private = setmetatable({}, { __mode = "k" }) -- value -> Redis state
local Value = {
  __name = "peerlua.throttle.redis",
  __metatable = "peerlua.throttle.redis",
  __index = function() return nil end,
  __newindex = function(_, k)
    error("a peerlua.throttle.redis value has no fields to set ('" .. tostring(k) .. "')", 2)
  end,
  __tostring = function(v)
    local self = private[v]
    return "redis throttle (" .. core.redis_where(self.handle) .. ", prefix " .. self.prefix .. ")"
  end,
}
function core.throttle_state(v) return private[v] end

local function invalid(field, rule)
  return nil, core.error({ code = "invalid", op = "throttle.redis", retryable = false,
                             message = "peerlua.throttle.redis: " .. field .. ": " .. rule,
                             details = { { field = field, rule = rule } } })
end

local allowed = { url = true, prefix = true, warn = true }

-- redis{url=, prefix=, warn=} -> throttle | nil, err
--   url     redis://[[user]:password@]host[:port][/db] (required)
--   prefix  of every key (default "peerlua:throttle:")
--   warn    function(message) for its warnings: Redis cannot be used, Redis
--           is back, an ensure_peering lock lost while held
--           (default: a line on stderr)
function M.redis(opts)
  if type(opts) ~= "table" then
    error("bad argument #1 to 'redis' (table expected, got " .. type(opts) .. ")", 2)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      local hint = core.did_you_mean(k, { "url", "prefix", "warn" })
      return invalid(tostring(k), "is not an option" .. (hint ~= "" and hint .. " " or " ") .. "(url, prefix, warn)")
    end
  end
  if type(opts.url) ~= "string" then return invalid("url", "is required: redis://host[:port][/db]") end
  local prefix = opts.prefix == nil and "peerlua:throttle:" or opts.prefix
  if type(prefix) ~= "string" or #prefix > 100 then return invalid("prefix", "must be a string of at most 100 bytes") end
  if opts.warn ~= nil and type(opts.warn) ~= "function" then return invalid("warn", "must be a function") end
  local handle, err = core.redis_new(opts.url, prefix)
  if not handle then return invalid("url", err) end
  local value = setmetatable({}, Value)
  private[value] = setmetatable({ handle = handle, prefix = prefix, warn = opts.warn, down = false }, Redis)
  return value
end

-- A warning about this throttle: to opts.warn, else stderr.
function Redis:say(text)
  if self.warn then self.warn(text) else io.stderr:write(text, "\n") end
end

-- Redis failed: say so, once until it is back.
function Redis:fallback(message)
  if self.down then return end
  self.down = true
  self:say("peerlua: shared throttle unavailable (" .. message .. "); throttling in this process only, "
    .. "ensure_peering taking turns on this machine only")
end

-- A Redis call worked: if Redis had been lost, say it is back.
function Redis:working()
  if not self.down then return end
  self.down = false
  self:say("peerlua: shared throttle at " .. core.redis_where(self.handle) .. " is back; throttling "
    .. "and ensure_peering shared again")
end

-- report(why): what a client's engine said of its last reservation (it
-- asks Redis itself, core/binding/lua_policy.c): nil, Redis was used; a
-- message, it could not be and the engine throttled in this process.
function Redis:report(why)
  if why then self:fallback(why) else self:working() end
end

core.throttle_redis = M.redis -- as loaded, for the client's $PEERLUA_REDIS_URL: not a field a script may replace

return M
