-- Two or four copies of one script at once (two CI jobs, a retried
-- pipeline) against one emulator: ensure_peering takes turns, so exactly
-- one create reaches the provider and every copy ends with the same
-- peering. Lists answer slowly (fault slow=150ms), so without the lock
-- every copy lists before any creates and each creates its own. With
-- Redis, each copy has its own runtime directory, as on separate machines:
-- only the Redis lock can keep them apart.
local peerlua = require("peerlua")
local testserver = require("testserver")
local internals = require("internals")
local testredis = require("testredis")
local http = peerlua.http

local BIN = assert(os.getenv("PEERLUA_BIN"), "PEERLUA_BIN is not set")

-- One ensure_peering's arguments per provider, as Lua source: the copies
-- and this spec read the same text.
local ARGS_SOURCE = [[
return {
  instaclustr = { cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364", peer_account_id = "123456789012",
                  peer_vpc_id = "vpc-0a0b0c0d", peer_subnets = { "10.9.0.0/16" } },
  huawei = { cluster_id = "6b29f3c0-4e1d-4d6a-9c58-2f7a8b9c0d1e", vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb",
             name = "cs-to-peer", accept_tenant_id = "4f30b9215e054c908d18f2b150131646" },
  aerospike = { cluster_id = "e2e81cba-446e-4ff9-9b92-9a9992af44c6", vpc_id = "vpc-0a0b0c0d",
                cidr_block = "172.31.0.0/16", account_id = "123456789012", region = "us-east-1" },
  aiven = { project_vpc_id = "1c6a3d5e-7b9f-4e21-a8c4-5d6e7f809a1b", peer_cloud_account = "upcloud",
            peer_vpc = "03126dc1-a69f-4bc2-8b24-e31c22d64712" },
  upcloud = { name = "a-b", network = "03126dc1-a69f-4bc2-8b24-e31c22d64712",
              peer_network = "03585987-bf7d-4544-8e9b-5a1b4d74a333" },
}
]]
local ARGS = assert(load(ARGS_SOURCE, "args"))()

-- A copy: one ensure_peering (arg[1]: provider), printing id, how, and the
-- number of duplicates it saw.
local SCRIPT = "local ARGS = (function() " .. ARGS_SOURCE .. " end)()\n" .. [[
local peerlua = require("peerlua")
peerlua.options.quiet = true
local name = arg[1]
local c = assert(peerlua[name](name == "aiven" and { project = "sim-project" } or {}))
local p, how = assert(c:ensure_peering(ARGS[name]))
print(p.id, how, p.duplicates and #p.duplicates or 0)
]]

local CREATE = {
  instaclustr = "/vpc%-peering/[^/]+$", huawei = "/peering$", aerospike = "/vpc%-peerings$",
  aiven = "/peering%-connections$", upcloud = "/network%-peering$",
}

describe("two copies of a script at once", function()
  local server, script, dir

  local function admin(method, path, body)
    local resp = assert(http.request({ method = method, url = server.url .. "/_sim/" .. path, json = body }))
    assert(resp.status == 200, resp.body)
    return resp:json()
  end

  setup(function()
    server = testserver.start("--time-scale 600")
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    script = dir .. "/ensure.lua"
    local f = assert(io.open(script, "w"))
    f:write(SCRIPT)
    f:close()
  end)
  teardown(function()
    server:stop()
    os.execute("rm -rf " .. dir)
  end)

  -- Run n copies at once (redis_url: for a shared throttle; apart: each
  -- in its own runtime directory, as if on separate machines); their
  -- outputs (id, how, duplicates seen, stderr) and the statuses of the
  -- creates the emulator answered.
  local function race(name, n, redis_url, apart)
    admin("POST", "reset")
    admin("POST", "faults", { spec = "GET /*=slow=150ms:1" })
    local cmd = { "cd " .. dir }
    for i = 1, n do
      local run = dir .. "/run" .. (apart and i or 0)
      cmd[#cmd + 1] = string.format("mkdir -p -m 700 %s && (XDG_RUNTIME_DIR=%s PEERLUA_SIM_URL=%s PEERLUA_REDIS_URL=%s "
        .. "timeout 60 %q ensure.lua %s >out.%d 2>err.%d; echo $? >rc.%d) &",
        run, run, server.url, redis_url or "", BIN, name, i, i, i)
    end
    cmd[#cmd + 1] = "wait"
    assert(os.execute(table.concat(cmd, "\n")))
    local outs = {}
    for i = 1, n do
      local function read(what)
        local f = assert(io.open(string.format("%s/%s.%d", dir, what, i)))
        local s = f:read("a")
        f:close()
        return s
      end
      assert.equal("0\n", read("rc"), "copy " .. i .. ": " .. read("err"))
      local id, how, dups = read("out"):match("^(%S+)\t(%S+)\t(%d+)\n$")
      assert(id, "copy " .. i .. " printed: " .. read("out"))
      outs[i] = { id = id, how = how, dups = tonumber(dups), err = read("err") }
    end
    admin("POST", "faults", { spec = "none" })
    local creates = {}
    for _, e in ipairs(admin("GET", "requests?limit=100000")) do
      if e.method == "POST" and e.path:match(CREATE[name]) then creates[#creates + 1] = e.status end
    end
    return outs, creates
  end

  local function check(outs, creates)
    assert.equal(1, #creates, "creates answered: " .. table.concat(creates, " "))
    assert.is_true(creates[1] < 300)
    local made = 0
    for _, o in ipairs(outs) do
      assert.equal(outs[1].id, o.id)
      assert.equal(0, o.dups)
      if o.how == "created" then made = made + 1 else assert.equal("existing", o.how) end
    end
    assert.equal(1, made)
  end

  for _, name in ipairs({ "instaclustr", "huawei", "aerospike", "aiven", "upcloud" }) do
    for _, n in ipairs({ 2, 4 }) do
      it(("%d copies of a %s ensure_peering create one peering (file lock)"):format(n, name), function()
        check(race(name, n))
      end)
    end
  end

  it("copies whose Redis is down take turns on this machine's lock, and say so", function()
    local outs, creates = race("instaclustr", 2, "redis://127.0.0.1:1")
    check(outs, creates)
    for _, o in ipairs(outs) do assert.matches("shared throttle unavailable", o.err) end
  end)

  it("tasks of one process take turns too", function()
    admin("POST", "reset")
    admin("POST", "faults", { spec = "GET /*=slow=150ms:1" })
    peerlua.set_sim({ url = server.url })
    peerlua.options.quiet = true
    local ok, err = pcall(function()
      local c = assert(peerlua.huawei({}))
      local results = peerlua.bulk({ 1, 2, 3 }, function() return assert(c:ensure_peering(ARGS.huawei)) end)
      for i = 2, 3 do assert.equal(results[1].value.id, results[i].value.id) end
    end)
    peerlua.options.quiet = nil
    peerlua.set_sim(nil)
    admin("POST", "faults", { spec = "none" })
    assert(ok, err)
    local creates = 0
    for _, e in ipairs(admin("GET", "requests?limit=100000")) do
      if e.method == "POST" and e.path:match(CREATE.huawei) then creates = creates + 1 end
    end
    assert.equal(1, creates)
  end)

  it("reports a second matching peering that the provider let through", function()
    admin("POST", "reset")
    peerlua.set_sim({ url = server.url })
    peerlua.options.quiet = true
    local ok, err = pcall(function()
      local args = ARGS.huawei
      local c = assert(peerlua.huawei({}))
      local first = assert(c:create_peering(args)) -- made by something that does not take the lock
      local state = internals.state(c) -- the find's list: one that lags the first create
      local list, looked = state.find_list, 0
      state.find_list = function(self, a)
        looked = looked + 1
        if looked == 1 then return {} end
        return list(self, a)
      end
      local p = assert(c:ensure_peering(args))
      assert.is_table(p.duplicates)
      table.sort(p.duplicates)
      local want = { first.id, p.id }
      table.sort(want)
      assert.same(want, p.duplicates)
    end)
    peerlua.options.quiet = nil
    peerlua.set_sim(nil)
    assert(ok, err)
  end)

  it("refuses a lock directory that others can write", function()
    local run = dir .. "/open"
    assert(os.execute(string.format("mkdir -p -m 700 %s && mkdir -m 777 %s/peerlua && chmod 777 %s/peerlua",
                                    run, run, run)))
    local f = assert(io.popen(string.format("cd %s && XDG_RUNTIME_DIR=%s PEERLUA_SIM_URL=%s timeout 60 %q ensure.lua "
                                            .. "aerospike 2>&1; echo rc=$?", dir, run, server.url, BIN)))
    local out = f:read("a")
    f:close()
    assert.matches("cannot lock aerospike peering .* lock directory " .. run:gsub("%p", "%%%0")
                   .. "/peerlua can be written by group or others", out)
    assert.matches("rc=1\n$", out)
  end)

  it("locks in /tmp/peerlua-UID when XDG_RUNTIME_DIR names no directory", function()
    local f = assert(io.popen(string.format("cd %s && XDG_RUNTIME_DIR=%s/absent PEERLUA_SIM_URL=%s timeout 60 %q "
                                            .. "ensure.lua aerospike 2>&1; echo rc=$?", dir, dir, server.url, BIN)))
    local out = f:read("a")
    f:close()
    assert.matches("rc=0\n$", out)
    assert.is_nil(io.open(dir .. "/absent"))
  end)

  describe("with a shared throttle on Redis", function()
    local redis
    setup(function() redis = testredis.start() end)
    teardown(function() redis:stop() end)

    for _, name in ipairs({ "instaclustr", "huawei" }) do
      for _, n in ipairs({ 2, 4 }) do
        it(("%d copies of a %s ensure_peering create one peering (Redis lock)"):format(n, name), function()
          check(race(name, n, redis.url, true))
          assert.equal("", redis:cli("--scan", "--pattern", "*lock:*")) -- every copy let go
        end)
      end
    end
  end)
end)
