-- Bad input is refused before any request is sent, with every problem
-- named (field and rule). The emulator's request log proves nothing left.
local peerlua = require("peerlua")
local testserver = require("testserver")

local CDC = "aabc665c-8916-40ae-978c-96d39a3a1364"
local CLUSTER = "5f1b8d2e-3c4a-4e6b-9a7d-1e2f3a4b5c6d"
local NET = "03126dc1-a69f-4bc2-8b24-e31c22d64712"
local PEER_NET = "03585987-bf7d-4544-8e9b-5a1b4d74a333"
local AS_CLUSTER = "e2e81cba-446e-4ff9-9b92-9a9992af44c6"
local HW_PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

local function ic(extra)
  local t = { cluster_data_centre_id = CDC, peer_account_id = "123888456789", peer_vpc_id = "vpc-aabb1122",
              peer_subnets = { "10.7.0.0/16" }, peer_region = "US_WEST_2" }
  for k, v in pairs(extra) do if v == "nil" then t[k] = nil else t[k] = v end end
  return t
end

local function as(extra)
  local t = { cluster_id = AS_CLUSTER, vpc_id = "vpc-0123456789abcdef0", cidr_block = "192.168.0.0/16",
              account_id = "123456789012", region = "us-east-1", is_secure_connection = true }
  for k, v in pairs(extra) do if v == "nil" then t[k] = nil else t[k] = v end end
  return t
end

local function uc(extra)
  local t = { name = "A->B", network = NET, peer_network = PEER_NET }
  for k, v in pairs(extra) do if v == "nil" then t[k] = nil else t[k] = v end end
  return t
end

local function hw(extra)
  local t = { project_id = HW_PROJECT, cluster_id = "6b29f3c0-4e1d-4d6a-9c58-2f7a8b9c0d1e",
              vpc_id = "f4da5a55-fcd9-4a93-8b86-5b81585e14bb", name = "myVpc" }
  for k, v in pairs(extra) do if v == "nil" then t[k] = nil else t[k] = v end end
  return t
end

-- { provider, op, args, field named, words in the rule }
local cases = {
  { "instaclustr", "create_peering", ic({ cluster_data_centre_id = "not-a-uuid" }), "cluster_data_centre_id", "UUID" },
  { "instaclustr", "create_peering", ic({ cluster_data_centre_id = "nil" }), "cluster_data_centre_id", "required" },
  { "instaclustr", "create_peering", ic({ peer_account_id = "12345" }), "peer_account_id", "12-digit" },
  { "instaclustr", "create_peering", ic({ peer_account_id = 123888456789 }), "peer_account_id",
    'must be a string: write it in quotes ("123888456789", with any leading zeros a bare number drops)' },
  { "instaclustr", "create_peering", ic({ peer_vpc_id = "vpc-XYZ" }), "peer_vpc_id", "vpc-" },
  { "instaclustr", "create_peering", ic({ peer_vpc_id = "nil" }), "peer_vpc_id", "required" },
  { "instaclustr", "create_peering", ic({ peer_subnets = { "10.7.0.1/16" } }), "peer_subnets[1]", "host bits" },
  { "instaclustr", "create_peering", ic({ peer_subnets = { "10.7.0.0/33" } }), "peer_subnets[1]", "prefix" },
  { "instaclustr", "create_peering", ic({ peer_subnets = "10.7.0.0/16" }), "peer_subnets", "list" },
  { "instaclustr", "create_peering", ic({ peer_subnets = {} }), "peer_subnets", "empty" },
  { "instaclustr", "create_peering", ic({ peer_subnet = "10.8.0.0/16" }), "peer_subnet", "together" },
  { "instaclustr", "create_peering", ic({ peer_subnets = "nil" }), "peer_subnet|peer_subnets", "give one of them" },
  { "instaclustr", "create_peering", ic({ peer_region = "us-west-2" }), "peer_region", "write us-west-2 as US_WEST_2" },
  { "instaclustr", "create_peering", ic({ peer_region = "US_WSET_2" }), "peer_region", "(did you mean WEST?)" },
  { "instaclustr", "create_peering", ic({ add_network_to_firewall_rules = "yes" }), "add_network_to_firewall_rules",
    "true or false" },
  { "instaclustr", "create_peering", ic({ peerVpcId = "vpc-aabb1122" }), "peerVpcId", "not an argument" },
  { "instaclustr", "create_peering", ic({ peer_subnets = { first = "10.1.0.0/16" } }), "peer_subnets",
    "not a table with other keys" },
  { "instaclustr", "create_peering", ic({ peer_subnets = { "10.1.0.0/16", nil, "10.2.0.0/16" } }), "peer_subnets",
    "without holes" },
  { "instaclustr", "create_peering", ic({ peer_acount_id = "123456789012" }), "peer_acount_id",
    "not an argument of this operation (did you mean peer_account_id?)" },
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, rules = { "CASSANDRA" } }, "network|security_group_id",
    "give one of them" },
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, network = "10.0.0.0/8", rules = "CASSANDRA" }, "rules",
    'must be a list: write {"CASSANDRA"} for the one' },
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, network = "10.0.0.0/8", rules = { "NOSQL" } },
    "rules[1]", "raw:NOSQL" },
  -- in neither published list (the v2 spec's FirewallRuleTypesV2, the Terraform provider's docs)
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, network = "10.0.0.0/8", rules = { "VALKEY" } },
    "rules[1]", "not a known type" },
  -- a near miss: the type meant, not raw: (nor the whole list)
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, network = "10.0.0.0/8", rules = { "CASANDRA_CQL" } },
    "rules[1]", "is not a known type (did you mean CASSANDRA_CQL?)" },
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, network = "10.0.0.0/8", rules = { "kafka" } },
    "rules[1]", "is not one of" },
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, network = "10.0.0.0/8", rules = { "raw:new type" } },
    "rules[1]", "after raw:" },
  { "instaclustr", "add_firewall_rule", { cluster_id = CLUSTER, network = "10.0.0.0/8", security_group_id = "sg-1",
    rules = { "CASSANDRA" } }, "network", "together" },
  { "aerospike", "create_peering", as({ region = "US_EAST_1" }), "region", "write US_EAST_1 as us-east-1" },
  -- AWS's words: a typo the form alone would pass is caught, with the word meant
  { "aerospike", "create_peering", as({ region = "us-eest-1" }), "region", "(did you mean east?)" },
  { "aerospike", "create_peering", as({ cidr_block = "192.168.0.0" }), "cidr_block", "CIDR" },
  { "aerospike", "create_peering", as({ vpc_id = "vpc-0123456789abcdef" }), "vpc_id", "vpc-" },
  { "aerospike", "create_peering", as({ account_id = "nil" }), "account_id", "required" },
  { "aerospike", "create_peering", as({ is_secure_connection = 1 }), "is_secure_connection", "true or false" },
  { "aerospike", "create_peering", as({ cluster_id = "abc" }), "cluster_id", "UUID" },
  { "upcloud", "create_peering", uc({ name = "" }), "name", "empty" },
  -- a name has no leading zeros to lose: the hint is for ids
  { "upcloud", "create_peering", uc({ name = 5 }), "name", 'must be a string: write it in quotes ("5")' },
  { "upcloud", "create_peering", uc({ peer_network = { uuid = NET } }), "peer_network", "cannot be peered with itself" },
  { "upcloud", "create_peering", uc({ name = string.rep("n", 256) }), "name", "too long" },
  { "upcloud", "create_peering", uc({ name = string.rep("\u{e9}", 256) }), "name", "at most 255 characters, not 256" },
  { "upcloud", "create_peering", uc({ configured_status = "on" }), "configured_status", "is not one of: active, disabled" },
  { "upcloud", "create_peering", uc({ configured_status = "activ" }), "configured_status",
    "is not one of: active, disabled (did you mean active?)" },
  { "upcloud", "create_peering", uc({ network = "nope" }), "network", "UUID" },
  { "upcloud", "create_peering", uc({ peer_network = { uuid = 5 } }), "peer_network", "string" },
  { "upcloud", "create_peering", uc({ labels = { { value = "x" } } }), "labels[1]", "key" },
  { "upcloud", "create_peering", uc({ labels = { env = 5 } }), "labels.env", "must be a string (labels map strings" },
  { "upcloud", "create_peering", uc({ labels = { env = "a", { key = "k", value = "v" } } }), "labels",
    'must be a map {key = "value"} or a list' },
  { "upcloud", "create_peering", uc({ name = "nil" }), "name", "required" },
  { "upcloud", "update_peering", { uuid = "x" }, "uuid", "UUID" },
  { "upcloud", "update_peering", { uuid = NET }, "name|configured_status|labels", "give at least one of them" },
  { "huawei", "create_peering", hw({ vpc_id = "vpc-1" }), "vpc_id", "UUID" },
  { "huawei", "create_peering", hw({ accept_tenant_id = "XYZ" }), "accept_tenant_id", "hexadecimal" },
  { "huawei", "create_peering", hw({ name = string.rep("n", 65) }), "name", "too long" },
  { "huawei", "create_peering", hw({ project_id = "short" }), "project_id", "hexadecimal" },
}

describe("provider argument validation", function()
  local server, clients
  setup(function()
    server = testserver.start()
    clients = {
      instaclustr = assert(peerlua.instaclustr({ username = "u", api_key = "k", base_url = server.url .. "/instaclustr" })),
      aerospike = assert(peerlua.aerospike({ client_id = "i", client_secret = "s",
                                             base_url = server.url .. "/aerospike/v1",
                                             token_url = server.url .. "/aerospike/oauth/token" })),
      upcloud = assert(peerlua.upcloud({ token = "t", base_url = server.url .. "/upcloud/1.3" })),
      huawei = assert(peerlua.huawei({ ak = "a", sk = "s", project_id = HW_PROJECT, base_url = server.url .. "/huawei" })),
    }
  end)
  teardown(function()
    server:stop()
  end)

  it("has at least 30 bad inputs", function()
    assert.is_true(#cases >= 30)
  end)

  for i, case in ipairs(cases) do
    local provider, op, args, field, words = table.unpack(case)
    it(string.format("%d: %s %s names %s (%s)", i, provider, op, field, words), function()
      local before = peerlua.stats().requests
      local v, err = clients[provider][op](clients[provider], args)
      assert.is_nil(v)
      assert.equal("invalid", err.code)
      assert.equal(provider, err.provider)
      assert.equal(op, err.op)
      local named = false
      for _, d in ipairs(err.details) do
        if d.field == field and d.rule:find(words, 1, true) then named = true end
      end
      assert.is_true(named, "expected " .. field .. " / " .. words .. " in: " .. err.message)
      assert.equal(before, peerlua.stats().requests)
    end)
  end

  it("lists every problem at once", function()
    local _, err = clients.instaclustr:create_peering({ cluster_data_centre_id = "x", peer_vpc_id = "y" })
    assert.is_true(#err.details >= 4) -- uuid, vpc, account required, subnet required
  end)

  it("lists unknown and positional arguments in one order, whatever the table's", function()
    local names = { "zeta", "alpha", "mu", "beta", "omega", "kappa", "delta" }
    local args = ic({})
    for _, n in ipairs(names) do args[n] = 1 end
    args[1] = CDC -- a positional argument: {CDC}
    local _, err = clients.instaclustr:create_peering(args)
    local got = {}
    for _, d in ipairs(err.details) do got[#got + 1] = d.field end
    table.sort(names)
    assert.same({ "[1]", table.unpack(names) }, got)
    assert.matches("give each as name = value", err.details[1].rule, 1, true)
    -- however many there are, each is named
    args = ic({})
    for i = 1, 40 do args["unknown" .. i] = 1 end
    _, err = clients.instaclustr:create_peering(args)
    local unknown = 0
    for _, d in ipairs(err.details) do
      if d.field:match("^unknown%d+$") then unknown = unknown + 1 end
    end
    assert.equal(40, unknown)
  end)

  it("names the other API generation's argument and this one's for it", function()
    local v2 = assert(peerlua.instaclustr({ api = "v2", username = "u", api_key = "k",
                                            base_url = server.url .. "/instaclustr" }))
    local _, err = v2:create_peering({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364",
                                       peer_vpc_id = "vpc-0a1b2c3d" })
    local rules = {}
    for _, d in ipairs(err.details) do rules[d.field] = d.rule end
    assert.equal("is not an argument of this operation (it is api v1's; on api v2, did you mean cdc_id?)",
                 rules.cluster_data_centre_id)
    _, err = clients.instaclustr:create_peering({ cdc_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
    rules = {}
    for _, d in ipairs(err.details) do rules[d.field] = d.rule end
    assert.equal("is not an argument of this operation (it is api v2's; on api v1, did you mean cluster_data_centre_id?)",
                 rules.cdc_id)
    -- an operation the other generation has no form of: its argument of another operation
    _, err = clients.instaclustr:list_peerings({ cdc_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
    assert.equal("cdc_id", err.details[1].field)
    assert.equal("is not an argument of this operation (it is api v2's; on api v1, did you mean cluster_data_centre_id?)",
                 err.details[1].rule)
    -- two alike there (v1's get takes two UUIDs): named as v1's, with no guess at which v2 one
    _, err = v2:get_peering({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
    rules = {}
    for _, d in ipairs(err.details) do rules[d.field] = d.rule end
    assert.equal("is not an argument of this operation (it is api v1's; this client is api v2)",
                 rules.cluster_data_centre_id)
  end)

  it("sent nothing to the emulator", function()
    local log = assert(peerlua.http.request({ url = server.url .. "/_sim/requests" })):json()
    assert.equal(0, #log)
  end)

  it("rejects unknown and mistyped client options", function()
    local c, err = peerlua.instaclustr({ username = "u", api_key = "k", colour = "red" })
    assert.is_nil(c)
    assert.equal("invalid", err.code)
    assert.matches("colour", err.message)
    c, err = peerlua.upcloud({ token = "t", rate = "fast" })
    assert.is_nil(c)
    assert.matches("rate", err.message)
    c, err = peerlua.aerospike({ client_id = "i", client_secret = "s", retries = { tries = 3 } })
    assert.is_nil(c)
    assert.matches("retries.tries", err.message)
  end)
end)

describe("Huawei's limit", function()
  it("takes a whole number as well as a string, and sends it as the query string Huawei documents", function()
    local sim <close> = assert(require("peerlua.sim").start({ time_scale = 600 }))
    local client = assert(peerlua.huawei({}))
    assert.is_table(assert(client:list_vpc_peerings({ limit = 5 })))
    assert.is_table(assert(client:list_vpc_peerings({ limit = "7" })))
    -- the emulator answers a bad limit in the query with 400 VPC.0101
    local log = assert(sim:requests("huawei"))
    assert.equal(2, #log)
    for _, e in ipairs(log) do assert.equal(200, e.status) end
    for _, bad in ipairs({ 1.5, 2001, -1, true }) do
      local v, err = client:list_vpc_peerings({ limit = bad })
      assert.is_nil(v)
      assert.equal("invalid", err.code)
      assert.equal("limit", err.details[1].field)
    end
  end)
end)
