-- peerlua.sim.state: the emulator's state written to a file and read back
-- (peerlua --emulator --state FILE), so a long rehearsal survives a restart.
--
-- A provider's state is a graph of plain tables: a peering is in a map by
-- id and in a list in creation order, and holds the fixture's cluster or
-- account it belongs to. It is written as JSON with each table once:
--   {"$id": N, "$kv": [[key, value], ...]}   a table (keys of any type)
--   {"$ref": N}                              a table written before
--   {"$fixture": [k1, k2, ...]}              a table of the fixture, by its path
--   {"$int": "N"}, {"$null": true}           an integer, JSON's null
-- so shared tables stay shared, the fixture's own tables are the loaded
-- fixture's again, and integers stay integers.
local json = require("peerlua.json")

local M = {}

M.VERSION = 1

-- every table of the fixture -> its path from the root (a list of keys)
local function fixture_paths(fixture)
  local paths = {}
  local function walk(t, path)
    if paths[t] then return end
    paths[t] = path
    for k, v in pairs(t) do
      if type(v) == "table" then
        local p = table.move(path, 1, #path, 1, {})
        p[#p + 1] = k
        walk(v, p)
      end
    end
  end
  walk(fixture, {})
  return paths
end

-- encode(value, fixture) -> a JSON-able value; raises on a function or userdata
function M.encode(value, fixture)
  local paths, ids, n = fixture_paths(fixture), {}, 0
  local function enc(v)
    local t = type(v)
    if t == "string" or t == "boolean" then return v end
    if t == "number" then return math.type(v) == "integer" and { ["$int"] = tostring(v) } or v end
    if v == json.null then return { ["$null"] = true } end
    if t ~= "table" then error("cannot save a " .. t .. " in the emulator's state", 0) end
    if paths[v] then return { ["$fixture"] = json.array(paths[v]) } end
    if ids[v] then return { ["$ref"] = ids[v] } end
    n = n + 1
    local id = n
    ids[v] = id
    local kv = json.array()
    for k, x in pairs(v) do kv[#kv + 1] = json.array({ enc(k), enc(x) }) end
    return { ["$id"] = id, ["$kv"] = kv }
  end
  return enc(value)
end

-- decode(encoded, fixture) -> value | nil, message
function M.decode(value, fixture)
  local tables = {}
  local function dec(v)
    if type(v) ~= "table" then return v end
    if v["$int"] then return math.tointeger(tonumber(v["$int"])) or error("bad integer " .. tostring(v["$int"]), 0) end
    if v["$null"] then return json.null end
    if v["$ref"] then return tables[v["$ref"]] or error("a reference to table " .. tostring(v["$ref"]) .. " before it", 0) end
    if v["$fixture"] then
      local t = fixture
      for _, k in ipairs(v["$fixture"]) do
        t = type(t) == "table" and t[dec(k)] or nil
      end
      if type(t) ~= "table" then
        error("it names a part of the fixture that this fixture does not have: it was saved with another one", 0)
      end
      return t
    end
    if type(v["$kv"]) ~= "table" then error("not an emulator state file", 0) end
    local t = {}
    tables[v["$id"]] = t
    for _, pair in ipairs(v["$kv"]) do
      local k = dec(pair[1])
      if k == nil then error("a table key is missing", 0) end
      t[k] = dec(pair[2])
    end
    return t
  end
  local ok, r = pcall(dec, value)
  if not ok then return nil, r end
  return r
end

-- save(path, snapshot, fixture) -> true | nil, message: written whole or not at all
function M.save(path, snapshot, fixture)
  -- the fixture it goes with, whole: one that differs in a single id (a
  -- network's UUID) would still resolve every path, and the state name
  -- what is no longer there
  snapshot.fixture_text = json.encode_sorted(fixture)
  local ok, encoded = pcall(M.encode, snapshot, fixture)
  if not ok then return nil, encoded end
  local text = assert(json.encode(encoded))
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then return nil, err end
  f:write(text)
  f:close()
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then return nil, rerr end
  return true
end

-- load(path, fixture) -> snapshot | nil (no file, or an empty one: no
-- state yet, as a file mktemp made) | nil, message
function M.load(path, fixture)
  local f = io.open(path)
  if not f then return nil end
  local text, rerr = f:read("a")
  f:close()
  if not text then return nil, "cannot read it: " .. tostring(rerr) end
  if text:match("^%s*$") then return nil end
  local v, jerr = json.decode(text)
  if type(v) ~= "table" then return nil, "not JSON: " .. tostring(jerr) end
  local snapshot, err = M.decode(v, fixture)
  if not snapshot then return nil, err end
  if type(snapshot) ~= "table" or snapshot.version ~= M.VERSION or type(snapshot.providers) ~= "table" then
    return nil, "not an emulator state file of version " .. M.VERSION
  end
  if snapshot.fixture_text ~= nil and snapshot.fixture_text ~= json.encode_sorted(fixture) then
    return nil, "it was saved with another fixture (its accounts or resources differ from this one's): start with "
      .. "that fixture, or give another state file"
  end
  return snapshot
end

return M
