-- Test your own peering automation against the emulator with busted, the
-- way moto's mock_aws is used in Python: each test starts an emulator in
-- its own process space, runs the script, and reads the emulator's request
-- log. Here the script under test is examples/instaclustr.lua.
--
--   LUA_CPATH='build/?.so;;' busted --lua=lua5.4 examples/spec/instaclustr_spec.lua
--   (or, with peerlua installed, busted --lua=lua5.4 examples/spec/instaclustr_spec.lua;
--   --lua=lua5.4 because Debian's busted otherwise runs under Lua 5.1)
local peerlua = require("peerlua")
local sim_module = require("peerlua.sim")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local SCRIPT = here .. "/../instaclustr.lua"

-- the script's POSTs that create a peering, from the emulator's log
local function creates(sim)
  local n = 0
  for _, e in ipairs(assert(sim:requests("instaclustr"))) do
    if e.method == "POST" and e.path:match("/vpc%-peering/") then n = n + 1 end
  end
  return n
end

describe("examples/instaclustr.lua", function()
  local sim

  before_each(function()
    sim = assert(sim_module.start({ time_scale = 600 })) -- a minute of provisioning in 0.1 s
  end)
  after_each(function() sim:stop() end)

  it("makes one peering, active, with the firewall open; a second run creates nothing", function()
    peerlua.run(dofile, SCRIPT)
    assert.equal(1, creates(sim))
    peerlua.run(dofile, SCRIPT)
    assert.equal(1, creates(sim))
    local ic = assert(peerlua.instaclustr({}))
    local list = assert(ic:list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" }))
    assert.equal(1, #list)
    assert.equal("active", list[1].state)
  end)

  it("fails with the provider's 500, and a run after the outage ends with one peering", function()
    assert(sim:set_faults("POST /instaclustr/*=500:1"))
    local ok, err = pcall(peerlua.run, dofile, SCRIPT)
    assert.is_false(ok)
    assert.matches("unavailable", tostring(err))
    assert(sim:set_faults("none"))
    peerlua.run(dofile, SCRIPT)
    local ic = assert(peerlua.instaclustr({}))
    assert.equal(1, #assert(ic:list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })))
  end)
end)
