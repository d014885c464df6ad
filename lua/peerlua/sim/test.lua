-- peerlua.sim.test: routes for testing the HTTP stack, mounted on /_test.
--   GET|POST|PUT|PATCH|DELETE /_test/echo  JSON {method, path, query, headers, body}
--   GET /_test/status/{code}   that status (200..599) and {"status": code}
--   GET /_test/delay/{ms}      answers after ms milliseconds (0..600000)
--   GET /_test/bytes/{n}       n bytes of body (0..16 MiB)
--   GET /_test/headers         repeated and mixed-case response headers
--   GET /_test/json            a fixed JSON document (json_document below)
--   GET /_test/stream/{n}      n bytes (up to 999999999), chunked: no length announced
--   POST /_test/mirror         the request body as the response body, its
--                              Content-Encoding from ?encoding= (a gzip body
--                              sent as gzip: a decompression bomb)
--   GET /_test/reset           the connection is reset, no response
--   GET /_test/truncate/{n}    announces n bytes, sends half, closes
--   GET /_test/error           the handler raises (the server answers 500)
-- Anything else under /_test is a 404 with a JSON body.
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")

local M = {}

M.json_document = table.concat {
  '{"name":"peerlua","version":1,"ratio":0.5,"negative":-12,',
  '"unicode":"caf\\u00e9 \\u2713","escaped":"line\\nbreak \\"quoted\\"",',
  '"flags":[true,false,null],"empty_array":[],"empty_object":{},',
  '"nested":{"list":[1,2,3],"object":{"key":"value"}}}',
}

local MAX_BYTES = 16 * 1024 * 1024
local MAX_DELAY_MS = 600000

local function int_param(s, lo, hi)
  if #s > 9 or not s:match("^%d+$") then return nil end
  local n = math.tointeger(tonumber(s))
  if n and n >= lo and n <= hi then return n end
  return nil
end

local function bad(what, value)
  return response.json(400, { error = "bad " .. what, value = value })
end

local function bytes(n)
  local unit = "0123456789abcdefghijklmnopqrstuvwxyz\n"
  local s = unit:rep(n // #unit + 1)
  return s:sub(1, n)
end

function M.new()
  local r = router.new {
    not_found = function(req)
      return response.json(404, { error = "not found", path = req.path })
    end,
  }

  r:add({ "GET", "POST", "PUT", "PATCH", "DELETE" }, "/echo", function(req)
    return response.json(200, {
      method = req.method, path = req.path, query = req.query,
      headers = req.headers, body = req.body,
    })
  end)

  r:add("GET", "/status/{code}", function(_, p)
    local code = int_param(p.code, 200, 599)
    if not code then return bad("status code", p.code) end
    if code == 204 or code == 304 then return { status = code } end
    return response.json(code, { status = code })
  end)

  r:add("GET", "/delay/{ms}", function(_, p)
    local ms = int_param(p.ms, 0, MAX_DELAY_MS)
    if not ms then return bad("delay", p.ms) end
    local resp = response.json(200, { delayed_ms = ms })
    resp.delay = ms / 1000
    return resp
  end)

  r:add("GET", "/bytes/{n}", function(_, p)
    local n = int_param(p.n, 0, MAX_BYTES)
    if not n then return bad("byte count", p.n) end
    return response.raw(200, bytes(n), "application/octet-stream")
  end)

  r:add("GET", "/headers", function()
    return response.json(200, { ok = true }, {
      ["X-Test-Header"] = "one",
      ["X-MiXeD-CaSe"] = "Mixed",
      ["X-Repeated"] = { "first", "second" },
      ["Set-Cookie"] = { "a=1; Path=/", "b=2; Path=/" },
      ["Cache-Control"] = "no-store",
    })
  end)

  r:add("GET", "/json", function()
    return response.raw(200, M.json_document, "application/json")
  end)

  r:add("GET", "/stream/{n}", function(_, p)
    local n = int_param(p.n, 1, 999999999)
    if not n then return bad("byte count", p.n) end
    local resp = response.raw(200, bytes(64 * 1024), "application/octet-stream")
    resp.action, resp.stream = "stream", n
    return resp
  end)

  r:add("POST", "/mirror", function(req)
    local encoding = req.query.encoding
    if encoding and not encoding:match("^[%w-]+$") then return bad("encoding", encoding) end
    return { status = 200, body = req.body,
             headers = { ["Content-Type"] = "application/octet-stream", ["Content-Encoding"] = encoding } }
  end)

  r:add("GET", "/reset", function()
    return { status = 200, action = "reset" }
  end)

  r:add("GET", "/truncate/{n}", function(_, p)
    local n = int_param(p.n, 2, MAX_BYTES)
    if not n then return bad("byte count", p.n) end
    local resp = response.raw(200, bytes(n), "application/octet-stream")
    resp.action = "truncate"
    return resp
  end)

  r:add("GET", "/error", function()
    error("deliberate failure from /_test/error")
  end)

  return r
end

return M
