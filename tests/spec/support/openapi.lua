-- A small OpenAPI 3.0 checker for the specs: load a published spec (YAML,
-- through lyaml), find the operation of a request, and check a value
-- against a schema. It covers what the provider specs use: $ref, allOf,
-- oneOf/anyOf, type, nullable, properties, required, items, enum,
-- additionalProperties = false, readOnly (not required of a request) and
-- writeOnly (not required of a response). format and pattern are not
-- checked: their regular expressions are not Lua patterns.
--   local openapi = require("openapi")
--   local spec = openapi.load(path)
--   local op, template = spec:operation("POST", "/database/clusters/x/vpc-peerings")
--   local problems = spec:check_response(op, 201, body)   -- {} when it conforms
--   local problems = spec:check_request(op, body)
local lyaml = require("lyaml")

local M = {}
local Spec = {}
Spec.__index = Spec

function M.load(path)
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  local doc = lyaml.load(f:read("a"))
  f:close()
  assert(type(doc) == "table" and doc.paths, path .. ": not an OpenAPI document")
  return setmetatable({ doc = doc, path = path }, Spec)
end

-- resolve a local $ref ("#/components/schemas/X")
function Spec:deref(node)
  local seen = 0
  while type(node) == "table" and node["$ref"] do
    local ref = node["$ref"]
    assert(ref:sub(1, 2) == "#/", "only local references: " .. ref)
    node = self.doc
    for part in ref:sub(3):gmatch("[^/]+") do
      node = node[part:gsub("~1", "/"):gsub("~0", "~")]
      assert(node ~= nil, "dangling reference " .. ref)
    end
    seen = seen + 1
    assert(seen < 50, "reference loop at " .. ref)
  end
  return node
end

-- The operation for method and a concrete path (without the server's base
-- path): the one template whose fixed segments match.
function Spec:operation(method, path)
  local segs = {}
  for s in path:gsub("%?.*$", ""):gmatch("[^/]+") do segs[#segs + 1] = s end
  local best, best_fixed
  for template, item in pairs(self.doc.paths) do
    local op = item[method:lower()]
    if op then
      local t = {}
      for s in template:gmatch("[^/]+") do t[#t + 1] = s end
      if #t == #segs then
        local fixed, ok = 0, true
        for i, s in ipairs(t) do
          local param = s:match("^{.*}$")
          if not param and s ~= segs[i] then
            ok = false
            break
          end
          if not param then fixed = fixed + 1 end
        end
        if ok and (not best or fixed > best_fixed) then best, best_fixed = { op = op, template = template }, fixed end
      end
    end
  end
  if best then return best.op, best.template end
end

local function json_type(v)
  local t = type(v)
  if t == "table" then
    if getmetatable(v) and getmetatable(v).__jsontype == "array" then return "array" end
    if next(v) == nil then return "empty" end
    if #v > 0 and next(v, #v) == nil then return "array" end
    return "object"
  elseif t == "number" then
    return math.type(v) == "integer" and "integer" or "number"
  elseif t == "userdata" or t == "lightuserdata" then
    return "null" -- cjson's null
  end
  return t -- string, boolean
end

local function is_type(v, want)
  local got = json_type(v)
  if want == "number" then return got == "number" or got == "integer" end
  if want == "object" or want == "array" then return got == want or got == "empty" end
  return got == want
end

-- One schema of s and its allOf parts: their properties, required lists,
-- type and enum taken together (a part may hold only a required list,
-- naming properties another part declares).
function Spec:flatten(s)
  s = self:deref(s)
  if type(s) ~= "table" or not s.allOf then return s end
  local out = { properties = {}, required = {} }
  for k, v in pairs(s) do
    if k ~= "allOf" and k ~= "properties" and k ~= "required" then out[k] = v end
  end
  local parts = { s }
  for _, sub in ipairs(s.allOf) do parts[#parts + 1] = self:flatten(sub) end
  for _, part in ipairs(parts) do
    for name, prop in pairs(part.properties or {}) do out.properties[name] = prop end
    for _, name in ipairs(part.required or {}) do out.required[#out.required + 1] = name end
    for _, k in ipairs({ "type", "enum", "nullable", "additionalProperties", "items", "oneOf", "anyOf" }) do
      if part ~= s and part[k] ~= nil and out[k] == nil then out[k] = part[k] end
    end
  end
  if next(out.properties) == nil and #out.required == 0 then out.properties, out.required = nil, nil end
  if out.required and not out.type and not next(out.properties or {}) then out.type = "object" end
  return out
end

-- check(schema, value, where, mode, out): appends "where: problem" to out.
-- mode is "request" or "response".
function Spec:check(schema, v, where, mode, out)
  schema = self:flatten(schema)
  if type(schema) ~= "table" then return out end
  if json_type(v) == "null" then
    if not schema.nullable and (schema.type or schema.properties) then out[#out + 1] = where .. ": is null" end
    return out
  end
  for _, key in ipairs({ "oneOf", "anyOf" }) do
    if schema[key] then
      local any = false
      for _, sub in ipairs(schema[key]) do
        if #self:check(sub, v, where, mode, {}) == 0 then any = true break end
      end
      if not any then out[#out + 1] = where .. ": matches none of " .. key end
    end
  end
  local want = schema.type or ((schema.properties or schema.required) and "object") or (schema.items and "array")
  if want and not is_type(v, want) then
    out[#out + 1] = ("%s: is %s, the schema says %s"):format(where, json_type(v), want)
    return out
  end
  if schema.enum then
    local found = false
    for _, e in ipairs(schema.enum) do if e == v then found = true end end
    if not found then out[#out + 1] = where .. ": " .. tostring(v) .. " is not in the enum" end
  end
  if want == "object" and type(v) == "table" then
    local props = schema.properties or {}
    for _, name in ipairs(schema.required or {}) do
      local p = self:deref(props[name]) or {}
      local exempt = (mode == "request" and p.readOnly) or (mode == "response" and p.writeOnly)
      if v[name] == nil and not exempt then out[#out + 1] = where .. "." .. name .. ": required, missing" end
    end
    for name, sub in pairs(props) do
      if v[name] ~= nil then self:check(sub, v[name], where .. "." .. name, mode, out) end
    end
    if schema.additionalProperties == false then
      for name in pairs(v) do
        if not props[name] then out[#out + 1] = where .. "." .. tostring(name) .. ": not in the schema" end
      end
    end
  elseif want == "array" and type(v) == "table" and schema.items then
    for i, item in ipairs(v) do self:check(schema.items, item, ("%s[%d]"):format(where, i), mode, out) end
  end
  return out
end

local function json_schema(self, holder)
  holder = self:deref(holder)
  local content = holder and holder.content
  local media = content and (content["application/json"] or content["application/problem+json"])
  return media and media.schema
end

-- The schema of op's answer with this status ("default" when it has none),
-- or nil, why.
-- An error status the operation does not list is held to the schema of
-- the first error it does list (the providers use one error shape).
function Spec:response_schema(op, status)
  local r = op.responses[tostring(status)] or op.responses[status] or op.responses.default
  if not r and status >= 400 then
    local codes = {}
    for code in pairs(op.responses) do
      if tonumber(code) and tonumber(code) >= 400 then codes[#codes + 1] = tonumber(code) end
    end
    table.sort(codes)
    r = codes[1] and (op.responses[tostring(codes[1])] or op.responses[codes[1]])
  end
  if not r then return nil, "status " .. status .. " is not a documented answer" end
  return json_schema(self, r) or false
end

function Spec:check_response(op, status, body)
  local schema, why = self:response_schema(op, status)
  if schema == nil then return { why } end
  if schema == false then return {} end -- documented without a body
  return self:check(schema, body, "response", "response", {})
end

function Spec:check_request(op, body)
  local schema = op.requestBody and json_schema(self, op.requestBody)
  if not schema then return { "the operation takes no JSON body" } end
  return self:check(schema, body, "request", "request", {})
end

return M
