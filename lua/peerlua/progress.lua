-- peerlua.progress: what waiting peerings show. Every state change of a
-- peering being waited on becomes an event:
--   --json[=FILE]   one JSON object per event on stdout, or appended to FILE
--   --quiet         nothing
--   a terminal      a live line per waiting peering (name, state, elapsed),
--                   redrawn in place on stderr
--   otherwise       one log line per state change on stderr
local json = require("peerlua.json")

local M = {}

M.mode = nil      -- "json" | "quiet" | "tty" | "log"; decided on first use
M.out = io.stderr
M.isatty = nil    -- set by peerlua: isatty(fd) -> boolean

local lines = {}  -- tty mode: key -> index, in order of first appearance
local shown = {}  -- index -> text
local drawn = 0   -- lines currently on screen
local last = {}   -- key -> the state last reported

local function name_of(p)
  local raw = type(p.raw) == "table" and p.raw or {}
  return raw.name or p.id or "?"
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

local function redraw()
  local out = M.out
  if drawn > 0 then out:write(string.format("\27[%dA", drawn)) end
  for i = 1, #shown do out:write("\r\27[K", shown[i], "\n") end
  drawn = #shown
  out:flush()
end

-- event(p, elapsed[, options]): a peering's state changed.
function M.event(p, elapsed, options)
  options = options or {}
  M.mode = M.mode or decide(options)
  if M.mode == "quiet" then return end
  -- a second wait on the same peering does not repeat the state it is in
  local key = (p.provider or "") .. ":" .. tostring(p.id)
  if last[key] == p.state then return end
  last[key] = p.state
  local name = name_of(p)
  if M.mode == "json" then
    -- Keys in a fixed order, so lines diff and grep the same on every run.
    local fields = {
      { "event", "state" }, { "provider", p.provider }, { "id", p.id }, { "name", name },
      { "state", p.state }, { "status", p.status },
      { "elapsed", math.floor(elapsed * 1000 + 0.5) / 1000 },
    }
    local parts = {}
    for _, kv in ipairs(fields) do
      if kv[2] ~= nil then parts[#parts + 1] = json.encode(kv[1]) .. ":" .. json.encode(kv[2]) end
    end
    local out = M.json_out(options.json)
    out:write("{", table.concat(parts, ","), "}\n")
    out:flush()
    return
  end
  local text = string.format("%-12s %-40s %-20s %6.1fs", p.provider or "", name, p.state, elapsed)
  if M.mode == "log" then
    M.out:write("peerlua: ", text, "\n")
    M.out:flush()
    return
  end
  if not lines[key] then
    lines[key] = #shown + 1
  end
  shown[lines[key]] = text
  redraw()
end

-- reset(): forget the lines (for tests and between runs).
function M.reset()
  lines, shown, drawn, last, M.mode = {}, {}, 0, {}, nil
end

return M
