-- peerlua.credentials: where a client's credentials come from, in order:
--   1. the options given to the constructor;
--   2. the environment variables the provider's own tools use;
--   3. the profile file ~/.config/peerlua/credentials (or
--      $PEERLUA_CREDENTIALS), section [profile] (opts.profile,
--      $PEERLUA_PROFILE or "default"), keys "<provider>.<field> = value";
--      refused when group- or world-readable;
-- Under --sim, a client given no credentials in its options uses the
-- emulator fixture's first account of the provider instead of 2 and 3, so
-- real credentials in the environment are never sent to the emulator.
local M = {}
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)

-- [section] -> {key = value}; "#" and ";" start comments, on a line of
-- their own or after a section's name (not after a value: a secret may
-- hold either).
local function parse_ini(text)
  local sections, current = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" and not line:match("^[#;]") then
      local name = line:match("^%[%s*(.-)%s*%]$") or line:match("^%[%s*(.-)%s*%]%s*[#;]")
      if name then
        current = sections[name] or {}
        sections[name] = current
      else
        local k, v = line:match("^([%w_.%-]+)%s*=%s*(.-)$")
        if not k or not current then return nil, "line " .. n .. ": expected [profile] or key = value" end
        current[k] = v
      end
    end
  end
  return sections
end
M.parse_ini = parse_ini

-- profile_path() -> path of the profile file
function M.profile_path()
  local p = os.getenv("PEERLUA_CREDENTIALS")
  if p and p ~= "" then return p end
  local home = os.getenv("HOME") or ""
  return home .. "/.config/peerlua/credentials"
end

-- load_profile(name, read_private) -> {key = value} ({} when there is no
-- file or section), what was read ("[name] in PATH", ...) | nil, err
-- read_private(path) -> text | nil | nil, why (the C core: a regular file
-- readable by its owner only, never blocking on a FIFO).
function M.load_profile(name, read_private)
  local path = M.profile_path()
  local text, err = read_private(path)
  if not text then
    if err then return nil, "profile file " .. err end
    return {}, "no file " .. path
  end
  local sections, perr = parse_ini(text)
  if not sections then return nil, "profile file " .. path .. ": " .. perr end
  if not sections[name] then return {}, path .. " has no [" .. name .. "]" end
  return sections[name], "[" .. name .. "] in " .. path
end

-- spec.where[field]: where each credential field was found, for messages
local function from_env(spec, creds, fields)
  for _, f in ipairs(fields) do
    if creds[f] == nil then
      for _, var in ipairs(spec.env[f] or {}) do
        local v = os.getenv(var)
        if v and v ~= "" then
          creds[f] = v
          spec.where[f] = "$" .. var
          break
        end
      end
    end
  end
end

-- A key of this provider that names no field it reads: a typo
-- (upcloud.tokn) would otherwise be ignored without a word.
local function unknown_key(spec, profile)
  local known = {}
  for _, f in ipairs(spec.fields) do known[spec.provider .. "." .. f] = true end
  for _, f in ipairs(spec.settings or {}) do known[spec.provider .. "." .. f] = true end
  local prefix = spec.provider .. "."
  for k in pairs(profile) do
    if k:sub(1, #prefix) == prefix and not known[k] then
      local names = {}
      for name in pairs(known) do names[#names + 1] = name end
      table.sort(names)
      local near = core.nearest(k, names)
      return string.format("profile [%s] of %s: unknown key %s (%s%s reads %s)", spec.profile, M.profile_path(), k,
                           near and "did you mean " .. near .. "? " or "", spec.provider, table.concat(names, ", "))
    end
  end
end

local function from_profile(spec, creds, fields)
  local profile, read = M.load_profile(spec.profile, spec.read_private)
  if not profile then return nil, read end
  local bad = unknown_key(spec, profile)
  if bad then return nil, bad end
  spec.profile_read = read
  for _, f in ipairs(fields) do
    if creds[f] == nil then
      creds[f] = profile[spec.provider .. "." .. f]
      if creds[f] ~= nil then spec.where[f] = "profile [" .. spec.profile .. "]" end
    end
  end
  return true
end

-- What resolve found, for the message when it is not enough: the fields
-- and where each came from (a half-given pair names its missing half).
local function found_only(spec, creds)
  local found = {}
  for _, f in ipairs(spec.fields) do
    if creds[f] ~= nil then found[#found + 1] = f .. " (" .. (spec.where[f] or "options") .. ")" end
  end
  return #found > 0 and "; found only " .. table.concat(found, ", ") or ""
end

-- Settings (spec.settings: a region, say) are not secrets: once the
-- credentials are complete they still come from the environment or the
-- profile when the options do not give them. Not under the emulator.
local function settle(spec, creds, source)
  local missing = {}
  for _, f in ipairs(spec.settings or {}) do
    if creds[f] == nil then missing[#missing + 1] = f end
  end
  if #missing == 0 or source == "emulator" then return creds, source end
  from_env(spec, creds, missing)
  local left = {}
  for _, f in ipairs(missing) do
    if creds[f] == nil then left[#left + 1] = f end
  end
  if #left == 0 then return creds, source end
  local ok, err = from_profile(spec, creds, left)
  if not ok then return nil, err end
  return creds, source
end

-- resolve(spec) -> {field = value}, source | nil, err
-- spec = {provider=, fields = {names}, settings = {names}|nil, given = opts,
--         env = {field = {VAR, ...}}, profile = name, read_private = fn,
--         emulated = client of an emulator (then neither the environment nor
--         the profile is read), sim_account = table|nil, secrets = {names}|nil,
--         complete = fn(creds) -> true | nil, reason,
--         need = {names} | nil: the fields complete asks for, named when missing}
function M.resolve(spec)
  spec.where = {}
  local creds = {}
  for _, f in ipairs(spec.fields) do creds[f] = spec.given[f] end
  if spec.complete(creds) then return settle(spec, creds, "options") end
  -- the emulator's account fills what the options leave out, unless they
  -- give part of a secret (spec.secrets, default every field): half a pair
  -- is the same mistake under --sim as against the real API
  local partial = false
  for _, f in ipairs(spec.secrets or spec.fields) do partial = partial or creds[f] ~= nil end
  if spec.sim_account and not partial then
    local sim = {}
    for _, f in ipairs(spec.fields) do sim[f] = creds[f] or spec.sim_account[f] end
    if spec.complete(sim) then return settle(spec, sim, "emulator") end
  end
  if spec.emulated then -- a client of an emulator: no real secret is read to be sent there
    local _, why = spec.complete(creds)
    local missing = {}
    for _, f in ipairs(spec.need or {}) do
      if creds[f] == nil then missing[#missing + 1] = f end
    end
    -- the fields missing, else what the provider's own rule says to pass (common.hint)
    local rest = #missing > 0 and table.concat(missing, " and ") or why:match("^[^:]*: pass (.-), or set ")
      or "the rest"
    return nil, why:match("^[^:]*") .. found_only(spec, creds)
      .. "; under an emulator neither the environment nor the profile file is read: pass " .. rest .. ","
      .. " or no credentials for the emulator's account"
  end
  from_env(spec, creds, spec.fields)
  if spec.complete(creds) then return settle(spec, creds, "environment") end
  local ok, err = from_profile(spec, creds, spec.fields)
  if not ok then return nil, err end
  if spec.complete(creds) then return creds, "profile" end
  local _, why = spec.complete(creds)
  return nil, why .. found_only(spec, creds) .. "; profile: " .. spec.profile_read
end

return M
