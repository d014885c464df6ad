local peerlua = require("peerlua")

describe("tasks", function()
  it("run concurrently: five sleeps of up to 0.3 s take about 0.3 s", function()
    local t0 = peerlua.now()
    local tasks = {}
    for i = 1, 5 do
      tasks[i] = peerlua.spawn(function(x) peerlua.sleep(0.06 * x) return x * 10 end, i)
    end
    for i, t in ipairs(tasks) do assert.equal(i * 10, t:wait()) end
    local elapsed = peerlua.now() - t0
    assert.is_true(elapsed >= 0.29, "too fast: " .. elapsed)
    assert.is_true(elapsed < 1.0, "sleeps did not overlap: " .. elapsed)
  end)

  it("pass arguments and return every result, nils included", function()
    local t = peerlua.spawn(function(a, b) return b, nil, a end, 1, 2)
    local r = table.pack(t:wait())
    assert.equal(3, r.n)
    assert.same({ 2, nil, 1 }, { r[1], r[2], r[3] })
    assert.equal("done", t:status())
  end)

  it("wake sleepers in deadline order", function()
    local order = {}
    local tasks = {}
    for _, d in ipairs({ 0.05, 0.01, 0.03 }) do
      tasks[#tasks + 1] = peerlua.spawn(function() peerlua.sleep(d) order[#order + 1] = d end)
    end
    peerlua.wait_all(tasks)
    assert.same({ 0.01, 0.03, 0.05 }, order)
  end)

  it("report an error as nil, err with the task's traceback", function()
    local t = peerlua.spawn(function()
      local function inner() error("boom") end
      inner()
    end)
    local v, err = t:wait()
    assert.is_nil(v)
    assert.matches("boom", err)
    assert.matches("stack traceback:", err)
    assert.matches("'inner'", err, 1, true)
    assert.equal("failed", t:status())
  end)

  it("keep error tables and add the traceback to them", function()
    local t = peerlua.spawn(function() error({ code = "x" }) end)
    local _, err = t:wait()
    assert.equal("x", err.code)
    assert.matches("stack traceback", err.traceback)
  end)

  it("time out a wait without stopping the task", function()
    local t = peerlua.spawn(function() peerlua.sleep(0.2) return "late" end)
    local v, err = t:wait(0.01)
    assert.is_nil(v)
    assert.equal("timeout", err.code)
    assert.equal("waiting", t:status())
    assert.equal("late", t:wait())
    -- a timeout that is no time is refused, not taken as none
    local ok, msg = pcall(function() local r = t:wait(-1) return r end)
    assert.is_false(ok)
    assert.matches("task_spec%.lua:%d+: bad argument #1 to 'wait' %(must be a number of seconds >= 0%)", msg)
  end)

  it("can be cancelled while waiting, and waiters see code 'cancelled'", function()
    local closed = false
    local t = peerlua.spawn(function()
      local guard <close> = setmetatable({}, { __close = function() closed = true end })
      peerlua.sleep(30)
      return guard
    end)
    peerlua.sleep(0.01)
    local t0 = peerlua.now()
    assert.is_true(t:cancel())
    assert.is_false(t:cancel())
    local v, err = t:wait()
    assert.is_nil(v)
    assert.equal("cancelled", err.code)
    assert.equal("cancelled", t:status())
    assert.is_true(closed, "to-be-closed variables of a cancelled task are closed")
    assert.is_true(peerlua.now() - t0 < 1)
  end)

  it("wakes every task waiting on another", function()
    local src = peerlua.spawn(function() peerlua.sleep(0.02) return 7 end)
    local waiters = {}
    for i = 1, 10 do waiters[i] = peerlua.spawn(function() return src:wait() + i end) end
    local results = peerlua.wait_all(waiters)
    for i = 1, 10 do assert.equal(7 + i, results[i][1]) end
  end)

  it("run() returns the results and raises the error", function()
    assert.same({ 1, 2 }, { peerlua.run(function(a) peerlua.sleep(0) return a, 2 end, 1) })
    local ok, err = pcall(peerlua.run, function() error("inside") end)
    assert.is_false(ok)
    assert.matches("inside", err)
  end)

  it("gives a clear error when waiting where Lua cannot yield", function()
    local ok, err = pcall(peerlua.run, function()
      table.sort({ 3, 1, 2 }, function(a, b) peerlua.sleep(0) return a < b end)
    end)
    assert.is_false(ok)
    assert.matches("cannot wait here", err)
  end)

  it("lets coroutine.yield() inside a task hand over to other tasks", function()
    local log = {}
    local a = peerlua.spawn(function() for i = 1, 3 do log[#log + 1] = "a" .. i coroutine.yield() end end)
    local b = peerlua.spawn(function() for i = 1, 3 do log[#log + 1] = "b" .. i coroutine.yield() end end)
    peerlua.wait_all({ a, b })
    assert.same({ "a1", "b1", "a2", "b2", "a3", "b3" }, log)
  end)

  it("refuse to wait for themselves", function()
    local self_task
    self_task = peerlua.spawn(function()
      peerlua.sleep(0)
      return pcall(self_task.wait, self_task)
    end)
    local ok, err = self_task:wait()
    assert.is_false(ok)
    assert.matches("cannot wait for itself", err)
  end)

  it("wait_all honours a group timeout", function()
    local slow = peerlua.spawn(function() peerlua.sleep(5) end)
    local fast = peerlua.spawn(function() return 1 end)
    local r = peerlua.wait_all({ fast, slow }, 0.05)
    assert.equal(1, r[1][1])
    assert.equal("timeout", r[2][2].code)
    slow:cancel()
  end)

  it("sleep rejects negative and non-number durations", function()
    assert.has_error(function() peerlua.sleep(-1) end)
    assert.has_error(function() peerlua.sleep("x") end)
  end)

  it("run thousands of tasks in little time", function()
    local n, done = 2000, 0
    local tasks = {}
    for i = 1, n do
      tasks[i] = peerlua.spawn(function() peerlua.sleep(0.01) done = done + 1 end)
    end
    peerlua.wait_all(tasks)
    assert.equal(n, done)
  end)
end)
