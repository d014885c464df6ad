-- p:wait checks its arguments before it waits: a misspelt state or option,
-- a non-table, a bad timeout is `invalid` at once, with no request sent.
local peerlua = require("peerlua")
local testserver = require("testserver")
local http = peerlua.http

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"

describe("p:wait arguments", function()
  local server, p

  local function requests()
    local resp = assert(http.request({ url = server.url .. "/_sim/requests" }))
    return #resp:json()
  end

  setup(function()
    server = testserver.attach(peerlua, "--time-scale 600", { quiet = true })
    local ic = assert(peerlua.instaclustr({}))
    p = assert(ic:ensure_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
                                   peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" } }))
  end)
  teardown(function() server:stop() end)

  local cases = {
    { "a misspelt state", { "actve" }, "state",
      "'actve' is not a state %(did you mean active%?%) %(one of pending, pending_acceptance," },
    { "no state", {}, "state", "must be a state name" },
    { "a misspelt option", { "active", { timout = 2 } }, "timout",
      "not an option of wait %(did you mean timeout%?%) %(known: interval, " },
    { "options that are not a table", { "active", "soon" }, "options", "must be a table" },
    { "a negative timeout", { "active", { timeout = -1 } }, "timeout", "finite number of seconds > 0" },
    { "a NaN interval", { "active", { interval = 0 / 0 } }, "interval", "finite number" },
    { "an infinite timeout", { "active", { timeout = math.huge } }, "timeout", "finite number" },
    { "a string timeout", { "active", { timeout = "10" } }, "timeout", "must be a number" },
    { "a progress callback that is no function", { "active", { on_progress = true } }, "on_progress",
      "must be a function" },
  }
  for _, case in ipairs(cases) do
    local what, args, field, rule = case[1], case[2], case[3], case[4]
    it("refuses " .. what .. " at once", function()
      local before = requests()
      local r, err = p:wait(table.unpack(args, 1, 2))
      assert.is_nil(r)
      assert.equal("invalid", err.code)
      assert.equal("wait", err.op)
      assert.equal(field, err.details[1].field)
      assert.matches(rule, err.details[1].rule)
      assert.matches(field, tostring(err))
      assert.equal(before, requests()) -- nothing sent (admin reads are not logged)
    end)
  end

  it("names p:wait_deleted in its own errors, not the wait it is made of", function()
    local r, err = p:wait_deleted({ timeot = 3 })
    assert.is_nil(r)
    assert.equal("wait_deleted", err.op)
    assert.matches("timeot: is not an option of wait_deleted (did you mean timeout?)", err.message, 1, true)
  end)

  it("ends at a terminal state, naming it once (not 'rejected (rejected)')", function()
    local ic = assert(peerlua.instaclustr({}))
    local q = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
                                         peer_vpc_id = "vpc-0b0b0b0b", peer_subnets = { "10.7.0.0/16" } }))
    assert(peerlua.sim.accept(q, false))
    local r, err = q:wait("active", { timeout = 60, interval = 0.2 })
    assert.is_nil(r)
    assert.equal("rejected", err.code)
    assert.equal("peering " .. q.id .. " is rejected, not active", err.message)
  end)

  it("still waits with good arguments", function()
    peerlua.sim.accept(p)
    assert(p:wait("active", { timeout = 60, interval = 0.2, max_interval = 1 }))
    assert.equal("active", p.state)
  end)
end)

-- How often a wait polls is the client's poll_scale option (an emulator's
-- clients default to 0.1 through its hook), not a branch on emulation.
describe("poll_scale", function()
  local server

  local function lists()
    local resp = assert(http.request({ url = server.url .. "/_sim/requests?provider=instaclustr" }))
    local n = 0
    for _, e in ipairs(resp:json()) do
      if e.method == "GET" then n = n + 1 end
    end
    return n
  end

  setup(function() server = testserver.attach(peerlua, "--time-scale 1", { quiet = true }) end)
  teardown(function() server:stop() end)

  -- a peering that stays pending_acceptance for the whole wait
  local function waited(opts)
    local ic = assert(peerlua.instaclustr(opts))
    local p = assert(ic:ensure_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
                                         peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" } }))
    local before = lists()
    local _, err = p:wait("active", { timeout = 0.6, interval = 1, max_interval = 1 })
    assert.equal("timeout", err.code)
    assert.matches("still pending_acceptance after %d%.%d s %(waiting for active%)", err.message) -- 0.6, not "1 s"
    return lists() - before
  end

  it("scales the poll interval: 0.01 polls many times in 0.6 s where 1 polls once at most", function()
    local fast = waited({ poll_scale = 0.01 })
    local slow = waited({ poll_scale = 1 })
    assert.is_true(fast >= 10, "poll_scale 0.01: " .. fast .. " lists")
    assert.is_true(slow <= 2, "poll_scale 1: " .. slow .. " lists")
  end)

  it("is refused out of 0.001 to 100, naming the field", function()
    for _, v in ipairs({ 0, -1, 1000, 0 / 0 }) do
      local c, err = peerlua.instaclustr({ poll_scale = v })
      assert.is_nil(c)
      assert.equal("poll_scale", err.details[1].field)
    end
    assert.has_error(function() peerlua.set_sim({ url = server.url, poll_scale = 0 }) end)
  end)
end)
