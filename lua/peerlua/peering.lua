-- peerlua.peering: what a peering value can do, on top of its client:
-- p:refresh(), p:wait(state[, opts]), p:delete(), p:wait_deleted([opts]).
-- Waiting on many peerings of one account polls with one list call per
-- interval (shared by every waiter), not one get per peering.
local base = require("peerlua.client")

local Peering = base.Peering
local M = {}

-- Terminal states: a wait for anything else ends when one is reached.
local TERMINAL = { rejected = true, expired = true, failed = true, deleted = true }

local function now() return base.core.now() end

-- ---- shared listing --------------------------------------------------------

-- The list arguments that cover peering p, and a cache key for them.
local function list_scope(p)
  local args = {}
  for name, where in pairs(p.client.ops.list_peerings.params) do
    if where == "path" then args[name] = p.scope and p.scope[name] end
  end
  local keys = {}
  for k, v in pairs(args) do keys[#keys + 1] = k .. "=" .. tostring(v) end
  table.sort(keys)
  return args, table.concat(keys, "&")
end

-- list(client, args, key, max_age, since) -> list of peerings | nil, err
-- Reuses a list younger than max_age, or joins the one in flight, if that
-- list was begun at or after `since`; otherwise starts a new one.
local function shared_list(client, args, key, max_age, since)
  client.lists = client.lists or {}
  local entry = client.lists[key]
  if entry and entry.result and entry.started >= since and now() - entry.at <= max_age then
    return entry.result
  end
  if not (entry and entry.task and entry.started >= since) then
    entry = { started = now() }
    entry.task = base.core.spawn(function() return client:list_peerings(args) end)
    client.lists[key] = entry
  end
  local task = entry.task
  local list, err = task:wait()
  if entry.task == task then
    entry.task = nil
    if list then entry.result, entry.at = list, now() end
  end
  return list, err
end

-- ---- refresh --------------------------------------------------------------

-- Copy what a fresh read says into p.
local function update(p, fresh)
  p.status, p.state, p.raw = fresh.status, fresh.state, fresh.raw
  if fresh.id then p.id = fresh.id end
  return p
end

-- p:refresh([max_age]) -> p | nil, err  (err.code "not_found" once it is gone)
-- With max_age (seconds), a list of the account no older than that may
-- answer instead of a read of this one peering.
function Peering:refresh(max_age)
  local client = self.client
  if client.ops.get_peering and not (max_age and client.ops.list_peerings) then
    local fresh, err = client:get_peering(client:id_args("get_peering", self))
    if not fresh then return nil, err end
    if fresh == true then fresh = { state = "deleted", status = self.status, raw = self.raw } end
    return update(self, fresh)
  end
  local args, key = list_scope(self)
  local list, err = shared_list(client, args, key, max_age or 0, self.seen or 0)
  if not list then return nil, err end
  for _, q in ipairs(list) do
    if q.id == self.id then
      -- some lists leave the status out (Instaclustr v2): read this one
      if q.status == nil and client.ops.get_peering then return self:refresh() end
      return update(self, q)
    end
  end
  self.state = "deleted"
  return nil, base.error({ code = "not_found", provider = client.name, op = "refresh",
                           message = "peering " .. tostring(self.id) .. " no longer exists", retryable = false })
end

-- ---- waiting --------------------------------------------------------------

-- Poll intervals: from `first` growing by half each time to `cap`, with
-- +-20% jitter. Under --sim everything is ten times faster.
local function intervals(client, opts)
  local scale = client.sim and 0.1 or 1
  local first = (opts.interval or 5) * scale
  local cap = (opts.max_interval or 30) * scale
  local current = first
  return function()
    local v = current * (0.8 + 0.4 * math.random())
    current = math.min(cap, current * 1.5)
    return v
  end
end

-- p:wait(state[, {timeout=, interval=, max_interval=, on_progress=fn(p, elapsed)}])
--   -> p | nil, err (code: the terminal state reached, or "timeout" with
--   err.state the last state seen)
function Peering:wait(want, opts)
  opts = opts or {}
  local started = now()
  local deadline = started + (opts.timeout or 1800)
  local next_interval = intervals(self.client, opts)
  local last_state
  while true do
    local interval = next_interval()
    local ok, err = self:refresh(interval)
    if not ok then
      local gone = err.code == "not_found" and want == "deleted"
      local transient = err.code ~= "not_found" and err.retryable -- keep waiting
      if not (gone or transient) then return nil, err end
    end
    if self.state ~= last_state then
      last_state = self.state
      if opts.on_progress then opts.on_progress(self, now() - started) end
      M.emit(self, now() - started)
    end
    if self.state == want then return self end
    if TERMINAL[self.state] and want ~= "deleted" then
      return nil, base.error({ code = self.state, provider = self.client.name, op = "wait", state = self.state,
                               message = string.format("peering %s is %s (%s), not %s", tostring(self.id),
                                 self.state, tostring(self.status), want), retryable = false })
    end
    if now() + interval > deadline then
      return nil, base.error({ code = "timeout", provider = self.client.name, op = "wait", state = self.state,
                               message = string.format("peering %s still %s after %.0f s (waiting for %s)",
                                 tostring(self.id), self.state, now() - started, want), retryable = true })
    end
    base.core.sleep(interval)
  end
end

-- p:delete() -> true | nil, err: whatever the provider requires first
-- (UpCloud: disable, wait until disabled).
function Peering:delete()
  local client = self.client
  if client.spec.before_delete then
    local ok, err = client.spec.before_delete(client, self)
    if not ok then return nil, err end
  end
  local r, err = client:delete_peering(client:id_args("delete_peering", self))
  if not r then return nil, err end
  return true
end

-- p:wait_deleted([opts]) -> true | nil, err
function Peering:wait_deleted(opts)
  local p, err = self:wait("deleted", opts)
  if p then return true end
  if err.code == "not_found" then return true end
  return nil, err
end

-- Progress events go through M.emit (replaced by peerlua.progress).
function M.emit() end

return M
