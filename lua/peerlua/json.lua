-- peerlua.json: JSON on lua-cjson, through a private cjson.new() instance so
-- the user's own cjson settings are never touched.
local core = select(3, ...) -- the C primitives (core/binding/lua_peerlua.c)
local found, lib = pcall(require, "cjson")
if not found then -- most often a LUA_CPATH that leaves out the default path
  error("peerlua needs lua-cjson (Debian: apt-get install lua-cjson), and require \"cjson\" did not find it; "
    .. "if LUA_CPATH is set, end it with ';;' to keep the default search path:\n" .. tostring(lib), 0)
end
local cjson = lib.new()

cjson.encode_sparse_array(true)      -- {[1]=1,[3]=3} encodes as an array with nulls
cjson.decode_invalid_numbers(false)  -- NaN/Infinity are not JSON
cjson.encode_invalid_numbers(false)

local M = {}

M.null = cjson.null

-- Tables marked with array(t) encode as JSON arrays even when empty.
local array_mt = { __name = "peerlua.json.array" }

function M.array(t)
  return setmetatable(t or {}, array_mt)
end

function M.is_array(t)
  return getmetatable(t) == array_mt
end

-- An empty marked array is replaced by a unique placeholder string which is
-- then turned into [] in the encoded text.
local EMPTY = "\0peerlua_empty_array\0"
local EMPTY_JSON = '"\\u0000peerlua_empty_array\\u0000"'

-- Copy v replacing empty marked arrays; returns v itself when there are none.
local function mark_empty(v, seen)
  if type(v) ~= "table" then return v, false end
  if getmetatable(v) == array_mt and next(v) == nil then return EMPTY, true end
  if seen[v] then return v, false end
  seen[v] = true
  local copy, changed = nil, false
  for k, x in pairs(v) do
    local y, c = mark_empty(x, seen)
    if c then
      copy = copy or {}
      copy[k] = y
      changed = true
    end
  end
  seen[v] = nil
  if not changed then return v, false end
  for k, x in pairs(v) do
    if copy[k] == nil then copy[k] = x end
  end
  return copy, true
end

-- Does the table v hold a table (where an empty marked array may be)?
local function nested(v)
  for _, x in next, v do
    if type(x) == "table" then return true end
  end
  return false
end

-- encode(v) -> string | nil, err
function M.encode(v)
  local marked, changed = v, false
  if type(v) == "table" and (getmetatable(v) == array_mt or nested(v)) then marked, changed = mark_empty(v, {}) end
  local ok, s = pcall(cjson.encode, marked)
  if not ok then return nil, s end
  if changed then s = s:gsub(EMPTY_JSON, "[]", nil) end
  return s
end

-- encode_sorted(v) -> string | nil, err: as encode, with each object's
-- keys in sorted order and "/" left as it is (cjson writes "\/"), for text
-- people read and compare (a dry run's plan, --json events). A table is an
-- array when its keys are 1..n (or it is marked), else an object.
local function write_sorted(v, out, seen)
  if type(v) == "string" then
    out[#out + 1] = (cjson.encode(v):gsub("\\/", "/"))
    return
  end
  if type(v) ~= "table" then
    out[#out + 1] = cjson.encode(v) -- numbers, booleans, null; anything else raises
    return
  end
  if seen[v] then error("cannot encode a table that contains itself", 0) end
  seen[v] = true
  local n, keys = #v, {}
  for k in pairs(v) do keys[#keys + 1] = k end
  if (n > 0 and #keys == n) or (getmetatable(v) == array_mt and #keys == n) then
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      write_sorted(v[i], out, seen)
    end
    out[#out + 1] = "]"
  else
    for i, k in ipairs(keys) do
      if type(k) ~= "string" and type(k) ~= "number" then error("cannot encode a " .. type(k) .. " key", 0) end
      keys[i] = tostring(k)
    end
    table.sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      write_sorted(k, out, seen)
      out[#out + 1] = ":"
      local x = v[k]
      if x == nil then x = v[tonumber(k)] end
      write_sorted(x, out, seen)
    end
    out[#out + 1] = "}"
  end
  seen[v] = nil
end

function M.encode_sorted(v)
  local out = {}
  local ok, err = pcall(write_sorted, v, out, {})
  if not ok then return nil, err end
  return table.concat(out)
end

-- lua-cjson decodes every number as a float; whole numbers that a double
-- holds exactly become integers (1, not 1.0), as a Lua user expects.
local tointeger, mtype = math.tointeger, math.type
local EXACT = 2 ^ 53

-- The walk is C (core/binding/lua_peerlua.c); this file loaded from
-- LUA_PATH by a plain Lua (the emulator's Lua tests under busted) walks in Lua.
local integers = core and core.json_integers
if not integers then
  function integers(v)
    for k, x in pairs(v) do
      if type(x) == "table" then
        integers(x)
      elseif mtype(x) == "float" and x > -EXACT and x < EXACT then
        v[k] = tointeger(x) or x
      end
    end
  end
end

-- decode(s) -> value | nil, err
function M.decode(s)
  if type(s) ~= "string" then return nil, "JSON text must be a string, got " .. type(s) end
  local ok, v = pcall(cjson.decode, s)
  if not ok then return nil, v end
  if type(v) == "table" then
    integers(v)
  elseif mtype(v) == "float" and v > -EXACT and v < EXACT then
    v = tointeger(v) or v
  end
  return v
end

-- The functions as loaded, for peerlua's own modules: a script replacing
-- peerlua.json.decode changes its own calls, not what every client decodes
-- or sends. (The emulator's state loads this file with a core of its own.)
if type(core) == "table" then
  core.json = { encode = M.encode, encode_sorted = M.encode_sorted, decode = M.decode, array = M.array, null = M.null }
end

return M
