-- The emulator started from a Lua program (require("peerlua.sim").start):
-- clients use the newest running one, each has its own state, stop (and
-- <close>) hands back to the one before, the admin calls work, and bad
-- options are refused naming the field. Runs under peerlua and under stock
-- lua5.4 with peerlua.so.
local peerlua = require("peerlua")
local sim_module = require("peerlua.sim")
local http = peerlua.http

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local ARGS = { cluster_data_centre_id = CDC, peer_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d",
               peer_subnets = { "10.1.0.0/16" }, peer_region = "US_WEST_2" }

describe("an emulator started from Lua", function()
  local saved
  setup(function() saved = peerlua.sim end)
  teardown(function() peerlua.set_sim(saved) end)

  it("serves the clients made while it runs, with its fixture's accounts, and logs their requests", function()
    local sim <close> = assert(sim_module.start({ time_scale = 600 }))
    assert.matches("^http://127%.0%.0%.1:%d+$", sim.url)
    assert.equal(sim.url, peerlua.sim.url)
    assert.is_string(sim.fixture.instaclustr.accounts[1].username)
    local ic = assert(peerlua.instaclustr({}))
    local p = assert(ic:ensure_peering(ARGS))
    assert.equal("pending_acceptance", p.state)
    assert(sim:accept(p))
    assert(p:wait("active", { timeout = 10 }))
    local posts = 0
    for _, e in ipairs(assert(sim:requests("instaclustr"))) do
      if e.method == "POST" then posts = posts + 1 end
    end
    assert.equal(1, posts)
    assert.is_true(sim:reset())
    assert.equal(0, #assert(sim:requests()))
    assert.equal(0, #assert(ic:list_peerings({ cluster_data_centre_id = CDC })))
  end)

  it("says how to call accept when it is called wrongly, and takes peerlua.sim:accept(p) too", function()
    local sim <close> = assert(sim_module.start({ time_scale = 600 }))
    local ic = assert(peerlua.instaclustr({}))
    local p = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = "vpc-0a1b2c3e", peer_subnets = { "10.1.0.0/16" } }))
    local ok, msg = pcall(sim.accept, p)
    assert.is_false(ok)
    assert.matches("call it as a method, sim:accept(p)", msg, 1, true)
    for _, bad in ipairs({ false, "an id", 42 }) do
      ok, msg = pcall(function() return sim:accept(bad or nil) end)
      assert.is_false(ok)
      assert.matches("a peering value expected, got " .. (bad and type(bad) or "nil"), msg, 1, true)
    end
    assert(peerlua.sim:accept(p)) -- the handle's form, on peerlua.sim
    -- a provider it has no requests of, because it is no provider of it
    local got, err = sim:requests("instaclust")
    assert.is_nil(got)
    assert.equal("invalid", err.code)
    assert.matches("'instaclust' is not one of this emulator's (instaclustr,", err.message, 1, true)
    assert.is_true(#assert(sim:requests("instaclustr")) > 0)
  end)

  it("injects faults on request", function()
    local sim <close> = assert(sim_module.start({ time_scale = 600 }))
    local ic = assert(peerlua.instaclustr({ retries = { attempts = 2, base = 0.01, cap = 0.02 } }))
    assert(sim:set_faults("500:1"))
    local _, err = ic:list_peerings({ cluster_data_centre_id = CDC })
    assert.equal("unavailable", err.code)
    assert(sim:set_faults("none"))
    assert.is_table(assert(ic:list_peerings({ cluster_data_centre_id = CDC })))
    local ok, ferr = sim:set_faults("nonsense")
    assert.is_nil(ok)
    assert.equal("invalid", ferr.code)
    assert.matches("^set_faults: bad fault spec: 'nonsense'", ferr.message)
    assert.has_error(function() sim:set_faults({ "500:1" }) end,
      "bad argument #1 to 'set_faults' (a fault spec string expected, got table)")
  end)

  it("runs beside another, each with its own state; stopping one hands back to the one before", function()
    local first = assert(sim_module.start({ time_scale = 600 }))
    assert(assert(peerlua.instaclustr({})):ensure_peering(ARGS))
    do
      local second <close> = assert(sim_module.start({ time_scale = 600, seed = 3 }))
      assert.are_not.equal(first.url, second.url)
      assert.equal(second.url, peerlua.sim.url)
      assert.equal(0, #assert(assert(peerlua.instaclustr({})):list_peerings({ cluster_data_centre_id = CDC })))
    end -- <close> stops it
    assert.equal(first.url, peerlua.sim.url)
    assert.equal(1, #assert(assert(peerlua.instaclustr({})):list_peerings({ cluster_data_centre_id = CDC })))
    local url = first.url
    first:stop()
    first:stop() -- twice: nothing more
    assert.equal(saved and saved.url, peerlua.sim and peerlua.sim.url)
    assert.matches("stopped", tostring(first))
    local resp, err = http.request({ url = url .. "/_sim/health", timeout = 2 })
    assert.is_nil(resp)
    assert.equal("network", err.code)
    assert.has_error(function() first:requests() end, "emulator: stopped (" .. url .. ")")
  end)

  it("stays up while it is the active one even if nobody holds it, until its stop()", function()
    local weak = setmetatable({}, { __mode = "v" })
    weak[1] = assert(sim_module.start({}))
    local url = weak[1].url
    collectgarbage()
    collectgarbage()
    assert.is_table(weak[1]) -- not collected
    assert.equal(url, peerlua.sim.url)
    local ic = assert(peerlua.instaclustr({})) -- made after: still uses it
    assert.is_table(assert(ic:list_peerings({ cluster_data_centre_id = CDC })))
    assert.equal(1, #assert(weak[1]:requests("instaclustr")))
    weak[1]:stop()
    assert.equal(saved and saved.url, peerlua.sim and peerlua.sim.url)
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1]) -- stopped, it may go
    local resp, err = http.request({ url = url .. "/_sim/health", timeout = 2 })
    assert.is_nil(resp)
    assert.equal("network", err.code)
  end)

  it("one dropped that a newer one replaced is collected and stopped", function()
    local url
    do
      local dropped = assert(sim_module.start({}))
      url = dropped.url
    end
    local newer <close> = assert(sim_module.start({}))
    collectgarbage()
    collectgarbage()
    local resp, err = http.request({ url = url .. "/_sim/health", timeout = 2 })
    assert.is_nil(resp)
    assert.equal("network", err.code)
    assert.equal(newer.url, peerlua.sim.url)
  end)

  it("can be required first from stock lua5.4, before require \"peerlua\"", function()
    -- a fresh lua5.4 (LUA_CPATH finds build/peerlua.so, as run.sh sets it)
    local script = 'local s = require("peerlua.sim") local e = assert(s.start({})) '
      .. 'io.write(tostring(require("peerlua").sim.url == e.url)) e:stop()'
    -- (a sanitized build: the ASan runtime preloaded, PEERLUA_LUA54_ENV)
    local f = assert(io.popen((os.getenv("PEERLUA_LUA54_ENV") or "") .. " lua5.4 -e '" .. script .. "' 2>&1"))
    local out = f:read("a")
    local ok = f:close()
    assert.equal("true", out)
    assert.is_true(ok)
  end)

  it("takes a fixture as a table", function()
    local fx = { instaclustr = { accounts = { { username = "own-user", api_key = "own-key-0001" } } } }
    local sim <close> = assert(sim_module.start({ fixture = fx }))
    assert.equal("own-user", sim.fixture.instaclustr.accounts[1].username)
    local ic = assert(peerlua.instaclustr({}))
    local _, err = ic:list_peerings({ cluster_data_centre_id = CDC }) -- the fixture has no data centres
    assert.equal("not_found", err.code) -- but its account was accepted
    assert.equal("own-user", assert(sim:requests("instaclustr"))[1].credential)
  end)

  it("refuses bad options naming the field, before starting anything", function()
    local cases = {
      { { colour = "red" }, "colour", "is not an option" },
      { { time_scale = -1 }, "time_scale", "must be a number above 0" },
      { { time_scale = "fast" }, "time_scale", "must be a number above 0" },
      { { time_scale = 1e9 }, "time_scale", "must be a number above 0 and at most 3600" },
      { { seed = 1.5 }, "seed", "must be a whole number" },
      { { fixture = 5 }, "fixture", "must be a JSON file's path or a table" },
      { { faults = "zzz" }, "faults", "sim.start: faults: bad fault spec: 'zzz'" },
      { { fixture = { nonsense = {} } }, nil, "nonsense" },
    }
    for _, c in ipairs(cases) do
      local sim, err = sim_module.start(c[1])
      assert.is_nil(sim)
      assert.equal("invalid", err.code)
      if c[2] then assert.equal(c[2], err.details[1].field) end
      assert.matches(c[3], err.message, 1, true)
    end
    assert.has_error(function() sim_module.start("fast") end,
      "sim.start: takes a table of options, start{time_scale = 60, ...}")
  end)
end)
