-- peerlua.plan: the dry run (`peerlua --dry-run`, peerlua.dry_run(fn)).
-- While it is on, validation, credentials and every read are real; a
-- request that would change an account (POST, PUT, PATCH, DELETE of a
-- provider operation) does not leave the process: it is recorded, shown
-- (a line on stderr, or a JSON event with --json) and answered as planned.
-- A planned create is a peering in state "planned"; waiting on it returns
-- at once. At the end, a summary: N to create, N to change, N to delete,
-- N already as wanted.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
require("peerlua.json") -- loaded first: it sets core.json
local json = core.json -- as loaded (lua/peerlua/json.lua), not fields a script may replace

local M = {}

M.on = false
M.options = nil  -- peerlua.options (json, quiet)
M.json_out = nil -- progress.json_out

local items, existing = {}, 0
-- What this plan has planned, by what it would do: the same change asked
-- again (a workflow run twice) is already as wanted once the first is
-- made, as the second real run finds it. Not a create_peering: a second
-- one of those is a second peering.
local planned = {}
local planned_peerings = {} -- ensure_peering's match key -> the planned peering

local KIND = { POST = "create", PUT = "change", PATCH = "change", DELETE = "delete" }
-- operations that POST without creating anything
local CHANGE_OPS = { accept_peering = true, reject_peering = true, update_peering = true,
                     accept_vpc_peering_connection = true, reject_vpc_peering_connection = true,
                     associate_vpc_with_hosted_zone = true, disassociate_vpc_from_hosted_zone = true }

-- Values under these keys never appear in a plan line.
local function secret_key(k)
  k = tostring(k):lower()
  return k == "sk" or k:find("password", 1, true) or k:find("secret", 1, true) or k:find("token", 1, true)
    or k:find("api_key", 1, true) or k:find("apikey", 1, true) or k:find("authorization", 1, true)
end

local function redact(v, depth)
  if type(v) ~= "table" or (depth or 0) > 20 then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = secret_key(k) and "[REDACTED]" or redact(x, (depth or 0) + 1) end
  return setmetatable(out, core.metatable_of(v)) -- a peering's too (locked: getmetatable names it)
end

-- mutating(method) -> is a request with this method a change? (A
-- provider names its POSTs that are not: spec.reads, client.lua.)
function M.mutating(method)
  return KIND[method] ~= nil
end

-- emit(event, line): the JSON event under --json, else the line on stderr.
local function emit(t, line)
  local options = M.options or {}
  local out = options.json and M.json_out(options.json)
  if out then
    out:write(assert(json.encode_sorted(t)), "\n")
    out:flush()
  else
    io.stderr:write("peerlua: plan: ", line, "\n")
    io.stderr:flush()
  end
end

-- already(event, line): one thing found as wanted, counted and shown.
local function already(t, line)
  existing = existing + 1
  t.event, t.action = "plan", "exists"
  emit(t, "exists " .. line)
end

-- plan(key, item, event, line) -> item, planned: shown (event, and line
-- after its kind) and remembered under key; or, when the same change was
-- planned under key before, that one, counted and shown as already as
-- wanted. A nil key plans item each time (a create: another peering).
local function plan(key, item, t, line)
  local earlier = key and planned[key]
  if earlier then
    already(t, line .. " (planned earlier in this run)")
    return earlier
  end
  items[#items + 1] = item
  if key then planned[key] = item end
  t.event, t.action = "plan", item.kind
  emit(t, ("%-6s %s"):format(item.kind, line))
  return item
end

-- record(client, opname, req[, args]) -> the planned item {kind, provider, op, method, path, body}
-- (the one planned earlier, when the same change was)
-- args: what is shown as the body of an API whose body is not JSON (AWS's
-- Query API: every action is a POST to /, its parameters form-encoded).
function M.record(client, opname, req, args)
  local kind = M.kind_of(opname, req.method)
  local body = req.body
  if body == nil then body = args end
  local item = { kind = kind, provider = client.name, op = opname, method = req.method,
                 path = req.path, body = redact(body) }
  local text = item.body ~= nil and assert(json.encode_sorted(item.body)) or nil
  local what = ("%s %s: %s %s%s"):format(item.provider, opname, req.method, req.path, text and " " .. text or "")
  return plan(opname ~= "create_peering" and what or nil, item,
              { provider = item.provider, op = opname, method = req.method, path = req.path, body = item.body }, what)
end

-- kind_of(opname, method) -> "create" | "change" | "delete" | nil (not a change)
function M.kind_of(opname, method)
  return KIND[method] and (CHANGE_OPS[opname] and "change" or KIND[method])
end

-- planned_by_id(id[, p]) -> the peering this plan creates whose id (its
-- "planned-N") is id (with p: remember p as that one)
local by_id = {}
function M.planned_by_id(id, p)
  if p then by_id[id] = p end
  return by_id[id]
end

-- planned_peering(key[, p]) -> the peering ensure_peering planned for its
-- match key earlier in this plan (with p: remember p as that one).
function M.planned_peering(key, p)
  if p then planned_peerings[key] = p end
  return planned_peerings[key]
end

-- found(p): ensure_peering found the peering it would create.
function M.found(p)
  already({ provider = p.provider, id = p.id, state = p.state },
          ("%s peering %s (%s)"):format(p.provider, tostring(p.id), p.state))
end

-- exists(provider, op, body): a change a read showed already made (an
-- Instaclustr firewall rule that is there).
function M.exists(provider, op, body)
  body = redact(body)
  already({ provider = provider, op = op, body = body },
          ("%s %s: %s"):format(provider, op, body ~= nil and assert(json.encode_sorted(body)) or ""))
end

-- step_exists(provider, op, p): a workflow step (the AWS side) found its
-- work done for peering p.
function M.step_exists(provider, op, p)
  already({ provider = provider, op = op, id = p.id },
          ("%s %s: done, for %s peering %s"):format(provider, op, p.provider, tostring(p.id)))
end

-- note(p, state): a wait the dry run does not do (nothing would change).
function M.note(p, state)
  emit({ event = "plan", action = "wait", provider = p.provider, id = p.id, state = p.state, want = state },
       ("would wait for %s peering %s to be %s (it is %s)"):format(p.provider, tostring(p.id), state, p.state))
end

-- peer(provider, what, id): a step on the peer's side (peerlua.sim.accept).
function M.peer(provider, what, id)
  local line = ("%s %s: peering %s (the peer's side)"):format(provider, what, tostring(id))
  plan(line, { kind = "change", provider = provider, op = what, id = id }, { provider = provider, op = what, id = id },
       line)
end

-- step(provider, op, kind, p, what): a step of a workflow on a peering the
-- plan only creates (aws:accept_peering on a planned peering): nothing to
-- read yet, so what it would do is said, not each request.
function M.step(provider, op, kind, p, what)
  local line = ("%s %s: %s, for %s peering %s"):format(provider, op, what, p.provider, tostring(p.id))
  plan(line, { kind = kind, provider = provider, op = op, id = p.id },
       { provider = provider, op = op, id = p.id, what = what }, line)
end

-- summary() -> {create =, change =, delete =, existing =, items = {...}}
function M.summary()
  local s = { create = 0, change = 0, delete = 0, existing = existing, items = items }
  for _, it in ipairs(items) do s[it.kind] = s[it.kind] + 1 end
  return s
end

-- report(): the summary line (or event), once per plan.
function M.report()
  local s = M.summary()
  if M.reported then return s end
  M.reported = true
  emit({ event = "plan_summary", create = s.create, change = s.change, delete = s.delete, existing = s.existing },
       ("%d to create, %d to change, %d to delete, %d already as wanted"):format(s.create, s.change, s.delete,
         s.existing))
  return s
end

-- start() / stop(): a fresh plan, on; off.
function M.start()
  items, existing, M.on, M.count, M.reported = {}, 0, true, 0, false
  planned, planned_peerings, by_id = {}, {}, {}
end

-- start_cli(): `peerlua --dry-run`: a plan for the whole run, whose summary
-- shows even when the script ends with os.exit.
function M.start_cli()
  M.start()
  local exit = os.exit
  os.exit = function(...) -- luacheck: ignore 122
    if M.on then M.report() end
    return exit(...)
  end
end

function M.stop()
  M.on = false
end

return M
