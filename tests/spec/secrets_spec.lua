-- Where a client's credential lives. The header every request carries
-- (Basic, a static token, an OAuth2 or IAM token) is held in C memory by
-- the client's engine and added to each request there; no Lua value holds
-- it, so not even the debug library finds it. Each check walks everything
-- a Lua program can reach (the registry and the client, through tables,
-- metatables, upvalues, user values and suspended tasks' locals).
local peerlua = require("peerlua")
local testserver = require("testserver")
local json = require("peerlua.json")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"

-- find(root, pred[, skip]) -> a path to the first string pred accepts, or
-- nil; skip: a table not walked (the emulator's fixture, which holds the
-- accounts' secrets by design)
local function find(root, pred, skip)
  local seen, running = {}, coroutine.running()
  if skip then seen[skip] = true end
  local found
  local function walk(v, path)
    if found then return end
    local t = type(v)
    if t == "string" then
      if pred(v) then found = path end
      return
    end
    if (t ~= "table" and t ~= "function" and t ~= "userdata" and t ~= "thread") or seen[v] then return end
    seen[v] = true
    if t == "table" then
      for k, x in next, v do
        walk(k, path .. "[key]")
        walk(x, path .. "." .. tostring(k))
      end
    elseif t == "function" then
      for i = 1, math.huge do
        local name, x = debug.getupvalue(v, i)
        if not name then break end
        walk(x, path .. "^" .. name)
      end
    elseif t == "userdata" then
      for i = 1, math.huge do
        local x, ok = debug.getuservalue(v, i)
        if not ok then break end
        walk(x, path .. "#" .. i)
      end
    elseif v ~= running then -- a suspended task: its locals
      for level = 0, math.huge do
        if not debug.getinfo(v, level, "l") then break end
        for i = 1, math.huge do
          local name, x = debug.getlocal(v, level, i)
          if not name then break end
          walk(x, path .. "@" .. name)
        end
      end
    end
    walk(debug.getmetatable(v), path .. "<mt>")
  end
  walk(root, "")
  return found
end

local function nowhere(client, pred, skip)
  collectgarbage("collect")
  collectgarbage("collect")
  local path = find(debug.getregistry(), pred, skip) or find(client, pred, skip)
  assert(path == nil, "a Lua value holds the credential: " .. tostring(path))
end

describe("a client's credential header", function()
  local server
  setup(function() server = testserver.attach(peerlua, "--time-scale 600", { quiet = true }) end)
  teardown(function() server:stop() end)

  it("of Instaclustr (Basic) is in no Lua value once the client is made, and still goes out", function()
    -- made at run time, so that it is no constant of this file
    local key = string.format("k%x-only-in-c", os.time())
    local header = "Basic " .. require("peerlua.sim.credential").base64_encode("u:" .. key)
    local ic = assert(peerlua.instaclustr({ username = "u", api_key = key }))
    local list, err = ic:list_peerings({ cluster_data_centre_id = CDC })
    -- the emulator's fixture does not know this account: refused, so the header was sent and read
    assert.is_nil(list)
    assert.equal("auth", err.code)
    nowhere(ic, function(s) return s:find(key, 1, true) or s == header end)
  end)

  it("of UpCloud (a token) and Aiven (aivenv1) is in no Lua value either", function()
    local token = string.format("ucat_%x_only_in_c", os.time())
    local uc = assert(peerlua.upcloud({ token = token }))
    local av = assert(peerlua.aiven({ token = token .. "_aiven" }))
    nowhere(uc, function(s) return s:find(token, 1, true) end)
    nowhere(av, function(s) return s:find(token, 1, true) end)
  end)

  it("of Aerospike (an OAuth2 token from the emulator, and its client secret) is in no Lua value after calls "
     .. "that used it", function()
    local aero = assert(peerlua.aerospike({}))
    local fixture = peerlua.sim.fixture.aerospike
    local list = assert(aero:list_peerings({ cluster_id = fixture.clusters[1].id }))
    assert.is_table(list)
    -- the emulator hands out tokens named simat_...; one was fetched and used
    local tokens = 0
    for _, e in ipairs(server:admin("GET", "requests?provider=aerospike&limit=1000")) do
      if e.path:find("/oauth/token", 1, true) then tokens = tokens + 1 end
    end
    assert.equal(1, tokens)
    nowhere(aero, function(s) return s:find("simat_", 1, true) end)
    -- nor the client secret its token requests send (sealed in C)
    local secret = fixture.accounts[1].client_secret
    nowhere(aero, function(s) return s:find(secret, 1, true) end, peerlua.sim.fixture)
  end)

  it("of Huawei (an IAM token, X-Auth-Token, and the password it is got with) is in no Lua value after a call "
     .. "that used it", function()
    local fx = peerlua.sim.fixture.huawei
    local a = fx.accounts[1]
    local hw = assert(peerlua.huawei({ user = a.user, password = a.password, domain = a.domain,
                                       project_id = a.project_id }))
    assert.is_table(assert(hw:list_peerings({ cluster_id = fx.clusters[1].id })))
    -- the emulator's IAM tokens begin MIIsim (a PKI token's MII...)
    nowhere(hw, function(s) return s:find("MIIsim", 1, true) end)
    -- nor the IAM password its token requests send (sealed in C)
    nowhere(hw, function(s) return s:find(a.password, 1, true) end, peerlua.sim.fixture)
  end)

  it("of a signer (Huawei AK/SK, AWS keys) is in no Lua value: the signing key is held in C", function()
    local sk = string.format("sk%x-only-in-c", os.time())
    local hw = assert(peerlua.huawei({ ak = "AKPEERLUATEST", sk = sk, project_id = ("0f"):rep(16),
                                       security_token = sk .. "-token" }))
    local aws = assert(peerlua.aws({ access_key_id = "AKIAPEERLUATEST", secret_access_key = sk .. "-aws",
                                     session_token = sk .. "-session", region = "us-east-1" }))
    -- the emulator knows neither key: refused, so each request was signed and read
    local _, herr = hw:list_peerings({ cluster_id = peerlua.sim.fixture.huawei.clusters[1].id })
    local _, aerr = aws:get_caller_identity({})
    assert.equal("auth", herr.code)
    assert.is_table(aerr)
    nowhere(hw, function(s) return s:find(sk, 1, true) end)
    nowhere(aws, function(s) return s:find(sk, 1, true) end)
  end)

  it("of a signer: the signature and the session token are made in C as the request is sent, not handed to it", function()
    local sk = string.format("sk%x-signed-in-c", os.time())
    local hw = assert(peerlua.huawei({ ak = "AKPEERLUATEST", sk = sk, project_id = ("0f"):rep(16),
                                       security_token = sk .. "-token", base_url = "http://127.0.0.1:9" }))
    local aws = assert(peerlua.aws({ access_key_id = "AKIAPEERLUATEST", secret_access_key = sk .. "-aws",
                                     session_token = sk .. "-session", region = "us-east-1",
                                     base_url = "http://127.0.0.1:9" }))
    local internals = require("internals")
    local handed = {}
    internals.transport(function(opts)
      handed[#handed + 1] = opts
      return { status = 403, headers = {}, body = "" }
    end)
    hw:list_peerings({ cluster_id = "c1" })
    aws:get_caller_identity({})
    internals.transport(nil)
    assert.equal(2, #handed)
    for i, scheme in ipairs({ "huawei", "aws" }) do
      local opts = handed[i]
      assert.equal(scheme, opts.sign.scheme)
      assert.equal("peerlua.key", getmetatable(opts.sign.key))
      for name in pairs(opts.headers) do
        local n = name:lower()
        assert.is_falsy(n == "authorization" or n:find("token", 1, true) or n:find("date", 1, true), name)
      end
      assert.is_nil(find(opts, function(v) return v:find(sk, 1, true) end))
    end
  end)

  it("of an assumed AWS role (STS's temporary keys) is in no Lua value after a call that used it", function()
    local aws = assert(peerlua.aws({ region = "us-west-2", role_arn = "arn:aws:iam::210987654321:role/peerlua-accepter" }))
    -- the role's account answers: the call went with the temporary keys
    assert.equal("210987654321", assert(aws:account()))
    -- the emulator's session tokens begin FwoGZXIvYXdzE (a real STS token's FwoGZXIvYXdz...)
    nowhere(aws, function(s) return s:find("FwoGZXIvYXdzE", 1, true) end)
  end)

  it("is wiped when the client is closed", function()
    local ic = assert(peerlua.instaclustr({}))
    assert(ic:list_peerings({ cluster_data_centre_id = CDC }))
    local engine = require("internals").state(ic).engine -- what only the debug library reaches
    assert.is_true(engine:holds())
    ic:close()
    assert.is_false(engine:holds())
  end)
end)

describe("the walk itself", function()
  it("finds a credential a client state would hold in a field", function()
    local held = { state = { creds = { api_key = string.format("k%x-plain", os.time()) } } }
    local key = held.state.creds.api_key
    assert.is_string(find(held, function(s) return s == key end))
    local co = coroutine.create(function(secret) coroutine.yield(secret) end)
    coroutine.resume(co, key .. "!")
    assert.is_string(find({ co }, function(s) return s == key .. "!" end))
    assert.is_nil(find(json, function(s) return s == key end))
  end)
end)
