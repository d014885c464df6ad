-- peerlua.sim.router: the emulator's request router.
--
--   local r = router.new{not_found = fn, method_not_allowed = fn}
--   r:add("GET", "/provisioning/v1/vpc-peering/{cdcId}/{id}", fn)
--   r:add({"GET", "HEAD"}, "/x", fn)        -- several methods; "*" is any
--   r:mount("/instaclustr", sub, {provider = "instaclustr"})
--   local resp = r:dispatch(req)
--
-- A handler is fn(req, params) with params the captured path segments
-- ({cdcId = "...", id = "..."}); it returns a response table
-- {status =, headers =, body =, delay =, action =} (see peerlua.sim).
-- dispatch() also sets req.params, req.route (the matched pattern, prefixed
-- by its mount points) and req.provider (from the mount options).
--
-- Patterns of a mounted router are relative to its prefix, so a provider
-- file can be mounted anywhere. Each router has its own 404 and 405
-- handlers, so a provider answers unknown paths with its own error shape.
-- A HEAD request falls back to the GET route (the server drops the body).
local M = {}

local Router = {}
Router.__index = Router

local smatch, sfind, ssub, sgsub = string.match, string.find, string.sub, string.gsub
local concat, sort = table.concat, table.sort

local function default_not_found()
  return {
    status = 404,
    headers = { ["Content-Type"] = "application/json" },
    body = '{"error":"not found"}',
  }
end

local function default_method_not_allowed(_, allowed)
  return {
    status = 405,
    headers = { ["Content-Type"] = "application/json", Allow = concat(allowed, ", ") },
    body = '{"error":"method not allowed"}',
  }
end

-- new([opts]) -> router; opts.not_found(req) and
-- opts.method_not_allowed(req, allowed_methods) build the fallback responses.
function M.new(opts)
  opts = opts or {}
  return setmetatable({
    static = {},   -- path -> entry
    buckets = {},  -- first literal segment -> list of entries with captures
    wild = {},     -- entries whose first segment is a capture
    by_pattern = {}, -- pattern -> entry
    mounts = {},   -- first segment -> list of mounts, longest prefix first
    not_found = opts.not_found or default_not_found,
    method_not_allowed = opts.method_not_allowed or default_method_not_allowed,
  }, Router)
end

-- Split "/a/{x}/b" into a Lua pattern and the capture names.
-- Returns pattern (nil for a static path), names, first segment or nil.
local function compile(pattern)
  if ssub(pattern, 1, 1) ~= "/" then
    error("route pattern must start with '/': " .. pattern, 3)
  end
  local names, parts = {}, {}
  local first
  local i = 0
  for seg in string.gmatch(ssub(pattern, 2), "([^/]*)") do
    i = i + 1
    local name = smatch(seg, "^{([%w_]+)}$")
    if name then
      names[#names + 1] = name
      parts[#parts + 1] = "([^/]+)"
    elseif sfind(seg, "[{}]") then
      error("bad route segment '" .. seg .. "' in " .. pattern, 3)
    else
      if i == 1 then first = seg end
      parts[#parts + 1] = (sgsub(seg, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
    end
  end
  if #names == 0 then return nil, names, first end
  return "^/" .. concat(parts, "/") .. "$", names, first
end

-- r:add(method | {methods}, pattern, fn) -> r
function Router:add(method, pattern, fn)
  if type(fn) ~= "function" then error("route handler must be a function", 2) end
  local entry = self.by_pattern[pattern]
  if not entry then
    local lpat, names, first = compile(pattern)
    entry = { pattern = pattern, lpat = lpat, names = names, methods = {}, allowed = {} }
    self.by_pattern[pattern] = entry
    if not lpat then
      self.static[pattern] = entry
    elseif first then
      local b = self.buckets[first]
      if not b then b = {}; self.buckets[first] = b end
      b[#b + 1] = entry
    else
      self.wild[#self.wild + 1] = entry
    end
  end
  local methods = type(method) == "table" and method or { method }
  for _, m in ipairs(methods) do
    m = string.upper(m)
    if entry.methods[m] == nil then entry.allowed[#entry.allowed + 1] = m end
    entry.methods[m] = fn
  end
  return self
end

-- r:mount(prefix, sub[, opts]) -> r: requests under prefix ("/upcloud") go
-- to router sub with the prefix removed; opts.provider names the provider
-- for the request log.
function Router:mount(prefix, sub, opts)
  local first = smatch(prefix, "^/([^/]+)")
  if not first or ssub(prefix, -1) == "/" then
    error("mount prefix must look like '/name': " .. tostring(prefix), 2)
  end
  local list = self.mounts[first]
  if not list then list = {}; self.mounts[first] = list end
  list[#list + 1] = { prefix = prefix, len = #prefix, router = sub, provider = opts and opts.provider }
  sort(list, function(a, b) return a.len > b.len end)
  return self
end

-- r:set_not_found(fn), r:set_method_not_allowed(fn): override the fallbacks.
function Router:set_not_found(fn) self.not_found = fn; return self end
function Router:set_method_not_allowed(fn) self.method_not_allowed = fn; return self end

local function pick(entry, method)
  local m = entry.methods
  return m[method] or (method == "HEAD" and m.GET) or m["*"]
end

local function collect(allowed, entry)
  for _, m in ipairs(entry.allowed) do allowed[#allowed + 1] = m end
  return allowed
end

-- Try the capture routes of list against path; returns fn, params, entry,
-- or nil and the methods allowed for path (appended to allowed).
local function scan(list, method, path, allowed)
  if not list then return nil, allowed end
  for i = 1, #list do
    local e = list[i]
    local caps = { smatch(path, e.lpat) }
    if caps[1] then
      local fn = pick(e, method)
      if fn then
        local params = {}
        for k, name in ipairs(e.names) do params[name] = caps[k] end
        return fn, params, e
      end
      allowed = collect(allowed or {}, e)
    end
  end
  return nil, allowed
end

-- r:match(method, path) -> fn, params, entry | nil, allowed (nil: no route
-- at all, a list: the path exists but not for this method). Mounts are not
-- followed: use dispatch.
function Router:match(method, path)
  local allowed
  local e = self.static[path]
  if e then
    local fn = pick(e, method)
    if fn then return fn, {}, e end
    allowed = collect({}, e)
  end
  local first = smatch(path, "^/([^/]*)")
  local fn, params, entry
  fn, params, entry = scan(first and self.buckets[first], method, path, allowed)
  if fn then return fn, params, entry end
  allowed = params
  fn, params, entry = scan(self.wild, method, path, allowed)
  if fn then return fn, params, entry end
  return nil, params
end

-- r:dispatch(req[, path]) -> the handler's results. path defaults to
-- req.path; mounted routers see the path below their prefix.
function Router:dispatch(req, path)
  path = path or req.path
  local first = smatch(path, "^/([^/]*)")
  local mounts = first and self.mounts[first]
  if mounts then
    for i = 1, #mounts do
      local m = mounts[i]
      local c = ssub(path, m.len + 1, m.len + 1)
      if (c == "" or c == "/") and ssub(path, 1, m.len) == m.prefix then
        req.mount = (req.mount or "") .. m.prefix
        if m.provider then req.provider = m.provider end
        local rest = ssub(path, m.len + 1)
        return m.router:dispatch(req, rest == "" and "/" or rest)
      end
    end
  end
  local fn, params, entry = self:match(req.method, path)
  if fn then
    req.params = params
    req.route = (req.mount or "") .. entry.pattern
    return fn(req, params)
  end
  if params then
    sort(params)
    return self.method_not_allowed(req, params)
  end
  return self.not_found(req)
end

return M
