-- peerlua.peering: what a peering value can do, on top of its client:
-- p:refresh(), p:wait(state[, opts]), p:delete(), p:wait_deleted([opts]).
-- Waiting on many peerings of one account polls with one list call per
-- interval (shared by every waiter), not one get per peering.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local base = core.require("peerlua.client")
local plan = core.require("peerlua.plan")

local Peering = base.peering_methods -- the methods (client.lua holds the metatable)
local M = {}

-- Terminal states: a wait for anything else ends when one is reached.
local TERMINAL = { rejected = true, expired = true, failed = true, deleted = true }

local function now() return core.now() end

-- The state of the client a peering came from (its handle is p.client).
local function owner(p) return core.client_state(p.client) end

-- A public method of p asks core.client_state itself first (not through
-- owner): a closed client is then raised at the script's line, naming the
-- method ("p:wait").

-- The list arguments that cover peering p, and a key for them.
local function list_scope(p)
  local args = {}
  for name, where in pairs(owner(p).ops.list_peerings.params) do
    if where == "path" then args[name] = p.scope and p.scope[name] end
  end
  local keys = {}
  for k, v in pairs(args) do keys[#keys + 1] = k .. "=" .. tostring(v) end
  table.sort(keys)
  return args, table.concat(keys, "&")
end

-- Copy what a fresh read says into p.
local function update(p, fresh)
  p.status, p.state, p.raw = fresh.status, fresh.state, fresh.raw
  if fresh.id then p.id = fresh.id end
  return p
end

local function gone_error(p, op)
  p.state = "deleted"
  return base.error({ code = "not_found", provider = owner(p).name, op = op,
                      message = "peering " .. tostring(p.id) .. " no longer exists", retryable = false })
end

-- Find p in a list begun at `started`: true when found (p updated), false
-- when the list proves it gone, nil when the list is older than what we
-- know of p (made or read after the list began) and cannot tell.
local function find_in(p, list, started)
  for _, q in ipairs(list) do
    if q.id == p.id then
      if q.status == nil and owner(p).ops.get_peering then return nil end -- the list leaves status out
      update(p, q)
      return true
    end
  end
  if started < (p.seen or 0) then return nil end
  return false
end

-- list(client, args, key, since) -> list, err, sent: a list of the account
-- sent at or after `since`. Callers share one: a list not yet sent (waiting
-- for the throttle) is joined by anyone, a sent one only by those it is
-- new enough for. `sent` is when its last attempt left.
local function shared_list(client, args, key, since)
  client.lists = client.lists or {}
  local entry = client.lists[key]
  if not (entry and (entry.sent == nil or entry.sent >= since)) then
    entry = {}
    entry.task = core.spawn(function()
      return client:call_peering("list_peerings", args, function() entry.sent = now() end)
    end)
    client.lists[key] = entry
  end
  local list, err = entry.task:wait()
  if client.lists[key] == entry then client.lists[key] = nil end -- the next caller asks anew
  return list, err, entry.sent or now()
end

-- ---- refresh --------------------------------------------------------------

-- p:refresh() -> p | nil, err  (err.code "not_found" once it is gone):
-- one read of this peering, or a list of its account where the provider
-- cannot read one.
function Peering:refresh()
  if self.planned then return self end
  local client = core.client_state(self.client, "p:refresh")
  if client.ops.get_peering then
    local fresh, err = client:get_peering(client:id_args("get_peering", self))
    if not fresh then return nil, err end
    if fresh == true then return nil, gone_error(self, "refresh") end
    self.seen = fresh.seen
    return update(self, fresh)
  end
  local args, key = list_scope(self)
  local list, err, sent = shared_list(client, args, key, now())
  if not list then return nil, err end
  if find_in(self, list, sent) == false then return nil, gone_error(self, "refresh") end
  return self
end

-- M.read_new(p) -> p | nil, err: the first read of a peering just created
-- (Instaclustr v1 answers a create with the id only). Concurrent creates
-- share one list of the account; a read of this one if the list cannot say.
function M.read_new(p)
  local client = owner(p)
  if client.ops.list_peerings then
    local args, key = list_scope(p)
    local list, _, sent = shared_list(client, args, key, p.seen or 0)
    if list and find_in(p, list, sent) then return p end
  end
  return p:refresh()
end

-- ---- waiting: one poller per account ---------------------------------------
--
-- Every peering being waited on joins the poller of its account (client and
-- list scope). Each round the poller lists the account once, updates every
-- waiting peering from that list and wakes the waiters; then it sleeps an
-- interval that grows from `interval` to `max_interval` (with jitter) and
-- starts again from `interval` when some state changed. Peerings the list
-- cannot speak for (Instaclustr v2 lists carry no status) are read one by
-- one. A round is a task that sleeps until it is cancelled: waiting on it
-- is how waiters sleep until the next list.

local FOREVER = 1e9
local function sleeper(seconds) return core.spawn(function() core.sleep(seconds) end) end

-- The cap is 10 s, as Terraform's waits cap their backoff
-- (terraform-plugin-sdk helper/resource/state.go, WaitForStateContext): a
-- wait sees a change at most that late, for one list per account a round.
local function scaled(client, opts)
  local scale = client.poll_scale -- the client's option (0.1 by default against an emulator)
  return (opts.interval or 5) * scale, (opts.max_interval or 10) * scale
end

-- One round: read every waiting peering, return whether any state changed.
local function poll(poller)
  local client, changed = poller.client, false
  local states = {}
  for p in pairs(poller.waiters) do states[p] = p.state end
  local list, err, started
  if client.ops.list_peerings then list, err, started = shared_list(client, poller.args, poller.key, now()) end
  poller.err = err
  for p in pairs(poller.waiters) do
    local found = list and find_in(p, list, started)
    if found == nil and (list or not err) then
      local ok, rerr = p:refresh()
      if not ok and rerr.code == "not_found" then found = false elseif not ok then poller.err = rerr end
    end
    if found == false then
      p.gone = true
      p.state = "deleted"
    end
    if p.state ~= states[p] then changed = true end
  end
  return changed
end

local function run_poller(poller)
  local current = poller.first
  while next(poller.waiters) do
    local ok, changed = pcall(poll, poller)
    if not ok then -- a bug, not a provider problem: every waiter gets it
      poller.err = base.error({ code = "provider", op = "wait", message = tostring(changed), retryable = false })
    end
    if changed or poller.reset then current, poller.reset = poller.first, nil end
    local round = poller.round
    poller.round = sleeper(FOREVER)
    round:cancel() -- wakes every waiter
    if not next(poller.waiters) then break end
    poller.nap = sleeper(current * (0.8 + 0.4 * math.random()))
    poller.nap:wait()
    current = math.min(poller.cap, current * 1.5)
  end
  poller.round:cancel()
  poller.client.pollers[poller.key] = nil
end

local function join(p, opts)
  local client = owner(p)
  local args, key = list_scope(p)
  client.pollers = client.pollers or {}
  local poller = client.pollers[key]
  local first, cap = scaled(client, opts)
  if not poller then
    poller = { client = client, args = args, key = key, waiters = {}, first = first, cap = cap,
               round = sleeper(FOREVER) }
    client.pollers[key] = poller
    poller.waiters[p] = true
    poller.task = core.spawn(run_poller, poller)
  else
    poller.waiters[p] = true
    poller.first, poller.cap = math.min(poller.first, first), math.min(poller.cap, cap)
    poller.reset = true -- a newcomer is likely to change soon: look again sooner
  end
  return poller
end

local function leave(poller, p)
  poller.waiters[p] = nil
  if not next(poller.waiters) and poller.nap then poller.nap:cancel() end
end

-- p:wait(state[, {timeout=, interval=, max_interval=, on_progress=fn(p, elapsed)}])
--   -> p | nil, err (code: the terminal state reached, or "timeout" with
--   err.state the last state seen)
-- The canonical states (design.md) and the options of wait.
local STATES = { "pending", "pending_acceptance", "provisioning", "active", "disabled", "rejected", "expired",
                 "failed", "deleting", "deleted" }
local WAIT_OPTIONS = { timeout = "number", interval = "number", max_interval = "number", on_progress = "function" }

local function is_state(s)
  for _, v in ipairs(STATES) do if v == s then return true end end
  return false
end

-- The problem with wait's arguments, as {field, rule}, or nil.
local function wait_problem(want, opts, op)
  if not is_state(want) then
    return "state", (type(want) == "string" and "'" .. want .. "' is not a state" .. core.did_you_mean(want, STATES)
      or "must be a state name") .. " (one of " .. table.concat(STATES, ", ") .. ")"
  end
  if opts == nil then return nil end
  if type(opts) ~= "table" then return "options", "must be a table such as {timeout = 60}, not a " .. type(opts) end
  for k, v in pairs(opts) do
    local want_type = WAIT_OPTIONS[k]
    if not want_type then
      local names = {}
      for name in pairs(WAIT_OPTIONS) do names[#names + 1] = name end
      table.sort(names)
      return tostring(k), "is not an option of " .. op .. core.did_you_mean(k, names) .. " (known: "
        .. table.concat(names, ", ") .. ")"
    end
    if type(v) ~= want_type then return k, "must be a " .. want_type end
    if want_type == "number" and not (v > 0 and v < math.huge) then
      return k, "must be a finite number of seconds > 0"
    end
  end
  return nil
end

-- wait_for(p, state, opts, op): p:wait, and p:wait_deleted as op (the
-- name its errors carry)
local function wait_for(self, want, opts, op)
  local field, rule = wait_problem(want, opts, op)
  if field then
    return nil, base.error({ code = "invalid", provider = owner(self).name, op = op, retryable = false,
                             message = "invalid arguments: " .. field .. ": " .. rule,
                             details = { { field = field, rule = rule } } })
  end
  if plan.on and (self.planned or self.delete_planned or self.state ~= want) then
    -- a dry run changes nothing, so nothing would come: say what it would wait for
    plan.note(self, want)
    return self
  end
  opts = opts or {}
  local started = now()
  local deadline = started + (opts.timeout or 1800)
  local function fail(code, message)
    return nil, base.error({ code = code, provider = owner(self).name, op = op, state = self.state,
                             message = message, retryable = code == "timeout" })
  end
  -- just made or read, and already there
  if self.state == want and now() - (self.seen or -math.huge) < scaled(owner(self), opts) then return self end
  self.gone = nil
  local poller = join(self, opts)
  local _ <close> = setmetatable({}, { __close = function() -- even if cancelled
    leave(poller, self)
    M.emit_end(self)
  end })
  local last_state
  while true do
    local left = deadline - now()
    if left <= 0 then
      local waited = now() - started
      M.emit(self, waited, want) -- said even if the script does not look at the error
      return fail("timeout", string.format("peering %s still %s after %s s (waiting for %s)",
        tostring(self.id), self.state, string.format(waited < 10 and "%.1f" or "%.0f", waited), want))
    end
    poller.round:wait(left)
    local err = poller.err
    if err and not err.retryable then return nil, err end
    if self.state ~= last_state then
      last_state = self.state
      if opts.on_progress then opts.on_progress(self, now() - started) end
      M.emit(self, now() - started)
    end
    if self.state == want then return self end
    if self.gone then return nil, gone_error(self, op) end
    if TERMINAL[self.state] then
      local why = owner(self):reason(self.raw)
      -- the provider's word only where it says more than the state (not "rejected (rejected)")
      local word = tostring(self.status)
      local same = word:lower():gsub("[%- ]", "_") == self.state
      return fail(self.state, string.format("peering %s is %s%s, not %s%s", tostring(self.id), self.state,
        same and "" or " (" .. word .. ")", want, why and ": " .. why or ""))
    end
  end
end

function Peering:wait(want, opts)
  core.client_state(self.client, "p:wait")
  return wait_for(self, want, opts, "wait")
end

-- p:delete() -> true | nil, err: whatever the provider requires first
-- (UpCloud: disable, wait until disabled).
function Peering:delete()
  local client = core.client_state(self.client, "p:delete")
  if self.planned then -- a dry run's own create: no id to send yet, nothing to read; planned as it is
    plan.step(self.provider, "delete_peering", "delete", self, "the peering this run plans to create")
    self.delete_planned = true
    return true, "planned"
  end
  if client.spec.before_delete then
    local ok, err = client.spec.before_delete(client, self)
    -- gone already (deleted earlier, by this script or another): nothing to
    -- delete, which is success, as a DELETE answering 404 is
    if not ok and type(err) == "table" and err.code == "not_found" then
      self.state = "deleted"
      return true, "missing"
    end
    if not ok then return nil, err end
  end
  local r, how = client:delete_peering(client:id_args("delete_peering", self))
  if not r then return nil, how end
  if how == "planned" then
    self.delete_planned = true
    return true, how
  end
  return true
end

-- p:wait_deleted([opts]) -> true | nil, err
function Peering:wait_deleted(opts)
  core.client_state(self.client, "p:wait_deleted")
  local p, err = wait_for(self, "deleted", opts, "wait_deleted")
  if p then return true end
  if err.code == "not_found" then return true end
  return nil, err
end

-- Progress events go through M.emit(p, elapsed[, timed_out_for]), and the
-- end of a wait through M.emit_end (both replaced by peerlua.progress).
function M.emit() end
function M.emit_end() end

-- A dot call (p.wait("active")) is refused at the caller's line, saying
-- how to call the method, as a client's methods do.
for name, form in pairs({ refresh = "()", wait = "(state[, opts])", delete = "()", wait_deleted = "([opts])" }) do
  local impl = Peering[name]
  Peering[name] = function(p, ...)
    if not base.is_peering(p) then
      error(string.format("%s: call it as a method, p:%s%s (with a colon, not a dot)", name, name, form),
        core.caller_level())
    end
    if form == "()" and select("#", ...) > 0 then -- p:delete{force = true} would be ignored without a word
      error(string.format("%s: takes no arguments: p:%s()", name, name), core.caller_level())
    end
    return impl(p, ...)
  end
end

return M
