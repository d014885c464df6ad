-- Many tasks at once against the loopback server: no cross-talk between
-- responses, failures and cancellations stay inside their task, and the
-- loop is healthy afterwards.
local peerlua = require("peerlua")
local testserver = require("testserver")
local http = peerlua.http

describe("concurrency", function()
  local server, base
  setup(function()
    server = testserver.start()
    base = server.url
  end)
  teardown(function() server:stop() end)

  local function echo(i, step)
    local resp, err = http.request({
      method = "POST",
      url = base .. "/_test/echo?task=" .. i .. "&step=" .. step,
      body = { task = i, step = step },
    })
    if not resp then return nil, err end
    return resp:json()
  end

  it("gives each of 400 tasks its own responses across sleeps and requests", function()
    local n = 400
    local tasks = {}
    for i = 1, n do
      tasks[i] = peerlua.spawn(function()
        local seen = {}
        for step = 1, 3 do
          peerlua.sleep(((i + step) % 7) * 0.003)
          local doc = assert(echo(i, step))
          local body = peerlua.json.decode(doc.body)
          seen[step] = doc.query.task .. "/" .. doc.query.step .. "/" .. body.task .. "/" .. body.step
        end
        return table.concat(seen, " ")
      end)
    end
    local results = peerlua.wait_all(tasks)
    for i = 1, n do
      local want = string.format("%d/1/%d/1 %d/2/%d/2 %d/3/%d/3", i, i, i, i, i, i)
      assert.equal(want, results[i][1])
    end
  end)

  it("keeps errors inside their task: the others finish", function()
    local tasks = {}
    for i = 1, 200 do
      tasks[i] = peerlua.spawn(function()
        assert(echo(i, 1))
        if i % 5 == 0 then error("task " .. i .. " failed") end
        return i
      end)
    end
    local results = peerlua.wait_all(tasks)
    local failed, ok = 0, 0
    for i, r in ipairs(results) do
      if i % 5 == 0 then
        assert.is_nil(r[1])
        assert.matches("task " .. i .. " failed", r[2])
        assert.matches("stack traceback:", r[2])
        failed = failed + 1
      else
        assert.equal(i, r[1])
        ok = ok + 1
      end
    end
    assert.same({ 40, 160 }, { failed, ok })
  end)

  it("times out slow requests without delaying the fast ones", function()
    local tasks = {}
    local t0 = peerlua.now()
    for i = 1, 100 do
      tasks[i] = peerlua.spawn(function()
        if i % 2 == 0 then
          return http.request({ url = base .. "/_test/delay/5000", timeout = 0.2 })
        end
        return http.request({ url = base .. "/_test/delay/20" })
      end)
    end
    local results = peerlua.wait_all(tasks)
    for i, r in ipairs(results) do
      if i % 2 == 0 then
        assert.is_nil(r[1])
        assert.equal("timeout", r[2].code)
      else
        assert.equal(200, r[1].status)
      end
    end
    assert.is_true(peerlua.now() - t0 < 4, "timeouts did not overlap")
  end)

  it("cancels half of 200 tasks in flight; the rest complete and the loop goes on", function()
    local tasks = {}
    for i = 1, 200 do
      tasks[i] = peerlua.spawn(function()
        peerlua.sleep(0.01)
        local resp = assert(http.request({ url = base .. "/_test/delay/300" }))
        return resp.status
      end)
    end
    peerlua.sleep(0.1)
    for i = 2, 200, 2 do assert.is_true(tasks[i]:cancel()) end
    local results = peerlua.wait_all(tasks)
    for i, r in ipairs(results) do
      if i % 2 == 0 then
        assert.equal("cancelled", r[2].code)
        assert.equal("cancelled", tasks[i]:status())
      else
        assert.equal(200, r[1])
      end
    end
    assert.equal(200, assert(http.request({ url = base .. "/_test/status/200" })).status)
  end)

  it("lets tasks spawn tasks and wait on each other", function()
    local root = peerlua.spawn(function()
      local children = {}
      for i = 1, 50 do
        children[i] = peerlua.spawn(function()
          local doc = assert(echo(i, 0))
          return tonumber(doc.query.task)
        end)
      end
      local sum = 0
      for _, r in ipairs(peerlua.wait_all(children)) do sum = sum + r[1] end
      return sum
    end)
    assert.equal(50 * 51 // 2, root:wait())
  end)
end)
