-- peerlua.progress: what waiting peerings show. Every state change of a
-- peering being waited on becomes an event:
--   --json[=FILE]   one JSON object per event on stdout, or appended to FILE
--   --quiet         nothing
--   a terminal      a live line per waiting peering (name, state, elapsed),
--                   redrawn in place on stderr, its time ticking each second
--   otherwise       one log line per state change on stderr, and one every
--                   options.progress_interval seconds (30) while none comes
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local json = require("peerlua.json")

local M = {}

M.mode = nil      -- "json" | "quiet" | "tty" | "log"; decided on first use
M.out = io.stderr
M.isatty = nil    -- set by peerlua: isatty(fd) -> boolean
M.rows = nil      -- set by peerlua: rows(fd) -> the terminal's height, or nil

local lines = {}  -- tty mode: key -> index, in order of first appearance
local keys = {}   -- index -> key
local shown = {}  -- index -> text
local drawn = 0   -- lines currently on screen
local last = {}   -- key -> the state last reported
local waiting = {} -- key -> {p =, started =, said =}: waits under way
local ticker      -- the task that ticks while anything waits

local NAME_WIDTH = 40
local function name_of(p)
  local raw = type(p.raw) == "table" and p.raw or {}
  local name = tostring(raw.name or p.id or "?")
  if #name > NAME_WIDTH then -- a long id (Aiven's account/vpc) keeps its ends and the columns
    name = name:sub(1, NAME_WIDTH // 2 - 2) .. "..." .. name:sub(-(NAME_WIDTH - NAME_WIDTH // 2 - 1))
  end
  return name
end

local function key_of(p) return (p.provider or "") .. ":" .. tostring(p.id) end

local function line_of(p, elapsed)
  return string.format("%-12s %-" .. NAME_WIDTH .. "s %-20s %6.1fs", p.provider or "", name_of(p), p.state, elapsed)
end

-- Where JSON events go: stdout, or the --json=FILE file (the host made it
-- empty at start; opened for appending on the first event).
local json_file
function M.json_out(where)
  if type(where) ~= "string" then return io.stdout end
  if not json_file then json_file = assert(io.open(where, "a")) end
  return json_file
end

local function decide(options)
  if options.json then return "json" end
  if options.quiet then return "quiet" end
  if M.isatty and M.isatty(2) then return "tty" end
  return "log"
end

-- The lines to draw: every one while they fit the terminal; else (a cursor
-- that moves up cannot go above the screen's top, and each redraw would
-- repeat the lines into the scrollback) the waiting ones that fit and a
-- line that counts the rest.
local function visible()
  local rows = M.rows and M.rows(2)
  local limit = rows and rows - 2 -- room for the count and the cursor's line
  if not limit or #shown <= limit + 1 then return shown end
  if limit < 1 then limit = 1 end
  local out, waits, done = {}, 0, 0
  for i = 1, #shown do
    local w = waiting[keys[i]] ~= nil
    if w and #out < limit then
      out[#out + 1] = shown[i]
    elseif w then
      waits = waits + 1
    else
      done = done + 1
    end
  end
  out[#out + 1] = string.format("... and %d more: %d waiting, %d done", waits + done, waits, done)
  return out
end

local function redraw()
  local out, show = M.out, visible()
  if drawn > 0 then out:write(string.format("\27[%dA", drawn)) end
  for i = 1, #show do out:write("\r\27[K", show[i], "\n") end
  for _ = #show + 1, drawn do out:write("\r\27[K\n") end -- fewer than last time: clear the rest
  if drawn > #show then out:write(string.format("\27[%dA", drawn - #show)) end
  drawn = #show
  out:flush()
end

-- event(p, elapsed[, options[, timed_out]]): a peering's state changed;
-- or, with timed_out (the state waited for), its wait ran out of time,
-- which is said even when a script does not look at the wait's error.
function M.event(p, elapsed, options, timed_out)
  options = options or {}
  M.mode = M.mode or decide(options)
  if M.mode == "quiet" then return end
  -- a second wait on the same peering does not repeat the state it is in
  local key = key_of(p)
  if M.mode ~= "json" and not timed_out then M.watch(key, p, elapsed, options) end
  if last[key] == p.state and not timed_out then return end
  last[key] = p.state
  local name = name_of(p)
  if M.mode == "json" then
    -- Keys in a fixed order, so lines diff and grep the same on every run.
    local fields = {
      { "event", timed_out and "timeout" or "state" }, { "provider", p.provider }, { "id", p.id }, { "name", name },
      { "state", p.state }, { "status", p.status },
      { "elapsed", math.floor(elapsed * 1000 + 0.5) / 1000 }, { "waiting_for", timed_out },
    }
    local parts = {}
    for _, kv in ipairs(fields) do
      if kv[2] ~= nil then parts[#parts + 1] = json.encode_sorted(kv[1]) .. ":" .. json.encode_sorted(kv[2]) end
    end
    local out = M.json_out(options.json)
    out:write("{", table.concat(parts, ","), "}\n")
    out:flush()
    return
  end
  local text = line_of(p, elapsed) .. (timed_out and "  timed out waiting for " .. timed_out or "")
  if M.mode == "log" then
    M.out:write("peerlua: ", text, "\n")
    M.out:flush()
    return
  end
  if not lines[key] then
    lines[key] = #shown + 1
    keys[#shown + 1] = key
  end
  shown[lines[key]] = text
  redraw()
end

-- One tick: on a terminal, every waiting line with its time now; in a log,
-- a line for each wait that has said nothing for the interval.
local function tick(interval)
  local now = core.now()
  for key, w in pairs(waiting) do
    if M.mode == "tty" and lines[key] then
      shown[lines[key]] = line_of(w.p, now - w.started)
    elseif M.mode == "log" and now - w.said >= interval then
      w.said = now
      M.out:write("peerlua: ", line_of(w.p, now - w.started), "\n")
    end
  end
  if M.mode == "tty" then redraw() else M.out:flush() end
end

-- watch(key, p, elapsed, options): p is being waited on; keep its line alive.
function M.watch(key, p, elapsed, options)
  local now = core.now()
  local w = waiting[key]
  if not w then
    w = { started = now - elapsed }
    waiting[key] = w
  end
  w.p, w.said = p, now
  if ticker then return end
  local interval = M.mode == "tty" and 1 or (options.progress_interval or 30)
  ticker = core.spawn(function()
    while next(waiting) do
      core.sleep(math.min(interval, 1))
      tick(interval)
    end
  end)
end

-- finish(p): a wait on p ended. When the last one ends, the ticking stops
-- and a terminal's lines are left as they are: the next wait starts new
-- lines below them (in the REPL, below the prompt) instead of redrawing
-- over what was printed since.
function M.finish(p)
  waiting[key_of(p)] = nil
  if next(waiting) then return end
  if ticker then ticker:cancel() end
  ticker = nil
  lines, keys, shown, drawn = {}, {}, {}, 0
end

-- reset(): forget the lines (for tests and between runs).
function M.reset()
  if ticker then ticker:cancel() end
  lines, keys, shown, drawn, last, waiting, ticker, M.mode = {}, {}, {}, 0, {}, {}, nil, nil
end

return M
