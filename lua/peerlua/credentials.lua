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

-- [section] -> {key = value}; "#" and ";" start comments.
local function parse_ini(text)
  local sections, current = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" and not line:match("^[#;]") then
      local name = line:match("^%[%s*(.-)%s*%]$")
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

-- load_profile(name, file_mode) -> {key = value} | {} when there is no file | nil, err
-- file_mode(path) -> permission bits or nil (from the C core).
function M.load_profile(name, file_mode)
  local path = M.profile_path()
  local mode = file_mode(path)
  if not mode then return {} end
  if mode & 0x3f ~= 0 then -- 0077
    return nil, string.format("profile file %s is readable by group or others (mode %o); run: chmod 600 %s",
      path, mode & 0x1ff, path)
  end
  local f, ferr = io.open(path, "r")
  if not f then return nil, "cannot read profile file: " .. ferr end
  local text = f:read("a")
  f:close()
  local sections, perr = parse_ini(text)
  if not sections then return nil, "profile file " .. path .. ": " .. perr end
  return sections[name] or {}
end

-- resolve(spec) -> {field = value} | nil, err
-- spec = {provider=, fields = {names}, given = opts, env = {field = {VAR, ...}},
--         profile = name, file_mode = fn, sim_account = table|nil,
--         complete = fn(creds) -> true | nil, reason}
function M.resolve(spec)
  local creds = {}
  for _, f in ipairs(spec.fields) do creds[f] = spec.given[f] end
  if spec.complete(creds) then return creds, "options" end
  if spec.sim_account then
    local sim = {}
    for _, f in ipairs(spec.fields) do sim[f] = creds[f] or spec.sim_account[f] end
    if spec.complete(sim) then return sim, "emulator" end
  end
  for _, f in ipairs(spec.fields) do
    if creds[f] == nil then
      for _, var in ipairs(spec.env[f] or {}) do
        local v = os.getenv(var)
        if v and v ~= "" then
          creds[f] = v
          break
        end
      end
    end
  end
  if spec.complete(creds) then return creds, "environment" end
  local profile, err = M.load_profile(spec.profile, spec.file_mode)
  if not profile then return nil, err end
  for _, f in ipairs(spec.fields) do
    if creds[f] == nil then creds[f] = profile[spec.provider .. "." .. f] end
  end
  if spec.complete(creds) then return creds, "profile" end
  local _, why = spec.complete(creds)
  return nil, why
end

return M
