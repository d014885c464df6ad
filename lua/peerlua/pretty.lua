-- peerlua.pretty(v[, opts]) -> string: a readable rendering of any value,
-- used by the REPL for results. Keys are sorted (numbers, then strings,
-- then the rest), a table met again on the current path prints as
-- <cycle>, nesting deeper than opts.depth (default 4) prints as {...},
-- and a table that does not fit opts.width columns (default 80) is
-- written one field per line. Values with a __tostring metamethod print
-- through it; JSON null prints as null.
local core = select(3, ...) -- the C primitives (core/binding/lua_peerlua.c)

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[w] = true
end

local TYPE_ORDER = { number = 1, string = 2 }

local function key_before(a, b)
  local ta, tb = TYPE_ORDER[type(a)] or 3, TYPE_ORDER[type(b)] or 3
  if ta ~= tb then return ta < tb end
  if ta < 3 then return a < b end
  return tostring(a) < tostring(b)
end

local function quote(s)
  return (("%q"):format(s):gsub("\\\n", "\\n"))
end

local null

local function scalar(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if v == null then return "null" end
  local mt = core and core.metatable_of(v) or getmetatable(v) -- the real one: a peering's is locked
  if t ~= "table" or (type(mt) == "table" and mt.__tostring) then return tostring(v) end
  return nil
end

local function render(v, opts, level, indent, seen)
  local s = scalar(v)
  if s then return s end
  if seen[v] then return "<cycle>" end
  if level > opts.depth then return "{...}" end
  if next(v) == nil then return "{}" end
  seen[v] = true
  local n = #v
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_before)
  local inner = indent .. "  "
  local items = {}
  for i = 1, n do items[#items + 1] = render(v[i], opts, level + 1, inner, seen) end
  for _, k in ipairs(keys) do
    local name
    if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then name = k
    else name = "[" .. (scalar(k) or tostring(k)) .. "]" end
    items[#items + 1] = name .. " = " .. render(v[k], opts, level + 1, inner, seen)
  end
  seen[v] = nil
  local flat = "{ " .. table.concat(items, ", ") .. " }"
  if #indent + #flat <= opts.width and not flat:find("\n", 1, true) then return flat end
  return "{\n" .. inner .. table.concat(items, ",\n" .. inner) .. ",\n" .. indent .. "}"
end

return function(v, opts)
  null = null or require("peerlua.json").null
  opts = opts or {}
  return render(v, { depth = opts.depth or 4, width = opts.width or 80 }, 1, "", {})
end
