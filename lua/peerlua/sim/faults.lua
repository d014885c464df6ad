-- peerlua.sim.faults: fault injection for the provider routes.
--
-- A spec is a list of groups separated by ';'. A group is an optional path
-- pattern and '=', then faults separated by ',', each KIND:PROBABILITY:
--
--   429:0.05,500:0.05,504:0.02,reset:0.02,slow=2s:0.01,truncate:0.01
--   /instaclustr/*=429:0.2;*=500:0.05
--   POST /instaclustr/*=500after:0.5
--
-- "none" (or an empty spec) injects nothing. A pattern may start with a
-- method (POST /x/*); the path part starts with '/' or is '*'; '*' matches any run of characters; a
-- group without one applies to every provider route. Kinds:
--   NNN        answer status NNN (400..599) in the provider's own error
--              shape, before the handler: the request has no effect
--              (429 and 503 carry Retry-After: 1)
--   NNNafter   the handler runs (the change happens), then the answer is
--              replaced by status NNN: what makes clients reconcile
--   reset      the connection is reset before the handler runs
--   resetafter the handler runs, then the connection is reset
--   truncate   the handler runs; half the body is sent, then the connection closes
--   slow=D     the handler runs; the answer waits D (2s, 500ms) longer
-- For each request the groups whose pattern matches are tried in order and
-- each fault draws from the app's generator (deterministic under --seed);
-- the first that hits applies. Routes under /_sim and /_test are never hit.
local M = {}

local function glob(pattern)
  return "^" .. pattern:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
end

local function duration(s)
  local n, unit = s:match("^(%d+%.?%d*)(m?s)$")
  n = tonumber(n)
  if not n then return nil end
  return unit == "ms" and n / 1000 or n
end

-- parse one KIND:PROB; returns fault or nil, message
local function parse_fault(text)
  local kind, given = text:match("^%s*(.-):([^:]*)$")
  if not kind then
    return nil, "'" .. text .. "': a fault is KIND:PROBABILITY (500:0.05, reset:0.02, slow=2s:0.01)"
  end
  local prob = given:match("^[%d%.]+%s*$") and tonumber(given)
  if not prob or prob < 0 or prob > 1 then
    return nil, "'" .. text .. "': the probability '" .. given .. "' must be a number from 0 to 1"
  end
  local f = { p = prob, text = text }
  local status, after = kind:match("^(%d%d%d)(a?f?t?e?r?)$")
  if status and (after == "" or after == "after") then
    f.status = tonumber(status)
    f.after = after == "after"
    if f.status < 400 or f.status > 599 then return nil, "'" .. text .. "': the status must be 400..599" end
  elseif kind == "reset" or kind == "resetafter" then
    f.reset, f.after = true, kind == "resetafter"
  elseif kind == "truncate" then
    f.truncate, f.after = true, true
  elseif kind:match("^slow=") then
    f.slow = duration(kind:sub(6))
    if not f.slow then return nil, "'" .. text .. "': slow takes a duration such as 2s or 500ms" end
    f.after = true
  else
    return nil, "'" .. text .. "': unknown fault kind '" .. kind .. "' (NNN, NNNafter, reset, resetafter, truncate, slow=D)"
  end
  return f
end

-- parse(spec) -> list of {pattern =, faults = {...}} | nil, message
function M.parse(spec)
  local groups = {}
  if spec == nil then return groups end
  if type(spec) ~= "string" then return nil, "fault spec must be a string" end
  if spec:match("^%s*$") or spec == "none" then return groups end
  for part in (spec .. ";"):gmatch("([^;]*);") do
    if not part:match("^%s*$") then
      local pattern, list = nil, part
      local trimmed = part:match("^%s*(.-)%s*$")
      local method = trimmed:match("^(%u+)%s+[/*]")
      if method then trimmed = trimmed:match("^%u+%s+(.*)$") end
      if method or trimmed:sub(1, 1) == "/" or trimmed:sub(1, 1) == "*" then
        pattern, list = trimmed:match("^([^=]+)=(.*)$")
        if not pattern then return nil, "'" .. trimmed .. "': a pattern needs '=' and faults after it" end
      end
      local g = { pattern = pattern and glob(pattern) or nil, method = method,
                  source = (method and method .. " " or "") .. (pattern or "*"), faults = {} }
      for item in (list .. ","):gmatch("([^,]*),") do
        if not item:match("^%s*$") then
          local f, err = parse_fault(item)
          if not f then return nil, "bad fault spec: " .. err end
          g.faults[#g.faults + 1] = f
        end
      end
      if #g.faults == 0 then return nil, "bad fault spec: '" .. part .. "' has no faults" end
      groups[#groups + 1] = g
    end
  end
  return groups
end

-- pick(groups, method, path, random) -> the fault that hits this request, or nil
function M.pick(groups, method, path, random)
  for _, g in ipairs(groups) do
    if (not g.pattern or path:match(g.pattern)) and (not g.method or g.method == method) then
      for _, f in ipairs(g.faults) do
        if random() < f.p then return f end
      end
    end
  end
  return nil
end

return M
