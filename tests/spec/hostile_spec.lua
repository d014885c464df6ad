-- Values that would send a request somewhere else or defeat the policy are
-- refused with an "invalid" error naming the field and the rule, before any
-- request: path parameters (".", "..", and "/", "?", "#" only ever
-- percent-encoded), the Huawei region (it builds host names), numeric
-- options out of bounds, a base_url holding a password, a credentials file
-- that is a directory or a FIFO. Errors hold no path to credentials.
local peerlua = require("peerlua")

local C = "11111111-2222-3333-4444-555555555555"
local HEX32 = ("ab"):rep(16)
-- a closed loopback port: a request that went out would fail as "network"
local NOWHERE = "http://127.0.0.1:9"

local function refused(field, rule, f, ...)
  local r, err = f(...)
  assert.is_nil(r)
  assert.equal("invalid", err.code, tostring(err))
  assert.matches(field, err.message, 1, true)
  assert.matches(rule, err.message, 1, true)
end

describe("a path parameter", function()
  local aero
  setup(function()
    aero = assert(peerlua.aerospike({ client_id = "id", client_secret = "s", base_url = NOWHERE,
                                      token_url = NOWHERE .. "/token" }))
  end)

  for _, bad in ipairs({ ".", ".." }) do
    it("'" .. bad .. "' is refused, not sent (Aerospike peering_id, Huawei cluster_id, Aiven project and peer_vpc)", function()
      refused("peering_id", "must not be '.' or '..'", aero.delete_peering, aero, { cluster_id = C, peering_id = bad })
      local hw = assert(peerlua.huawei({ ak = "a", sk = "b", project_id = HEX32, region = "cn-north-4",
                                         base_url = NOWHERE }))
      refused("cluster_id", "must not be '.' or '..'", hw.list_peerings, hw, { cluster_id = bad })
      local av = assert(peerlua.aiven({ token = "t", base_url = NOWHERE }))
      refused("project", "must not be '.' or '..'", av.list_peerings, av, { project = bad, project_vpc_id = C })
      refused("peer_vpc", "must not be '.' or '..'", av.delete_peering, av,
              { project = "p", project_vpc_id = C, peer_cloud_account = "upcloud", peer_vpc = bad })
    end)
  end

  it("with control characters is refused", function()
    refused("peering_id", "control characters", aero.delete_peering, aero, { cluster_id = C, peering_id = "a\nb" })
  end)

  it("holding / ? # % is percent-encoded into one segment", function()
    local core = require("internals").core
    local req = assert(core.prepare("aerospike", "", "delete_peering", { cluster_id = C, peering_id = "../x/?a=1#f%" }))
    assert.equal("/database/clusters/" .. C .. "/vpc-peerings/..%2Fx%2F%3Fa%3D1%23f%25", req.path)
    req = assert(core.prepare("aiven", "", "delete_peering",
      { project = "a/b", project_vpc_id = C, peer_cloud_account = "upcloud", peer_vpc = "x?y" }))
    assert.equal("/v1/project/a%2Fb/vpcs/" .. C .. "/peering-connections/peer-accounts/upcloud/peer-vpcs/x%3Fy", req.path)
  end)
end)

describe("the Huawei region", function()
  local base = { ak = "a", sk = "b", project_id = HEX32 }
  local function with(extra)
    local o = {}
    for k, v in pairs(base) do o[k] = v end
    for k, v in pairs(extra) do o[k] = v end
    return o
  end

  it("that is not one DNS label is refused, from the options", function()
    for _, bad in ipairs({ "x@127.0.0.1:18443/#", "a.b", "cn-north-4/", "CN-NORTH-4", "-x", "" }) do
      refused("region", "must be a Huawei region like cn-north-4", peerlua.huawei, with({ region = bad }))
    end
  end)

  it("is read from HW_REGION_NAME and the profile even when the options hold the keys, and checked", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local file = dir .. "/credentials"
    local f = assert(io.open(file, "w"))
    f:write("[default]\nhuawei.region = evil.example.com:443/#\n")
    f:close()
    assert(os.execute("chmod 600 " .. file))
    local script = dir .. "/r.lua"
    f = assert(io.open(script, "w"))
    f:write(([[
      local c, err = require("peerlua").huawei{ ak = "a", sk = "b", project_id = %q }
      print(c and c:settings().endpoints.vpc or err.code .. ": " .. err.message)
    ]]):format(HEX32))
    f:close()
    local bin = assert(os.getenv("PEERLUA_BIN"))
    local function run(env)
      local p = assert(io.popen(("env -u HW_REGION_NAME PEERLUA_CREDENTIALS=%s %s %q %q"):format(file, env, bin, script)))
      local out = p:read("a")
      p:close()
      return out
    end
    assert.matches("https://vpc.ap%-southeast%-1.myhuaweicloud.com", run("HW_REGION_NAME=ap-southeast-1"))
    assert.matches("invalid: invalid options: region: must be a Huawei region", run("HW_REGION_NAME='a@b/'"))
    assert.matches("invalid: invalid options: region: must be a Huawei region", run(""))
    os.execute("rm -rf " .. dir)
  end)

  it("endpoints are URLs of known services", function()
    refused("endpoints.cs", "must be a URL string", peerlua.huawei, with({ endpoints = { cs = 5 } }))
    refused("endpoints.xs", "is not a service", peerlua.huawei, with({ endpoints = { xs = "https://a" } }))
    refused("endpoints.vpc", "must not hold a user name or password", peerlua.huawei,
            with({ endpoints = { vpc = "https://u:p@a" } }))
  end)
end)

describe("numeric options", function()
  local cases = {
    { { retries = { attempts = 0 / 0 } }, "retries.attempts", "whole number from 1 to 100" },
    { { retries = { attempts = 2.5 } }, "retries.attempts", "whole number from 1 to 100" },
    { { retries = { attempts = 0 } }, "retries.attempts", "whole number from 1 to 100" },
    { { retries = { attempts = 1e9 } }, "retries.attempts", "whole number from 1 to 100" },
    { { retries = { deadline = math.huge } }, "retries.deadline", "from 0 to 86400" },
    { { retries = { base = -1 } }, "retries.base", "from 0 to 600" },
    { { retries = { cap = "1" } }, "retries.cap", "must be a number" },
    { { rate = 1e-300 }, "rate", "from 0.001 to 10000" },
    { { rate = 0 / 0 }, "rate", "from 0.001 to 10000" },
    { { burst = 0.5 }, "burst", "whole number from 1 to 10000" },
    { { timeout = 0 / 0 }, "timeout", "from 0.001 to 3600" },
    { { timeout = math.huge }, "timeout", "from 0.001 to 3600" },
    { { timeout = 0 }, "timeout", "from 0.001 to 3600" },
  }
  for _, c in ipairs(cases) do
    it(c[2] .. " out of bounds is invalid, not raised", function()
      local o = c[1]
      o.token = "t"
      refused(c[2], c[3], peerlua.upcloud, o)
    end)
  end

  it("within bounds are taken (attempts 2.0 counts as 2)", function()
    local c = assert(peerlua.upcloud({ token = "t", retries = { attempts = 2.0 }, rate = 0.001, timeout = 3600 }))
    assert.equal(2, c:settings().retries.attempts)
    assert.equal("integer", math.type(c:settings().retries.attempts))
  end)
end)

describe("base_url", function()
  it("with a user name or password is refused, so it can never reach a trace", function()
    refused("base_url", "must not hold a user name or password", peerlua.instaclustr,
            { username = "u", api_key = "k", base_url = "https://user:pass@api.example.com" })
    refused("base_url", "must be an http or https URL", peerlua.instaclustr,
            { username = "u", api_key = "k", base_url = "file:///etc/passwd" })
  end)

  it("of plain http:// to another host than this one is refused when the client is made, not at each call", function()
    refused("base_url", "plain http:// is only allowed to loopback hosts", peerlua.upcloud,
            { token = "t", base_url = "http://api.example.com/1.3" })
    for _, url in ipairs({ "http://127.0.0.1:9/x", "http://[::1]:9", "http://localhost", "https://api.example.com" }) do
      assert(peerlua.upcloud({ token = "t", base_url = url }), url)
    end
    assert(peerlua.upcloud({ token = "t", base_url = "http://api.example.com", insecure = true }))
  end)
end)

describe("the credentials file", function()
  local dir
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  -- write(name, text) -> the path of a file in dir holding text, mode 600
  local function write(name, text)
    local file = dir .. "/" .. name
    local f = assert(io.open(file, "w"))
    f:write(text)
    f:close()
    assert(os.execute("chmod 600 " .. file))
    return file
  end

  local function load(path)
    local script = write("load.lua", 'local c, err = require("peerlua").instaclustr{} print(c and "made" or err.message)\n')
    local bin = assert(os.getenv("PEERLUA_BIN"))
    local p = assert(io.popen(("env -u INSTACLUSTR_USERNAME -u INSTACLUSTR_API_KEY -u IC_USERNAME -u IC_API_KEY "
      .. "PEERLUA_CREDENTIALS=%s timeout 10 %q %q 2>&1; echo rc=$?"):format(path, bin, script)))
    local out = p:read("a")
    p:close()
    return out
  end

  -- run(env, script[, flags]) -> what peerlua printed, with only env set (and PATH)
  local function run(env, script, flags)
    local file = write("env.lua", script)
    local p = assert(io.popen(("env -i PATH=%q PEERLUA_CREDENTIALS=%s %s timeout 20 %q %s %q 2>&1; echo rc=$?")
      :format(os.getenv("PATH"), dir .. "/none", env, assert(os.getenv("PEERLUA_BIN")), flags or "", file)))
    local out = p:read("a")
    p:close()
    return out
  end

  -- providers.md 7: the variables each provider's own tools read (the C table, pl_cred)
  it("is not needed when the variables each provider's own tools read are set", function()
    local P = ("ab"):rep(16)
    local cases = {
      { "instaclustr", "PEERLUA_INSTACLUSTR_USERNAME=u PEERLUA_INSTACLUSTR_API_KEY=k" },
      { "upcloud", "UPCLOUD_TOKEN=t" },
      { "upcloud", "UPCLOUD_USERNAME=u UPCLOUD_PASSWORD=p" },
      { "aiven", "AIVEN_TOKEN=t" },
      { "aiven", "AIVEN_AUTH_TOKEN=t" },
      { "aerospike", "PEERLUA_AEROSPIKE_CLIENT_ID=i PEERLUA_AEROSPIKE_CLIENT_SECRET=s" },
      { "huawei", "HW_ACCESS_KEY=a HW_SECRET_KEY=s HW_PROJECT_ID=" .. P .. " HW_REGION_NAME=eu-west-101",
        "cs.eu-west-101.myhuaweicloud.com" },
      { "huawei", "HUAWEICLOUD_SDK_AK=a HUAWEICLOUD_SDK_SK=s HUAWEICLOUD_SDK_PROJECT_ID=" .. P },
    }
    for _, c in ipairs(cases) do
      local out = run(c[2], ('local c, err = require("peerlua").%s{} print(c and "made " .. tostring(c) or err.message)')
        :format(c[1]))
      assert.matches("made " .. c[1] .. " client", out, 1, true, c[2])
      if c[3] then assert.matches(c[3], out, 1, true) end
    end
    -- AIVEN_PROJECT_NAME: the project of every call that names none (seen in the request's path)
    local out = run("AIVEN_TOKEN=t AIVEN_PROJECT_NAME=from-env", 'local c = assert(require("peerlua").aiven{'
      .. 'base_url = "http://127.0.0.1:9", retries = { attempts = 1 } }) '
      .. 'print(c:list_peerings({ project_vpc_id = "aabc665c-8916-40ae-978c-96d39a3a1364" }))', "--trace")
    assert.matches("/v1/project/from-env/vpcs/", out, 1, true)
  end)

  it("takes a comment after a profile's name, as the README's sample has", function()
    local file = write("commented",
      "[default]   # peerlua.instaclustr {}\ninstaclustr.username = u\ninstaclustr.api_key = k#not-a-comment\n")
    assert.matches("made", load(file), 1, true)
  end)

  it("that is a directory is an error, not a raise", function()
    local out = load(dir)
    assert.matches("is not a regular file", out, 1, true)
    assert.matches("rc=0", out, 1, true)
  end)

  it("that is a FIFO is refused at once, not waited on", function()
    assert(os.execute("mkfifo -m 600 " .. dir .. "/fifo"))
    local out = load(dir .. "/fifo")
    assert.matches("is not a regular file", out, 1, true)
    assert.matches("rc=0", out, 1, true) -- timeout(1) would say rc=124
  end)

  it("readable by others is refused with the chmod to run", function()
    local file = write("open", "[default]\ninstaclustr.username = u\ninstaclustr.api_key = k\n")
    assert(os.execute("chmod 644 " .. file))
    assert.matches("readable by group or others (mode 644); run: chmod 600", load(file), 1, true)
    assert(os.execute("chmod 600 " .. file))
    assert.matches("made", load(file), 1, true)
  end)

  it("names an unknown key of the provider, with the keys it reads", function()
    local file = write("typo", "[default]\ninstaclustr.username = u\ninstaclustr.apikey = k\n")
    assert.matches("profile [default] of " .. file .. ": unknown key instaclustr.apikey (did you mean "
                   .. "instaclustr.api_key? instaclustr reads instaclustr.api_key, instaclustr.username)", load(file), 1, true)
    -- far from every key: the keys alone
    file = write("far", "[default]\ninstaclustr.username = u\ninstaclustr.zzzzzzzzzz = k\n")
    assert.matches("unknown key instaclustr.zzzzzzzzzz (instaclustr reads instaclustr.api_key, "
                   .. "instaclustr.username)", load(file), 1, true)
  end)

  it("is not read under an emulator, nor the environment: half a credential there is refused", function()
    -- the other half in the environment and in the profile, as on a machine with real credentials
    local file = write("real", "[default]\ninstaclustr.api_key = profile-key-not-for-the-emulator\n")
    local script = write("half.lua", 'local c, err = require("peerlua").instaclustr{ username = "sim-user" }'
      .. ' print(c and "made" or err.message)\n'
      -- a rule of the provider's own (a key and a project): its words say what to pass
      .. 'c, err = require("peerlua").huawei{ ak = "AK", sk = "SK" } print(c and "made" or err.message)\n')
    local p = assert(io.popen(("PEERLUA_INSTACLUSTR_API_KEY=env-key-not-for-the-emulator PEERLUA_CREDENTIALS=%s "
      .. "timeout 20 %q --sim %q 2>&1; echo rc=$?"):format(file, assert(os.getenv("PEERLUA_BIN")), script)))
    local out = p:read("a")
    p:close()
    assert.matches("found only username (options); under an emulator neither the environment nor the profile file "
                   .. "is read: pass api_key, or no credentials", out, 1, true)
    assert.matches("no Huawei project; found only ak (options), sk (options); under an emulator neither the "
                   .. "environment nor the profile file is read: pass project_id (or project_name), or no credentials",
                   out, 1, true)
    assert.not_matches("not-for-the-emulator", out, 1, true)
    assert.matches("rc=0", out, 1, true)
  end)

  it("says which variables to set: each provider's required fields' first (all, for one), from the C table", function()
    local creds = {}
    for _, name in ipairs({ "instaclustr", "aerospike", "aiven", "upcloud", "huawei" }) do
      local core = require("internals").core
      creds[name] = (core.providers[name] or core.providers[name .. "/v2"]).creds
    end
    local script = write("none.lua", "local p = require('peerlua')\n"
      .. "for _, n in ipairs({ 'instaclustr', 'aerospike', 'aiven', 'upcloud', 'huawei' }) do\n"
      .. "  local c, err = p[n]({ region = n == 'huawei' and 'eu-west-101' or nil }) print(n .. '=' .. err.message) end\n")
    local h = assert(io.popen(("env -i PATH=%q HOME=%q timeout 20 %q %q 2>&1"):format(os.getenv("PATH"), dir,
      assert(os.getenv("PEERLUA_BIN")), script)))
    local out = h:read("a")
    h:close()
    for name, c in pairs(creds) do
      local line = assert(out:match(name .. "=([^\n]*)"), name)
      assert.matches("^no ", line)
      local need = c.need or (name == "upcloud" and { "token" } or { "ak", "sk" })
      for _, f in ipairs(need) do
        assert.truthy(line:find(c.env[f][1], 1, true), name .. ": " .. c.env[f][1] .. " in " .. line)
      end
    end
    -- a credential of one field names every variable read for it (avn's as well as Terraform's)
    assert.matches("or set AIVEN_TOKEN or AIVEN_AUTH_TOKEN,", out:match("aiven=([^\n]*)"), 1, true)
  end)

  it("names the half of a pair that is missing, where the other came from, and the profile read", function()
    local out = load(write("half", "[default]\ninstaclustr.username = u\n"))
    assert.matches("no Instaclustr credentials: pass username and api_key", out, 1, true)
    assert.matches("; found only username (profile [default]); profile: [default] in " .. dir .. "/half", out, 1, true)
    out = load(write("other", "[ci]\ninstaclustr.username = u\n"))
    assert.matches("; profile: " .. dir .. "/other has no [default]", out, 1, true)
    out = load(dir .. "/absent")
    assert.matches("; profile: no file " .. dir .. "/absent", out, 1, true)
    assert.not_matches("found only", out)
  end)
end)

describe("errors and secrets", function()
  -- every table reachable from v, without following metatables
  local function reaches(v, pred, seen)
    seen = seen or {}
    if type(v) ~= "table" or seen[v] then return false end
    seen[v] = true
    for k, x in pairs(v) do
      if pred(k, x) or reaches(k, pred, seen) or reaches(x, pred, seen) then return true end
    end
    return false
  end

  it("an ensure conflict holds the peering as a plain copy, with no path to the client", function()
    local testserver = require("testserver")
    local server = testserver.attach(peerlua)
    local ok, err = pcall(function()
      local ic = assert(peerlua.instaclustr({}))
      local args = { cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364", -- the fixture's first
                     peer_vpc_id = "vpc-0a1b2c3d", peer_account_id = "123456789012",
                     peer_subnets = { "10.9.0.0/16" }, peer_region = "US_WEST_2" }
      assert(ic:ensure_peering(args))
      args.peer_subnets = { "10.8.0.0/16" }
      local p, cerr = ic:ensure_peering(args)
      assert.is_nil(p)
      assert.equal("conflict", cerr.code)
      assert.is_string(cerr.peering.id)
      assert.is_false(reaches(cerr, function(k) return k == "creds" or k == "client" or k == "api_key" end))
    end)
    server:stop()
    assert(ok, err)
  end)

  it("the UpCloud throttle key names the token by a hash, not by its first characters", function()
    local c = assert(peerlua.upcloud({ token = "ucat_SECRETPREFIX_rest" }))
    local key = require("internals").state(c).throttle_key
    assert.is_nil(key:find("ucat_SEC", 1, true))
    assert.matches("^upcloud:token:%x+$", key)
  end)

  it("labels a secret by its 32-bit FNV-1a: tokens that differ get different throttle keys", function()
    local core = require("internals").core
    -- the FNV-1a test vectors (Fowler, Noll, Vo: "a" and "foobar")
    assert.equal("e40c292c", core.fingerprint("a"))
    assert.equal("bf9cf968", core.fingerprint("foobar"))
    local state = require("internals").state
    local a = state(assert(peerlua.upcloud({ token = "ucat_one" }))).throttle_key
    local b = state(assert(peerlua.upcloud({ token = "ucat_two" }))).throttle_key
    assert.equal("upcloud:token:" .. core.fingerprint("ucat_one"), a)
    assert.are_not.equal(a, b)
  end)
end)
