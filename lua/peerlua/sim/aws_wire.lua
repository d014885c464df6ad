-- peerlua.sim.aws_wire: what the emulated AWS services (peerlua.sim.aws)
-- share to read requests and write answers: XML elements (EC2's <item>
-- lists), a small XML reader for Route 53's flat request bodies, form and
-- URL encoding, the Query APIs' parameters, AWS's date forms.
local check = require("peerlua.sim.check")

local M = {}


-- element text: & < > escaped (quotes need not be, outside attributes)
local function esc(s)
  return (tostring(s):gsub("[&<>]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;" }))
end

-- el(name, v): <name>v</name>; v a string (escaped), number, boolean, or a
-- list of already written elements; nil writes nothing
local function el(name, v)
  if v == nil then return "" end
  local inner
  if type(v) == "table" then
    inner = table.concat(v)
  elseif type(v) == "boolean" then
    inner = v and "true" or "false"
  elseif math.type(v) == "float" and v == math.floor(v) then
    inner = string.format("%d", v)
  else
    inner = esc(v)
  end
  return "<" .. name .. ">" .. inner .. "</" .. name .. ">"
end

-- items(name, list, fn): <name><item>fn(x)</item>...</name>, the EC2 list form
-- ([ec2] every list member has locationName "item")
local function items(name, list, fn)
  local out = {}
  for _, x in ipairs(list) do out[#out + 1] = el("item", fn(x)) end
  return el(name, out)
end

-- days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil)
local function days(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- "20150830T123600Z" -> epoch seconds | nil
local function amz_date(s)
  local y, mo, d, h, mi, sec = (s or ""):match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  return days(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

-- ISO 8601 with milliseconds, as EC2, STS and Route 53 write times
-- (e.g. <Expiration>2011-07-15T23:28:33.359Z</Expiration>, STS AssumeRole
-- API reference example)
local function iso(epoch)
  local whole = math.floor(epoch)
  return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. string.format(".%03dZ", math.floor((epoch - whole) * 1000))
end

local function url_decode(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function url_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- a form body a=b&c=d into a table (the last of a repeated name wins)
local function form(s, into)
  for pair in (s or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    if k ~= "" then into[url_decode(k)] = url_decode(v) end
  end
  return into
end

-- the raw query string back from the parsed table (the signer sorts it)
local function raw_query(q)
  local parts = {}
  for k, v in pairs(q or {}) do
    for _, x in ipairs(type(v) == "table" and v or { v }) do parts[#parts + 1] = url_encode(k) .. "=" .. url_encode(x) end
  end
  return table.concat(parts, "&")
end

-- an AWS region name: us-east-1, ap-southeast-2, us-gov-west-1
local function is_region(s)
  return type(s) == "string" and s:match("^%l%l%-[%l%-]+%-%d+$") ~= nil
end

local function cidr_ok(s)
  return type(s) == "string" and check.cidr4(s) == nil
end

-- ---- a small XML reader for Route 53's flat request bodies ---------------

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }
local function unescape(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, v)
    if kind == "" then return ENTITIES[v] end
    local n = tonumber(v, kind == "#x" and 16 or 10)
    return n and n < 128 and string.char(n) or nil
  end))
end

-- xml(text) -> {name =, children = {name -> element}, text =} of the root
-- element | nil, why. Elements are matched by local name (a prefix is
-- dropped); attributes other than xmlns are ignored; no DTDs.
local function xml(text)
  local s = text:gsub("^\239\187\191", ""):gsub("^%s*<%?xml.-%?>", ""):gsub("<!%-%-.-%-%->", "")
  if s:find("<!", 1, true) then return nil, "DTDs and CDATA are not accepted" end
  local pos, stack, root = 1, {}, nil
  while true do
    local a, b, close, name, _, selfclose = s:find("<(/?)([%w_:%.%-]+)(.-)(/?)>", pos)
    if not a then break end
    local between = s:sub(pos, a - 1)
    local top = stack[#stack]
    if top then
      top.text = top.text .. between
    elseif between:match("%S") then
      return nil, "text outside the root element"
    end
    name = name:gsub("^.*:", "")
    if close == "/" then
      if not top or top.name ~= name then return nil, "unexpected </" .. name .. ">" end
      stack[#stack] = nil
    else
      if root and #stack == 0 then return nil, "more than one root element" end
      local e = { name = name, children = {}, text = "" }
      if top then top.children[name] = e else root = e end
      if selfclose ~= "/" then stack[#stack + 1] = e end
    end
    pos = b + 1
  end
  if #stack > 0 or not root then return nil, "the document is not complete" end
  if s:sub(pos):match("%S") then return nil, "text after the root element" end
  local function finish(e)
    e.text = unescape(e.text):match("^%s*(.-)%s*$")
    for _, c in pairs(e.children) do finish(c) end
  end
  finish(root)
  return root
end

-- the request's parameters: the query, then a form body ([ec2]
-- protocol "ec2": POST, application/x-www-form-urlencoded)
local function params_of(req)
  local out = {}
  for k, v in pairs(req.query or {}) do out[k] = type(v) == "table" and v[#v] or v end
  local ct = (req.headers["content-type"] or ""):lower()
  if req.body and req.body ~= "" and ct:match("^application/x%-www%-form%-urlencoded") then form(req.body, out) end
  return out
end

for k, v in pairs({
  esc = esc,
  el = el,
  items = items,
  amz_date = amz_date,
  iso = iso,
  url_decode = url_decode,
  url_encode = url_encode,
  form = form,
  raw_query = raw_query,
  is_region = is_region,
  cidr_ok = cidr_ok,
  xml = xml,
  params_of = params_of,
}) do M[k] = v end

return M
