local peerlua = require("peerlua")
local testserver = require("testserver")
local http = peerlua.http

describe("peerlua.http.request", function()
  local server, base
  setup(function()
    server = testserver.start()
    base = server.url
  end)
  teardown(function() server:stop() end)

  it("GETs with lower-cased response headers and resp:json()", function()
    local resp = assert(http.request({ url = base .. "/_test/headers" }))
    assert.equal(200, resp.status)
    for name in pairs(resp.headers) do assert.equal(name:lower(), name) end
    assert.is_string(resp.headers["content-type"])
    local doc = assert(http.request({ url = base .. "/_test/json" })):json()
    assert.is_table(doc)
  end)

  it("sends method, headers, query and a JSON body", function()
    local resp = assert(http.request({
      method = "post", url = base .. "/_test/echo",
      headers = { ["X-Custom"] = "yes" },
      query = { b = "2 3", a = "1", list = { "x", "y" } },
      json = { name = "p1", subnets = peerlua.json.array() },
    }))
    assert.equal(200, resp.status)
    local echo = assert(resp:json())
    assert.equal("POST", echo.method)
    assert.equal("yes", echo.headers["x-custom"])
    assert.equal("application/json", echo.headers["content-type"])
    assert.same({ name = "p1", subnets = {} }, peerlua.json.decode(echo.body))
    assert.matches('"subnets":%[%]', echo.body)
    assert.equal("1", echo.query.a)
    assert.equal("2 3", echo.query.b)
    assert.same({ "x", "y" }, echo.query.list)
  end)

  it("sends a string body as is", function()
    local resp = assert(http.request({ method = "PUT", url = base .. "/_test/echo", body = "raw\0bytes" }))
    assert.equal("raw\0bytes", resp:json().body)
  end)

  it("returns non-2xx statuses as responses, not errors", function()
    for _, code in ipairs({ 201, 404, 429, 503 }) do
      local resp = assert(http.request({ url = base .. "/_test/status/" .. code }))
      assert.equal(code, resp.status)
    end
  end)

  it("reads large bodies", function()
    local resp = assert(http.request({ url = base .. "/_test/bytes/300000" }))
    assert.equal(300000, #resp.body)
  end)

  it("times out with code 'timeout'", function()
    local t0 = peerlua.now()
    local resp, err = http.request({ url = base .. "/_test/delay/2000", timeout = 0.2 })
    assert.is_nil(resp)
    assert.equal("timeout", err.code)
    assert.is_true(peerlua.now() - t0 < 1.5)
    assert.matches("timeout", tostring(err))
  end)

  it("reports a refused connection with code 'network'", function()
    local resp, err = http.request({ url = "http://127.0.0.1:1/" })
    assert.is_nil(resp)
    assert.equal("network", err.code)
    assert.is_string(err.message)
  end)

  describe("refuses bad input before sending anything", function()
    local cases = {
      { { url = "not a url" }, "url", "malformed" },
      { { url = "ftp://127.0.0.1/" }, "url", "scheme" },
      { {}, "url", "must be a string" },
      { { url = "http://example.com/" }, "url", "loopback" },
      { { url = "http://127.0.0.1:1/", method = "BREW" }, "method", "unsupported" },
      { { url = "http://127.0.0.1:1/", method = 5 }, "method", "must be a string" },
      { { url = "http://127.0.0.1:1/", body = 42 }, "body", "string or a table" },
      { { url = "http://127.0.0.1:1/", body = true }, "body", "string or a table" },
      { { url = "http://127.0.0.1:1/", body = "x", json = {} }, "json", "together" },
      { { url = "http://127.0.0.1:1/", timeout = -1 }, "timeout", "> 0" },
      { { url = "http://127.0.0.1:1/", headers = "x" }, "headers", "table" },
      { { url = "http://127.0.0.1:1/", headers = { ["Bad Name"] = "v" } }, "header", "name" },
      { { url = "http://127.0.0.1:1/", headers = { X = "a\r\nY: b" } }, "header", "line break" },
      { { url = "http://127.0.0.1:1/", colour = "red" }, "colour", "unknown option" },
      { { url = "http://127.0.0.1:1/", methd = "GET" }, "methd", "unknown option (did you mean method?)" },
    }
    for i, case in ipairs(cases) do
      it("case " .. i .. ": " .. case[2] .. " " .. case[3], function()
        local stats_before = peerlua.stats().requests
        local resp, err = http.request(case[1])
        assert.is_nil(resp)
        assert.equal("invalid", err.code)
        assert.matches(case[3], err.message, 1, true)
        assert.equal(stats_before, peerlua.stats().requests)
      end)
    end
  end)

  it("allows http:// to a non-loopback host with insecure = true (fails only at connect)", function()
    local resp, err = http.request({ url = "http://192.0.2.1:9/", insecure = true, timeout = 0.05 })
    assert.is_nil(resp)
    assert.is_not.equal("invalid", err.code)
  end)

  it("raises on misuse: a non-table argument", function()
    assert.has_error(function() http.request("http://127.0.0.1/") end)
  end)

  it("runs hundreds of concurrent requests and sleeps", function()
    local n = 300
    local tasks = {}
    local t0 = peerlua.now()
    for i = 1, n do
      tasks[i] = peerlua.spawn(function()
        peerlua.sleep((i % 10) * 0.005)
        local resp = assert(http.request({ url = base .. "/_test/delay/200" }))
        return resp.status
      end)
    end
    local ok = 0
    for _, r in ipairs(peerlua.wait_all(tasks)) do
      if r[1] == 200 then ok = ok + 1 end
    end
    assert.equal(n, ok)
    -- 300 requests each delayed 200 ms server-side overlap instead of queueing
    assert.is_true(peerlua.now() - t0 < 10)
  end)

  it("cancels a task with a request in flight", function()
    local t = peerlua.spawn(function() return http.request({ url = base .. "/_test/delay/3000" }) end)
    peerlua.sleep(0.05)
    assert.is_true(t:cancel())
    local _, err = t:wait()
    assert.equal("cancelled", err.code)
    -- the loop keeps working afterwards
    assert.equal(200, assert(http.request({ url = base .. "/_test/status/200" })).status)
  end)

  it("reuses connections: many sequential GETs are fast", function()
    local t0 = peerlua.now()
    for _ = 1, 200 do assert(http.request({ url = base .. "/_test/status/200" })) end
    assert.is_true(peerlua.now() - t0 < 5)
  end)
end)
