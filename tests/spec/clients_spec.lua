-- The provider clients against the emulator (peerlua --emulator, fast time):
-- validation before any request, every operation, auth, throttle, retries
-- and reconciliation.
local peerlua = require("peerlua")
local testserver = require("testserver")
local internals = require("internals")
local http = peerlua.http

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local CLUSTER = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"
local AS_CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local FAST = { attempts = 4, base = 0.01, cap = 0.05, deadline = 20 }

describe("provider clients", function()
  local server

  local function requests(provider)
    return server:admin("GET", "requests?provider=" .. provider)
  end

  local function faults(spec) server:admin("POST", "faults", { spec = spec }) end

  setup(function()
    server = testserver.start("--time-scale 600")
    peerlua.set_sim({ url = server.url })
  end)
  teardown(function()
    peerlua.set_sim(nil)
    server:stop()
  end)
  before_each(function()
    faults("none")
    server:admin("POST", "reset")
  end)

  it("check every argument before sending anything, naming each problem", function()
    local ic = assert(peerlua.instaclustr({}))
    local p, err = ic:create_peering({ cluster_data_centre_id = "nope", peer_account_id = "12",
      peer_vpc_id = "vpc-xyz", peer_subnet = "10.0.0.0/16", peer_subnets = { "10.1.0.0/16" } })
    assert.is_nil(p)
    assert.equal("invalid", err.code)
    local fields = {}
    for _, d in ipairs(err.details) do fields[d.field] = d.rule end
    assert.is_string(fields.cluster_data_centre_id)
    assert.is_string(fields.peer_account_id)
    assert.is_string(fields.peer_vpc_id)
    assert.is_true(fields.peer_subnet ~= nil or fields.peer_subnets ~= nil)
    assert.equal(0, #requests("instaclustr"))
  end)

  it("refuse unknown options and bad types at construction", function()
    local c, err = peerlua.upcloud({ colour = "red" })
    assert.is_nil(c)
    assert.equal("colour", err.details[1].field)
    c, err = peerlua.instaclustr({ rate = -1 })
    assert.is_nil(c)
    assert.equal("rate", err.details[1].field)
    -- a near miss names the option meant
    c, err = peerlua.instaclustr({ timout = 5 })
    assert.is_nil(c)
    assert.equal("timout", err.details[1].field)
    assert.equal("is not an option of this client (did you mean timeout?)", err.details[1].rule)
    -- a Redis URL given where the throttle made of one goes: said how, the URL (a password in it) not echoed
    c, err = peerlua.upcloud({ token = "t", throttle = "redis://:hunter2@127.0.0.1:1" })
    assert.is_nil(c)
    assert.matches("throttle = peerlua.throttle.redis{url = URL}", err.details[1].rule, 1, true)
    assert.is_nil(err.message:find("hunter2", 1, true))
    -- two kinds of credentials at once: which one would be used is not guessed
    c, err = peerlua.huawei({ ak = "a", sk = "s", user = "u", password = "p", domain = "d", region = "eu-west-101",
                              project_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9" })
    assert.is_nil(c)
    assert.matches("give either ak and sk (request signing) or user, password and domain", err.message, 1, true)
    c, err = peerlua.throttle.redis({ ur = "redis://127.0.0.1:1" })
    assert.is_nil(c)
    assert.matches("ur: is not an option (did you mean url?) (url, prefix, warn)", err.message, 1, true)
    -- every problem at once, by field, one each (insecure's type, not also its transport rule)
    c, err = peerlua.instaclustr({ retries = { attempts = 0, bse = 1 }, timeout = -1, usrname = "x", insecure = "yes" })
    assert.is_nil(c)
    local fields = {}
    for i, d in ipairs(err.details) do fields[i] = d.field end
    assert.same({ "insecure", "retries.attempts", "retries.bse", "timeout", "usrname" }, fields)
    assert.matches("invalid options: insecure: must be a boolean; retries.attempts: ", err.message, 1, true)
  end)

  it("take the emulator's account only when no credential is given: half a pair is refused, as for real", function()
    local c, err = peerlua.instaclustr({ username = "sim-user" }) -- the key left out
    assert.is_nil(c)
    assert.equal("auth", err.code)
    assert.matches("found only username (options)", err.message, 1, true)
    c, err = peerlua.upcloud({ password = "x" })
    assert.is_nil(c)
    assert.matches("found only password (options)", err.message, 1, true)
    assert(peerlua.instaclustr({})) -- nothing given: the emulator's account
    assert.equal(0, #requests("instaclustr"))
  end)

  it("report wrong credentials as auth errors without echoing the secret", function()
    local ic = assert(peerlua.instaclustr({ username = "sim-user", api_key = "wrong-secret-123" }))
    local list, err = ic:list_peerings({ cluster_data_centre_id = CDC })
    assert.is_nil(list)
    assert.equal("auth", err.code)
    assert.equal(401, err.http_status)
    assert.is_nil(tostring(err):find("wrong-secret-123", 1, true))
  end)

  it("run the Instaclustr v1 operations, firewall rules included", function()
    local ic = assert(peerlua.instaclustr({}))
    local p = assert(ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" }, peer_region = "US_WEST_2" }))
    assert.equal("pending_acceptance", p.state)
    assert.equal("pending-acceptance", p.status)
    assert.equal(p.id, assert(ic:get_peering({ cluster_data_centre_id = CDC, vpc_peering_connection_id = p.id })).id)
    assert.equal(1, #assert(ic:list_peerings({ cluster_data_centre_id = CDC })))
    local rule = { cluster_id = CLUSTER, network = "10.1.0.0/16", rules = { { type = "CASSANDRA" } } }
    assert(ic:add_firewall_rule(rule))
    local ok, how = ic:add_firewall_rule(rule)
    assert.is_truthy(ok)
    assert.equal("exists", how) -- 409 already exists is success
    assert(ic:delete_firewall_rule(rule))
    assert(p:delete())
    local again, how2 = ic:delete_peering({ cluster_data_centre_id = CDC, vpc_peering_connection_id = p.id })
    assert.is_true(again)
    assert.equal("missing", how2) -- 404 on delete is success
  end)

  it("run the Instaclustr v2 operations with api = 'v2'", function()
    local ic = assert(peerlua.instaclustr({ api = "v2" }))
    local p = assert(ic:create_peering({ cdc_id = CDC, peer_aws_account_id = "123456789012",
      peer_vpc_id = "vpc-0a1b2c3d", peer_region = "US_WEST_2", peer_subnets = { "10.1.0.0/16" } }))
    assert.equal("pending_acceptance", p.state)
    assert.equal("pending_acceptance", assert(ic:get_peering({ vpc_peer_id = p.id })).state)
    assert(peerlua.sim.accept(p))
    assert(p:wait("active", { timeout = 30, interval = 0.5 }))
    local r = assert(ic:add_firewall_rule({ cluster_id = CLUSTER, network = "10.1.0.0/16", type = "CASSANDRA" }))
    assert.is_string(r.id)
    assert(ic:delete_peering({ vpc_peer_id = p.id }))
  end)

  it("open every published Instaclustr firewall rule type, and send a newer one written raw:TYPE", function()
    local v1 = assert(peerlua.instaclustr({}))
    local v2 = assert(peerlua.instaclustr({ api = "v2" }))
    -- in the v2 spec only, in the Terraform docs only, in both
    local listeners = { "KAFKA_PRIVATE_SSL_LISTENER", "SECURE_APACHE_ZOOKEEPER", "KARAPACE_SCHEMA_REGISTRY",
                        "DEBEZIUM_CONNECTOR_CASSANDRA_KAFKA", "MONGODB", "CLICKHOUSE_WEB", "CADENCE_HTTP_API" }
    assert(v1:add_firewall_rule({ cluster_id = CLUSTER, network = "10.2.0.0/16", rules = listeners }))
    for _, t in ipairs(listeners) do
      assert(v2:add_firewall_rule({ cluster_id = CLUSTER, network = "10.3.0.0/16", type = t }))
    end
    -- a type newer than both lists leaves as written (and this emulator refuses it)
    local r, err = v2:add_firewall_rule({ cluster_id = CLUSTER, network = "10.4.0.0/16", type = "raw:BRAND_NEW" })
    assert.is_nil(r)
    assert.equal(400, err.http_status)
    assert.matches("type: BRAND_NEW is not", err.message, 1, true) -- the emulator names what it got
  end)

  it("share one OAuth2 token between tasks and refresh it once when it expires", function()
    local as = assert(peerlua.aerospike({}))
    local tasks = {}
    for i = 1, 10 do tasks[i] = peerlua.spawn(function() return assert(as:list_peerings({ cluster_id = AS_CLUSTER })) end) end
    for _, r in ipairs(peerlua.wait_all(tasks)) do assert.is_table(r[1]) end
    local function token_requests()
      local n = 0
      for _, e in ipairs(requests("aerospike")) do
        if e.path:match("/oauth/token$") then n = n + 1 end
      end
      return n
    end
    assert.equal(1, token_requests())
    server:admin("POST", "clock", { advance = 3600 }) -- the emulator's tokens expire
    assert(as:list_peerings({ cluster_id = AS_CLUSTER }))
    assert.equal(2, token_requests())
  end)

  it("do not retry a refused token request (OAuth2 or IAM)", function()
    local function count(provider, pattern)
      local n = 0
      for _, e in ipairs(requests(provider)) do
        if e.path:match(pattern) then n = n + 1 end
      end
      return n
    end
    local fx = peerlua.sim.fixture
    local as = assert(peerlua.aerospike({ client_id = fx.aerospike.accounts[1].client_id, client_secret = "wrong-secret" }))
    local ok, err = as:list_peerings({ cluster_id = AS_CLUSTER })
    assert.is_nil(ok)
    assert.equal("auth", err.code)
    assert.equal(1, count("aerospike", "/oauth/token$"))
    local a = fx.huawei.accounts[1]
    local hw = assert(peerlua.huawei({ user = a.user, password = "wrong-password", domain = a.domain,
      project_id = a.project_id }))
    ok, err = hw:list_peerings({ cluster_id = fx.huawei.clusters[1].id })
    assert.is_nil(ok)
    assert.equal("auth", err.code)
    assert.equal(1, count("huawei", "/auth/tokens$"))
  end)

  it("delete a Huawei peering through its value: the project id is the client's, the id the peering's", function()
    local f = peerlua.sim.fixture.huawei
    local hw = assert(peerlua.huawei({}))
    local p = assert(hw:create_peering({ cluster_id = f.clusters[1].id, vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb",
                                         name = "by-value", accept_tenant_id = "4f30b9215e054c908d18f2b150131646" }))
    assert.is_true(assert(p:delete()))
    local log = requests("huawei")
    assert.equal("DELETE", log[#log].method)
    assert.equal(204, log[#log].status)
    local want = "/" .. f.accounts[1].project_id .. "/reserved_cluster/" .. f.clusters[1].id .. "/peering/" .. p.id
    assert.equal(want, log[#log].path:sub(-#want))
  end)

  it("find the Huawei project id of a project_name once, after the arguments pass", function()
    local f = peerlua.sim.fixture.huawei
    local a, cluster = f.accounts[1], f.clusters[1].id
    local function paths()
      local out = {}
      for _, e in ipairs(requests("huawei")) do out[#out + 1] = e.method .. " " .. e.path end
      return table.concat(out, "\n")
    end
    local function count(pattern) return select(2, paths():gsub(pattern, "")) end
    -- a signing key asks IAM for the project of that name
    local hw = assert(peerlua.huawei({ ak = a.ak, sk = a.sk, project_name = a.project_name }))
    local ok, err = hw:list_peerings({ cluster_id = "" })
    assert.is_nil(ok)
    assert.equal("invalid", err.code)
    assert.equal("cluster_id", err.details[1].field)
    assert.equal("", paths())
    assert.is_table(assert(hw:list_peerings({ cluster_id = cluster })))
    assert.is_table(assert(hw:list_peerings({ cluster_id = cluster })))
    assert.equal(1, count("GET /huawei/iam/v3/projects"))
    assert.equal(2, count("GET /huawei/cs/v1%.0/" .. a.project_id .. "/reserved_cluster/"))
    -- a token scoped by the name says the id: no lookup
    server:admin("POST", "reset")
    local pw = assert(peerlua.huawei({ user = a.user, password = a.password, domain = a.domain,
                                       project_name = a.project_name }))
    assert.is_table(assert(pw:list_peerings({ cluster_id = cluster })))
    assert.equal(1, count("POST /huawei/iam/v3/auth/tokens"))
    assert.equal(0, count("/iam/v3/projects"))
    assert.equal(1, count("GET /huawei/cs/v1%.0/" .. a.project_id .. "/reserved_cluster/"))
    -- no project of that name: refused, naming project_name, before any Cloud Stream call
    server:admin("POST", "reset")
    local none = assert(peerlua.huawei({ ak = a.ak, sk = a.sk, project_name = "ap-southeast-1" }))
    ok, err = none:list_peerings({ cluster_id = cluster })
    assert.is_nil(ok)
    assert.equal("invalid", err.code)
    assert.equal("project_name", err.details[1].field)
    assert.equal("list_peerings", err.op) -- the call the script made, the lookup said in the message
    assert.matches("(looked up with IAM's list_projects)", err.message, 1, true)
    assert.matches("pass project_id instead", err.message)
    assert.equal(0, count("/cs/"))
  end)

  it("show a Huawei client's CS endpoint with its region, not the URL template", function()
    local P = ("0"):rep(32)
    peerlua.set_sim(nil)
    local ok, failure = pcall(function()
      local real = assert(peerlua.huawei({ ak = "a", sk = "s", project_id = P, region = "eu-west-101" }))
      assert.equal("huawei client (https://cs.eu-west-101.myhuaweicloud.com)", tostring(real))
      assert.equal("https://cs.eu-west-101.myhuaweicloud.com", real:settings().base_url)
      local own = assert(peerlua.huawei({ ak = "a", sk = "s", project_id = P,
        endpoints = { cs = "https://cs.example.test/" } }))
      assert.equal("huawei client (https://cs.example.test)", tostring(own))
    end)
    peerlua.set_sim({ url = server.url })
    assert(ok, failure)
  end)

  it("sign Huawei requests (AK/SK) and accept on the peer tenant's side", function()
    local f = peerlua.sim.fixture.huawei
    local cs = assert(peerlua.huawei({}))
    local b = f.accounts[2]
    local peer = assert(peerlua.huawei({ ak = b.ak, sk = b.sk, project_id = b.project_id }))
    local p = assert(cs:create_peering({ cluster_id = f.clusters[1].id, vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb",
      name = "t1", accept_tenant_id = b.tenant_id }))
    assert.equal("pending_acceptance", p.state)
    assert.equal("active", assert(peer:accept_peering({ peering_id = p.id })).state)
    assert(p:wait("active", { timeout = 10, interval = 0.2 }))
  end)

  it("follow Huawei VPC peering list pages (limit, marker, peerings_links) and read X-Request-Id", function()
    local f = peerlua.sim.fixture.huawei
    local cs = assert(peerlua.huawei({}))
    local b = f.accounts[2]
    local peer = assert(peerlua.huawei({ ak = b.ak, sk = b.sk, project_id = b.project_id }))
    local made = {}
    for i = 1, 5 do
      made[i] = assert(cs:create_peering({ cluster_id = f.clusters[1].id, name = "paged" .. i,
        vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb", accept_tenant_id = b.tenant_id })).id
    end
    local before = #requests("huawei")
    local list = assert(peer:list_vpc_peerings({ limit = "2" }))
    local got = {}
    for i, p in ipairs(list) do got[i] = p.id end
    assert.same(made, got)
    assert.equal("pending_acceptance", list[1].state)
    local gets = {}
    for i = before + 1, #requests("huawei") do
      local e = requests("huawei")[i]
      if e.method == "GET" and e.path:match("/vpc/peerings$") then gets[#gets + 1] = e end
    end
    assert.equal(3, #gets) -- 2 + 2 + 1
    -- a list given a marker is that page only
    assert.equal(2, #assert(peer:list_vpc_peerings({ limit = "2", marker = made[1] })))
    -- validated before sending: limit 0..2000, status one of the documented words
    local _, err = peer:list_vpc_peerings({ limit = "2001", status = "GONE" })
    assert.equal("invalid", err.code)
    local fields = {}
    for _, d in ipairs(err.details) do fields[d.field] = d.rule end
    assert.equal("must be a whole number from 0 to 2000", fields.limit)
    assert.is_string(fields.status)
    -- an error's request id is the X-Request-Id header
    local _, nf = peer:get_vpc_peering({ peering_id = "00000000-0000-4000-8000-000000000000" })
    assert.equal("not_found", nf.code)
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", nf.request_id)
  end)

  -- A tool given only the emulator's host (Huawei's SDK keeps only scheme
  -- and host of an endpoint) reaches each API at its real paths on the
  -- root; the Host header of a real API host picks the API.
  it("reach every API of the emulator at its real paths on the root", function()
    local fx, url = peerlua.sim.fixture, server.url
    local ic = assert(peerlua.instaclustr({ base_url = url, username = fx.instaclustr.accounts[1].username,
      api_key = fx.instaclustr.accounts[1].api_key }))
    assert.is_table(assert(ic:list_peerings({ cluster_data_centre_id = CDC })))
    local uc = fx.upcloud.accounts[1]
    local up = assert(peerlua.upcloud({ base_url = url .. "/1.3", username = uc.username, password = uc.password }))
    assert.is_table(assert(up:list_peerings({})))
    local ac = fx.aerospike.accounts[1]
    local as = assert(peerlua.aerospike({ base_url = url .. "/v1", token_url = url .. "/oauth/token",
      client_id = ac.client_id, client_secret = ac.client_secret }))
    assert.is_table(assert(as:list_peerings({ cluster_id = AS_CLUSTER })))
    local av = fx.aiven.accounts[1]
    local aiven = assert(peerlua.aiven({ base_url = url, token = av.token }))
    local project = fx.aiven.projects[1]
    assert.is_table(assert(aiven:list_peerings({ project = project.name,
      project_vpc_id = project.vpcs[1].project_vpc_id })))
    -- Huawei: AK/SK signed over the path sent (no emulator prefix), and IAM tokens
    local a, b = fx.huawei.accounts[1], fx.huawei.accounts[2]
    local ends = { cs = url, vpc = url, iam = url }
    local cs = assert(peerlua.huawei({ ak = a.ak, sk = a.sk, project_id = a.project_id, endpoints = ends }))
    local p = assert(cs:create_peering({ cluster_id = fx.huawei.clusters[1].id, name = "root",
      vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb", accept_tenant_id = b.tenant_id }))
    local peer = assert(peerlua.huawei({ user = b.user, password = b.password, domain = b.domain,
      project_id = b.project_id, endpoints = ends }))
    assert.equal("active", assert(peer:accept_peering({ peering_id = p.id })).state)
    local seen = {}
    for _, e in ipairs(requests("huawei")) do seen[#seen + 1] = e.method .. " " .. e.path .. " " .. e.status end
    local log = table.concat(seen, "\n")
    assert.matches("POST /huawei/cs/v1%.0/%x+/reserved_cluster/[^ ]+/peering 20[01]", log)
    assert.matches("POST /huawei/iam/v3/auth/tokens 201", log)
    assert.matches("PUT /huawei/vpc/v2%.0/vpc/peerings/[^ ]+/accept 200", log)
    -- the Host header of a real API host picks the API, here for a path that is also Huawei CS's shape
    local path = "/v2.0/vpc/peerings"
    local signed = assert(peerlua.auth.huawei_sign({ method = "GET", url = "http://vpc.eu-de.myhuaweicloud.com" .. path,
      headers = {}, body = "", ak = a.ak, sk = a.sk }))
    signed.Host = "vpc.eu-de.myhuaweicloud.com"
    local resp = assert(http.request({ url = url .. path, headers = signed }))
    assert.equal(200, resp.status)
    assert.equal(1, #resp:json().peerings)
    -- a signature over another path than the one sent is refused
    signed = assert(peerlua.auth.huawei_sign({ method = "GET", url = url .. "/huawei/vpc" .. path, headers = {},
      body = "", ak = a.ak, sk = a.sk }))
    assert.equal(401, assert(http.request({ url = url .. path, headers = signed })).status)
    -- a path no API has is still the emulator's 404
    assert.equal(404, assert(http.request({ url = url .. "/nothing/here" })).status)
  end)

  it("refuse a success answer that lacks the list or peering it should carry", function()
    local up = assert(peerlua.upcloud({ base_url = "http://127.0.0.1:9", token = "t" }))
    local cases = { -- op, 200 body, the rule broken
      { "get_peering", "", "no body" },
      { "list_peerings", "", "no body" },
      { "get_peering", "5", "no peering object" },
      { "list_peerings", '{"network_peerings":{"network_peering":"x"}}', "not a list" },
      { "list_peerings", '{"network_peerings":{"network_peering":[1]}}', "a list item is not an object" },
    }
    local ok, failure = pcall(function()
      for _, c in ipairs(cases) do
        local op, body, why = c[1], c[2], c[3]
        internals.transport(function()
          return { status = 200, headers = { ["content-type"] = "application/json" }, body = body,
                   json = function(self) return peerlua.json.decode(self.body) end }
        end)
        local r, err = up[op](up, op == "get_peering" and { uuid = CDC } or {})
        assert.is_nil(r, op .. " " .. body)
        assert.equal("provider", err.code)
        assert.equal("unexpected response shape: " .. why, err.message)
      end
    end)
    internals.transport(nil)
    assert(ok, failure)
  end)

  it("report an error body of a foreign shape with the HTTP status, not its fields", function()
    local ic = assert(peerlua.instaclustr({ base_url = "http://127.0.0.1:9", username = "u", api_key = "k" }))
    internals.transport(function()
      return { status = 404, headers = { ["content-type"] = "application/json", ["x-request-id"] = { "a" } },
               body = '{"error":{"error_code":"X"},"message":{"m":1},"name":[1]}',
               json = function(self) return peerlua.json.decode(self.body) end }
    end)
    local ok, r, err = pcall(ic.list_peerings, ic, { cluster_data_centre_id = CDC })
    internals.transport(nil)
    assert(ok, r)
    assert.is_nil(r)
    assert.equal("not_found", err.code)
    assert.equal("HTTP 404", err.message)
    assert.is_nil(err.provider_code)
    assert.is_nil(err.request_id)
  end)

  it("take a retried Huawei accept answered 409 as done when the first attempt landed", function()
    local f = peerlua.sim.fixture.huawei
    local cs = assert(peerlua.huawei({}))
    local b = f.accounts[2]
    local peer = assert(peerlua.huawei({ ak = b.ak, sk = b.sk, project_id = b.project_id,
      retries = { attempts = 10, base = 0.05, cap = 0.2 } }))
    local p = assert(cs:create_peering({ cluster_id = f.clusters[1].id, vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb",
      name = "t3", accept_tenant_id = b.tenant_id }))
    faults("PUT /huawei/*=resetafter:1") -- accepted, but the answer is lost until the task below lifts it
    local lift = peerlua.spawn(function() peerlua.sleep(0.1) faults("none") end)
    local accepted = assert(peer:accept_peering({ peering_id = p.id }))
    lift:wait()
    assert.equal(p.id, accepted.id)
    assert.equal("active", accepted.state)
    local puts = {}
    for _, e in ipairs(requests("huawei")) do
      if e.method == "PUT" then puts[#puts + 1] = e.status end
    end
    assert.is_true(#puts >= 2, "the accept was not retried")
    assert.equal(409, puts[#puts])
  end)

  it("retry Huawei's 409 (busy) on delete until it goes through", function()
    local f = peerlua.sim.fixture.huawei
    local cs = assert(peerlua.huawei({ retries = { attempts = 10, base = 0.05, cap = 0.1 } }))
    local p = assert(cs:create_peering({ cluster_id = f.clusters[1].id, vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb",
      name = "t2", accept_tenant_id = f.accounts[2].tenant_id }))
    faults("DELETE /huawei/*=409:1") -- busy until the task below lifts it
    local lift = peerlua.spawn(function() peerlua.sleep(0.2) faults("none") end)
    assert.is_true((cs:delete_peering({ cluster_id = f.clusters[1].id, peering_id = p.id })))
    lift:wait()
    local seen = {}
    for _, e in ipairs(requests("huawei")) do
      if e.method == "DELETE" then seen[#seen + 1] = e.status end
    end
    assert.is_true(#seen >= 2, "no 409 was injected: " .. table.concat(seen, ","))
    assert.equal(409, seen[1])
    assert.equal(204, seen[#seen])
  end)

  it("keep many tasks of one credential under the provider's rate limit", function()
    local ic = assert(peerlua.instaclustr({}))
    local tasks = {}
    for i = 1, 120 do
      tasks[i] = peerlua.spawn(function() return assert(ic:list_peerings({ cluster_data_centre_id = CDC })) end)
    end
    peerlua.wait_all(tasks)
    local stats = server:admin("GET", "stats")
    assert.is_nil(stats.by_status["429"])
    assert.is_true(stats.max_per_second["sim-user"] <= 35, "busiest second: " .. stats.max_per_second["sim-user"])
  end)

  it("retry transient failures and honour Retry-After", function()
    local up = assert(peerlua.upcloud({ retries = { attempts = 8, base = 0.01, cap = 0.05 } }))
    faults("GET /upcloud/*=500:0.3") -- drawn from the seeded generator: the same every run
    local before = peerlua.stats().retries
    for _ = 1, 30 do -- until a fault is hit (0.3 per request) and retried
      assert(up:list_peerings({}))
      if peerlua.stats().retries > before then break end
    end
    assert.is_true(peerlua.stats().retries > before)
    up = assert(peerlua.upcloud({ retries = FAST }))
    faults("GET /upcloud/*=429:1")
    local t0 = peerlua.now()
    local list, err = up:list_peerings({})
    assert.is_nil(list)
    assert.equal("rate_limited", err.code)
    assert.is_true(err.retryable)
    assert.is_true(peerlua.now() - t0 >= 2.5, "Retry-After: 1 was not honoured") -- 3 waits of 1 s
  end)

  it("do not retry a refused request", function()
    local up = assert(peerlua.upcloud({ retries = FAST }))
    local p, err = up:create_peering({ name = "x", network = "03585987-bf7d-4544-8e9b-5a1b4d74a333",
      peer_network = "03126dc1-a69f-4bc2-8b24-e31c22d64712" }) -- not our network
    assert.is_nil(p)
    assert.equal("not_found", err.code)
    assert.equal("NETWORK_NOT_FOUND", err.provider_code)
    assert.equal(1, #requests("upcloud"))
  end)

  it("reconcile a create that failed after it happened: nothing is created twice", function()
    local ic = assert(peerlua.instaclustr({ retries = FAST }))
    faults("POST /instaclustr/*=500after:1")
    local p, how = ic:create_peering({ cluster_data_centre_id = CDC, peer_account_id = "123456789012",
      peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" } })
    assert.is_table(p, tostring(how))
    assert.equal("reconciled", how)
    faults("none")
    local list = assert(ic:list_peerings({ cluster_data_centre_id = CDC }))
    assert.equal(1, #list)
    -- the peering found is returned as it was read: id, status, state, raw
    assert.equal(list[1].id, p.id)
    assert.equal("pending-acceptance", p.status)
    assert.equal("pending_acceptance", p.state)
    assert.equal("vpc-0a1b2c3d", p.raw.peerVpcId)
  end)
end)
