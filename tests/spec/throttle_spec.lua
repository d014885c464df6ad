-- The shared throttle on Redis (peerlua.throttle.redis): one schedule per
-- key across every handle (each handle is its own connection, as another
-- process would have), Retry-After pauses shared, keys that expire, and the
-- local fallback when Redis is down. Across processes: cli.redis.
local peerlua = require("peerlua")
local testredis = require("testredis")
local testserver = require("testserver")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"

describe("shared throttle", function()
  local redis, server

  setup(function()
    redis = testredis.start()
    server = testserver.start("--time-scale 600")
    peerlua.set_sim({ url = server.url })
  end)

  teardown(function()
    if server then server:stop() end
    if redis then redis:stop() end
  end)

  local function throttle(prefix)
    return assert(peerlua.throttle.redis({ url = redis.url, prefix = prefix }))
  end
  -- what a throttle value stands for (internals)
  local core = require("internals").core
  local function state(value) return core.throttle_state(value) end
  -- A throttle value seen as a client's engine uses it (internals): each
  -- (key, rate, burst) an engine on it. reserve -> seconds to wait, or nil
  -- when Redis could not be used (the engine then throttled in this
  -- process), reported as a client reports it; pause: what a 429 with
  -- Retry-After makes the engine do.
  local function on_engines(value)
    local st, engines = state(value), {}
    local function engine(key, rate, burst)
      local k = key .. "/" .. rate .. "/" .. burst
      engines[k] = engines[k] or core.engine({ provider = "upcloud", key = key, rate = rate, burst = burst,
                                               redis = st.handle })
      return engines[k]
    end
    return {
      reserve = function(_, key, rate, burst)
        local wait, why = engine(key, rate, burst):reserve()
        st:report(why)
        return not why and wait or nil
      end,
      pause = function(_, key, seconds, rate, burst)
        engine(key, rate, burst):start("list_peerings"):answer(429, seconds, false, false)
      end,
    }
  end
  local function schedule(prefix) return on_engines(throttle(prefix)) end

  it("refuses bad options, naming the field, before connecting", function()
    local cases = {
      { { url = "http://127.0.0.1:6379" }, "url", "redis://" },
      { { url = "redis://127.0.0.1:70000" }, "url", "port" },
      { { url = "redis://:pw@/0" }, "url", "host" },
      { { url = "redis://127.0.0.1/x" }, "url", "database" },
      { {}, "url", "required" },
      { { url = "redis://127.0.0.1", prefix = 5 }, "prefix", "string" },
      { { url = "redis://127.0.0.1", color = "red" }, "color", "not an option" },
    }
    for _, c in ipairs(cases) do
      local t, err = peerlua.throttle.redis(c[1])
      assert.is_nil(t)
      assert.equal("invalid", err.code)
      assert.equal(c[2], err.details[1].field)
      assert.matches(c[3], err.details[1].rule, 1, true)
    end
    local _, err = peerlua.throttle.redis({ url = "redis://:hunter2@127.0.0.1:99999" })
    assert.is_nil(tostring(err):find("hunter2", 1, true), "the password is in the error")
    local c, cerr = peerlua.instaclustr({ throttle = { url = redis.url } })
    assert.is_nil(c)
    assert.equal("throttle", cerr.details[1].field)
  end)

  -- Redis reckons each wait from its own clock at some moment between the
  -- ask and the answer: the checks bound that moment by both, so a loaded
  -- machine (a slow round trip) cannot make them fail, and a wrong schedule
  -- still does.
  local function timed(t, ...)
    local asked = peerlua.now()
    local wait = assert(t:reserve(...))
    return { wait = wait, asked = asked, answered = peerlua.now() }
  end
  -- want lies between what r2 and r1 allow for (r2's server moment + r2.wait)
  -- - (r1's server moment + r1.wait), with 5 ms for the two clocks' reading
  local function assert_gap(want, r1, r2)
    local lo = (r2.asked + r2.wait) - (r1.answered + r1.wait) - 0.005
    local hi = (r2.answered + r2.wait) - (r1.asked + r1.wait) + 0.005
    assert.is_true(want >= lo and want <= hi, string.format("%.4f not within [%.4f, %.4f]", want, lo, hi))
  end

  it("spaces the requests of every handle on one schedule", function()
    local a, b = schedule("spec1:"), schedule("spec1:")
    local r = {}
    for i = 1, 10 do r[i] = timed(i % 2 == 0 and a or b, "instaclustr:u", 20, 1) end
    -- ten reservations at 20/s, one schedule: each 50 ms after the one before
    for i = 2, 10 do assert_gap(0.05, r[i - 1], r[i]) end
    assert_gap(0.45, r[1], r[10])
  end)

  it("lets a burst through, then the steady rate", function()
    local t = schedule("spec2:")
    local r = {}
    for i = 1, 6 do r[i] = timed(t, "k", 10, 5) end
    for i = 1, 5 do assert.equal(0, r[i].wait) end
    -- the sixth may go 0.1 s after the first (five at once, then one per 0.1 s)
    if r[6].wait > 0 then assert_gap(0.1, r[1], r[6]) end
    -- no wait only when it came that late anyway (a loaded machine)
    assert.is_true(r[6].wait > 0 or r[6].answered - r[1].asked >= 0.095, "the sixth did not wait")
  end)

  it("shares a Retry-After pause with every handle", function()
    local a, b = schedule("spec3:"), schedule("spec3:")
    a:pause("k", 1, 10, 1)
    -- sent without waiting, on a's connection: landed well within 50 ms
    peerlua.sleep(0.05)
    -- what is left of the pause: less by the time since it was set, on a busy machine too
    local left = b:reserve("k", 10, 1)
    assert.is_true(left > 0.8 and left <= 0.96, "waits " .. left)
    assert.near(0.1, b:reserve("k", 10, 1) - left, 0.02)
  end)

  it("keeps a key only while its schedule is ahead", function()
    local t = schedule("spec4:")
    for _ = 1, 5 do t:reserve("k", 10, 1) end -- 0.5 s of schedule
    assert.equal("1", redis:cli("EXISTS", "spec4:k"))
    local ttl = tonumber(redis:cli("PTTL", "spec4:k"))
    assert.is_true(ttl > 500 and ttl <= 1500, "PTTL " .. tostring(ttl)) -- 1 s past a schedule up to 0.5 s ahead
    peerlua.sleep(1.6)
    assert.equal("0", redis:cli("EXISTS", "spec4:k"))
  end)

  it("throttles the clients that use it, on the provider key", function()
    local ic = assert(peerlua.instaclustr({ throttle = throttle("spec5:"), rate = 20, burst = 1 }))
    local started = peerlua.now()
    local tasks = {}
    for i = 1, 10 do
      tasks[i] = peerlua.spawn(function() return assert(ic:list_peerings({ cluster_data_centre_id = CDC })) end)
    end
    peerlua.wait_all(tasks)
    assert.is_true(peerlua.now() - started >= 0.44, "10 requests at 20/s took less than 0.45 s")
    assert.equal("1", redis:cli("EXISTS", "spec5:instaclustr:sim-user"))
  end)

  it("falls back to the local limit when Redis is down, and says so once", function()
    local said = {}
    local down = assert(peerlua.throttle.redis({ url = "redis://:hunter2@127.0.0.1:1",
                                                 warn = function(m) said[#said + 1] = m end }))
    local ic = assert(peerlua.instaclustr({ throttle = down, rate = 20, burst = 1 }))
    local started = peerlua.now()
    for _ = 1, 6 do assert(ic:list_peerings({ cluster_data_centre_id = CDC })) end
    assert.is_true(peerlua.now() - started >= 0.24, "the local limit did not apply")
    assert.equal(1, #said)
    assert.matches("127.0.0.1:1", said[1], 1, true)
    assert.matches("throttling in this process only", said[1], 1, true)
    assert.is_nil(said[1]:find("hunter2", 1, true))
  end)

  -- A lock call in flight when its task is cancelled: the lock it took is
  -- given back at once, not left for its 30 s expiry. (Internals: the lock
  -- primitives behind ensure_peering.)
  it("gives back a lock whose taker was cancelled while Redis answered", function()
    local shared = throttle("cancel:")
    local handle = state(shared).handle
    redis:pause() -- the call stays on the Redis thread until resumed
    local t = peerlua.spawn(function() return core.redis_lock(handle, "k", 30) end)
    peerlua.sleep(0.05)
    assert.is_true(t:cancel())
    redis:resume()
    peerlua.sleep(0.5) -- the take times out or lands, then its unlock
    local got
    for _ = 1, 20 do
      got = core.redis_lock(handle, "k", 30)
      if got then break end
      peerlua.sleep(0.1)
    end
    assert.is_string(got, "the cancelled taker's lock was not given back")
    core.redis_unlock(handle, "k", got)
  end)

  -- An unlock is sent without waiting; a script that ends with os.exit
  -- (no state close) still gets it out.
  it("sends an unlock made just before os.exit", function()
    local bin = assert(os.getenv("PEERLUA_BIN"))
    local script = ("local core = debug.getregistry()['peerlua.core'] "
      .. "local h = assert(core.redis_new(%q, 'exit:')) "
      .. "for i = 1, 5 do core.redis_unlock(h, 'k' .. i, assert(core.redis_lock(h, 'k' .. i, 30))) end "
      .. "os.exit(0)"):format(redis.url)
    for _ = 1, 4 do assert(os.execute(("%q -e %q"):format(bin, script))) end
    assert.equal("", redis:cli("--scan", "--pattern", "exit:*"))
  end)

  -- A silent Redis (SIGSTOP: the kernel still accepts, nothing answers)
  -- holds up only the request waiting for it: a ticking task keeps running
  -- through the call's 250 ms timeout. Then: said once while it is gone,
  -- said when it is back, said again when it is lost a second time.
  it("keeps other tasks running while Redis is silent, and says when it is lost, back and lost again", function()
    local said = {}
    local shared = on_engines(assert(peerlua.throttle.redis({ url = redis.url, prefix = "silent:",
                                                              warn = function(m) said[#said + 1] = m end })))
    assert.is_number(shared:reserve("k", 100, 10)) -- connected
    local ticks, ticking = 0, true
    local ticker = peerlua.spawn(function()
      while ticking do
        peerlua.sleep(0.01)
        ticks = ticks + 1
      end
    end)
    peerlua.sleep(0.05)
    redis:pause()
    local ok, got = pcall(function()
      local before = ticks
      local wait = shared:reserve("k", 100, 10)
      return { wait = wait, ticked = ticks - before }
    end)
    redis:resume()
    ticking = false
    ticker:wait()
    assert(ok, got)
    assert.is_nil(got.wait) -- timed out: throttle locally
    assert.is_true(got.ticked >= 5, "the loop stalled: " .. got.ticked .. " ticks during the Redis call")
    assert.equal(1, #said)
    assert.matches("shared throttle unavailable", said[1], 1, true)
    assert.is_nil(shared:reserve("k", 100, 10)) -- within the 2 s back-off: no new attempt, no new warning
    assert.equal(1, #said)
    peerlua.sleep(2.1)
    assert.is_number(shared:reserve("k", 100, 10))
    assert.equal(2, #said)
    assert.matches("is back", said[2], 1, true)
    redis:pause()
    local again = shared:reserve("k", 100, 10)
    redis:resume()
    assert.is_nil(again)
    assert.equal(3, #said)
    assert.matches("shared throttle unavailable", said[3], 1, true)
  end)
end)
