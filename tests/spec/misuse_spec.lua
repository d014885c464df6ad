-- Misuse of the API itself raises a message that says how to call it.
local peerlua = require("peerlua")

describe("calling a client operation with a dot", function()
  it("says to use a colon, at the caller's line", function()
    local ic = assert(peerlua.instaclustr({ username = "u", api_key = "k", base_url = "http://127.0.0.1:9" }))
    local ok, msg = pcall(function()
      local r = ic.list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
      return r
    end)
    assert.is_false(ok)
    assert.matches("misuse_spec%.lua:%d+: list_peerings: call it as a method, client:list_peerings{...}", msg)
    -- handed to pcall itself, the method's caller is C: the script's line is the one above it
    ok, msg = pcall(ic.list_peerings, {})
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: list_peerings: call it as a method", msg)
    local p = setmetatable({ provider = "instaclustr", id = "x", raw = {} },
      require("internals").core.require("peerlua.client").Peering)
    ok, msg = pcall(p.wait, "active")
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: wait: call it as a method, p:wait", msg)
    -- arguments to a method that takes none would be ignored without a word
    ok, msg = pcall(function() return p:delete({ force = true }) end)
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: delete: takes no arguments: p:delete%(%)$", msg)
  end)
end)

describe("a misspelled name", function()
  it("of a method: raised at the caller's line with the nearest method, not left to fail as a nil call", function()
    local ic = assert(peerlua.instaclustr({ username = "u", api_key = "k", base_url = "http://127.0.0.1:9" }))
    local ok, msg = pcall(function() return ic:list_peering({}) end)
    assert.is_false(ok)
    assert.matches("misuse_spec%.lua:%d+: instaclustr client has no method 'list_peering' %(did you mean "
      .. "'list_peerings'%?%)", msg)
    assert.is_nil(ic.no_such_operation) -- far from every method: nil, so a script can ask
  end)

  it("of a provider: raised with the nearest one; a field far from any (or peerlua.sim unset) is nil", function()
    local ok, msg = pcall(function() return peerlua.instaclusterr({}) end)
    assert.is_false(ok)
    assert.matches("misuse_spec%.lua:%d+: peerlua has no field 'instaclusterr' %(did you mean "
      .. "peerlua%.instaclustr%?%)", msg)
    assert.is_nil(peerlua.no_such_thing_at_all)
    if rawget(peerlua, "sim") == nil then assert.is_nil(peerlua.sim) end
  end)
end)

describe("a misspelled setting, state or option", function()
  it("is named with the one it is near: retries, the emulator's options (a wait's: wait_spec)", function()
    local _, err = peerlua.upcloud({ token = "t", retries = { attempt = 3 } })
    assert.matches("is not a retry setting (did you mean attempts?)", err.details[1].rule, 1, true)
    _, err = require("peerlua.sim").start({ timescale = 600 })
    assert.matches("is not an option (did you mean time_scale?)", err.details[1].rule, 1, true)
  end)
end)

describe("an AWS step", function()
  it("raises at the caller's line for a value that is not a peering, and names the option a typo is near", function()
    local aws = assert(peerlua.aws({ access_key_id = "AKIDEXAMPLE", secret_access_key = "not-a-secret",
                                     region = "us-east-1", base_url = "http://127.0.0.1:9" }))
    local ok, msg = pcall(function() local r = aws:accept_peering(nil) return r end)
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: bad argument #1 to 'accept_peering' %(a peering value expected, "
      .. "got nil%)", msg)
    local Peering = require("internals").core.require("peerlua.client").Peering -- what peering values are
    local p = setmetatable({ provider = "instaclustr", id = "x", raw = {} }, Peering)
    ok, msg = pcall(function() local r = aws:ensure_routes(p, 5) return r end)
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: bad argument #2 to 'ensure_routes' %(table expected, got number%)", msg)
    local r, err = aws:accept_peering(p, { timout = 5 })
    assert.is_nil(r)
    assert.equal("timout", err.details[1].field)
    assert.equal("is not an option of this step (did you mean timeout?)", err.details[1].rule)
  end)

  it("names every problem with its options at once, before any request", function()
    local aws = assert(peerlua.aws({ access_key_id = "AKIDEXAMPLE", secret_access_key = "not-a-secret",
                                     region = "us-east-1", base_url = "http://127.0.0.1:9" })) -- nothing listens
    local Peering = require("internals").core.require("peerlua.client").Peering
    local p = setmetatable({ provider = "instaclustr", id = "x", raw = {}, state = "pending_acceptance" }, Peering)
    local r, err = aws:ensure_ingress(p, { security_group = "group-1", ports = { 9042, 0, "x" }, timeout = -1,
                                           zzz = true, description = 7 })
    assert.is_nil(r)
    assert.equal("invalid", err.code)
    local got = {}
    for _, d in ipairs(err.details) do got[#got + 1] = d.field end
    assert.same({ "zzz", "timeout", "description", "security_group", "ports[2]", "ports[3]" }, got)
    assert.matches("^invalid options: zzz: is not an option of this step; timeout: must be", err.message)
    r, err = aws:ensure_routes(p, { route_tables = { "rtb-1", "rtb-0a1b2c3d" , "x" }, timeout = "soon" })
    assert.is_nil(r)
    got = {}
    for _, d in ipairs(err.details) do got[#got + 1] = d.field end
    assert.same({ "timeout", "route_tables[1]", "route_tables[3]" }, got)
  end)
end)

describe("a peering value", function()
  it("names the method or field a misspelt one is near, at the caller's line; other missing names are nil", function()
    local Peering = require("internals").core.require("peerlua.client").Peering
    local p = setmetatable({ provider = "instaclustr", id = "x", raw = {} }, Peering)
    local ok, msg = pcall(function() local r = p:wiat("active") return r end)
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: a peering has no method 'wiat' %(did you mean wait%?%)$", msg)
    assert.is_nil(p.region)
    assert.is_nil(p.__index)
    -- a misspelt field would be a silent nil: raised, with the field meant
    ok, msg = pcall(function() return p.stat end)
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: a peering has no field 'stat' %(did you mean state%?%)$", msg)
    assert.is_nil(p.status) -- a documented field that is not set is nil, as is a short name near "id"
    assert.is_nil(p.ip)
    assert.is_function(p.wait_deleted)
  end)
end)

describe("a client constructor", function()
  it("says what it takes: a table, at the caller's line, and an API generation it knows", function()
    local ok, msg = pcall(function() local c = peerlua.instaclustr("x") return c end)
    assert.is_false(ok)
    assert.matches("^[^:]*misuse_spec%.lua:%d+: bad argument #1 to 'instaclustr' %(table expected, got string%)", msg)
    local c, err = peerlua.instaclustr({ username = "u", api_key = "k", api = "v3" })
    assert.is_nil(c)
    assert.matches("api: is not a known API generation (one of v1, v2)", err.message, 1, true)
  end)
end)

-- Each error value names the line of the caller's code that made the failing
-- call (err.where, and the start of tostring(err)), skipping peerlua's own
-- frames, so a script with many assert(c:op{...}) says which one failed.
describe("an error value", function()
  local here = debug.getinfo(1, "S").short_src
  local function line() return debug.getinfo(2, "l").currentline end
  local ic = assert(peerlua.instaclustr({ username = "u", api_key = "k", base_url = "http://127.0.0.1:9",
    retries = { attempts = 1 } }))

  local function blamed(err, at)
    assert.is_true(peerlua.is_error(err), tostring(err))
    assert.equal(here .. ":" .. at, err.where)
    assert.equal(here .. ":" .. at .. ": ", tostring(err):sub(1, #err.where + 2))
  end

  it("names the caller's line for bad arguments", function()
    local _, e1 = ic:create_peering({}); local l1 = line()
    local _, e2 = ic:list_peerings({ cluster_data_centre_id = "x" }); local l2 = line()
    blamed(e1, l1)
    blamed(e2, l2)
    assert.matches("instaclustr create_peering: invalid arguments", tostring(e1), 1, true)
  end)

  it("names the caller's line when the request itself fails", function()
    local _, err = ic:list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" }); local l = line()
    assert.equal("network", err.code)
    blamed(err, l)
  end)

  it("names the caller's line, not peerlua's, for a workflow and when raised", function()
    local _, err = ic:ensure_peering({ cluster_data_centre_id = "x" }); local l = line()
    blamed(err, l)
    -- busted's assert turns tables into strings; error() raises the value as Lua's assert does
    local ok, raised = pcall(function() error((select(2, ic:create_peering({})))) end); local l2 = line()
    assert.is_false(ok)
    blamed(raised, l2)
  end)

  it("names the line inside the caller's task", function()
    local t = peerlua.spawn(function()
      local _, err = ic:create_peering({}); return err, line()
    end)
    local err, l = t:wait()
    blamed(err, l)
  end)

  it("keeps a where given to peerlua.error", function()
    assert.equal("elsewhere:1", peerlua.error({ code = "invalid", message = "m", where = "elsewhere:1" }).where)
  end)
end)

describe("a client's methods", function()
  it("are its API generation's operations: a v1 Instaclustr client has no get_firewall_rule", function()
    local v1 = assert(peerlua.instaclustr({ api = "v1", username = "u", api_key = "k", base_url = "http://127.0.0.1:9" }))
    local v2 = assert(peerlua.instaclustr({ api = "v2", username = "u", api_key = "k", base_url = "http://127.0.0.1:9" }))
    assert.is_nil(v1.get_firewall_rule)
    assert.is_function(v2.get_firewall_rule)
    assert.is_function(v1.list_firewall_rules)
    assert.equal("peerlua.client", getmetatable(v1)) -- locked: the REPL reads completion as debug.getmetatable does
    local function completion(c) return debug.getmetatable(c).__complete(c) end
    for _, name in ipairs(completion(v1)) do
      assert.is_not.equal("get_firewall_rule", name)
      assert.is_function(v1[name], name)
    end
    local found = false
    for _, name in ipairs(completion(v2)) do found = found or name == "get_firewall_rule" end
    assert.is_true(found)
    local ok, msg = pcall(function() return v1:get_firewall_rule({}) end)
    assert.is_false(ok)
    assert.matches("misuse_spec%.lua:%d+: attempt to call a nil value %(method 'get_firewall_rule'%)", msg)
    assert.is_true(peerlua.is_error(select(2, v1:list_peerings({ cluster_data_centre_id = "x" }))))
  end)

  it("take no table when every argument is optional, and otherwise say how to call them at the caller's line",
    function()
      local up = assert(peerlua.upcloud({ username = "u", password = "p", base_url = "http://127.0.0.1:9",
        retries = { attempts = 1 } }))
      local _, err = up:list_peerings() -- sent (and failed to connect), not refused
      assert.equal("network", err.code)
      local ic = assert(peerlua.instaclustr({ username = "u", api_key = "k", base_url = "http://127.0.0.1:9" }))
      local ok, msg = pcall(function() local r = ic:list_peerings() return r end)
      assert.is_false(ok)
      assert.matches("^[^:]*misuse_spec%.lua:%d+: bad argument #1 to 'list_peerings' %(table expected, got nil%): "
        .. "call it as client:list_peerings{...}", msg)
      ok, msg = pcall(function() local r = ic:get_peering("x") return r end)
      assert.is_false(ok)
      assert.matches("misuse_spec%.lua:%d+: bad argument #1 to 'get_peering' %(table expected, got string%)", msg)
      for _, bad in ipairs({ "x", false }) do
        ok, msg = pcall(function() local r = ic:ensure_peering(bad or nil) return r end)
        assert.is_false(ok)
        assert.matches("^[^:]*misuse_spec%.lua:%d+: bad argument #1 to 'ensure_peering' %(table expected, got "
          .. (bad and "string" or "nil") .. "%): call it as client:ensure_peering{...}", msg)
      end
    end)
end)

describe("the REPL's completion of peerlua.", function()
  it("lists what the README documents, not the internals", function()
    local names = {}
    for _, k in ipairs(getmetatable(peerlua).__complete(peerlua)) do names[k] = true end
    for _, k in ipairs({ "instaclustr", "huawei", "http", "json", "spawn", "run", "error", "dry_run" }) do
      assert.is_true(names[k], k)
    end
    for _, k in ipairs({ "set_sim", "connect_sim_env", "start_emulator", "plan", "progress" }) do
      assert.is_nil(names[k], k)
    end
  end)
end)

describe("peerlua.wait_all and peerlua.bulk", function()
  it("say what they take, not an error from inside peerlua", function()
    local cases = {
      { function() return peerlua.wait_all(5) end, "bad argument #1 to 'wait_all' (a list of tasks expected, got number)" },
      { function() return peerlua.wait_all({ 5 }) end, "item 1 is a number, not a task" },
      { function() return peerlua.wait_all({ peerlua.spawn(function() end) }, "x") end,
        "bad argument #2 to 'wait_all' (seconds, a number 0 or more" },
      -- a hole Lua's length counts in (the constructor's array part) is refused too
      { function() return peerlua.bulk({ "a", "b", "c", nil, "e" }, function() end) end,
        "bad argument #1 to 'bulk' (a list expected: item 4 of 5 is nil)" },
    }
    for _, c in ipairs(cases) do
      local ok, msg = pcall(c[1])
      assert.is_false(ok)
      assert.matches("misuse_spec%.lua:%d+: ", msg)
      assert.matches(c[2], msg, 1, true)
    end
  end)
end)
