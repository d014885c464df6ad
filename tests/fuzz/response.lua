-- Fuzz driver (tests/fuzz/fuzz_lua.c): provider response handling.
--
-- The input names one client operation, then the responses a fake
-- transport answers it with, in order (token requests included):
--
--   aerospike list_peerings
--   --- 200 application/json
--   {"access_token":"t","expires_in":60}
--   --- 503 application/problem+json retry-after=1
--   {"type":"urn:aerospike:errors:unavailable"}
--
-- A response line is "--- STATUS [CONTENT-TYPE|-] [header=value ...]"; its
-- body is the one line after it. After the last response, the transport
-- answers with network errors.
-- Whatever the bodies, status codes and headers, the call must return a
-- value or nil and a peerlua error with a code and a message; a Lua error
-- is a bug (fuzz_lua.c aborts on it).
local peerlua = require("peerlua")
local BASE = "http://127.0.0.1:9"
assert(peerlua.upcloud({ base_url = BASE, token = "t" })) -- loads the provider layer
local json = require("peerlua.json")
local core = debug.getregistry()["peerlua.core"] -- the primitives, reached as only the debug library can

-- No real waiting; and in the fuzz build no budget is shared between
-- inputs (core/binding/lua_policy.c): each input stands alone.
core.sleep = function() end

local UUID = "aabc665c-8916-40ae-978c-96d39a3a1364"
local UUID2 = "03585987-bf7d-4544-8e9b-5a1b4d74a333"

local clients = {
  instaclustr = function() return peerlua.instaclustr({ base_url = BASE, username = "u", api_key = "k" }) end,
  instaclustr2 = function()
    return peerlua.instaclustr({ base_url = BASE, username = "u", api_key = "k", api = "v2" })
  end,
  huawei = function()
    return peerlua.huawei({ base_url = BASE, ak = "AK", sk = "SK", project_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9" })
  end,
  huawei_iam = function()
    return peerlua.huawei({ base_url = BASE, user = "u", password = "p", domain = "d",
                            project_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9" })
  end,
  aerospike = function()
    return peerlua.aerospike({ base_url = BASE, token_url = BASE .. "/oauth/token", client_id = "i",
                               client_secret = "s" })
  end,
  upcloud = function() return peerlua.upcloud({ base_url = BASE, username = "u", password = "p" }) end,
  aiven = function() return peerlua.aiven({ base_url = BASE, token = "t", project = "p" }) end,
  aws = function()
    return peerlua.aws({ base_url = BASE, access_key_id = "AKIDEXAMPLE", secret_access_key = "s", region = "us-east-1" })
  end,
}

local ic1 = { cluster_data_centre_id = UUID, peer_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d",
              peer_subnets = { "10.1.0.0/16" }, peer_region = "US_WEST_2" }
local ic2 = { cdc_id = UUID, peer_aws_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d",
              peer_region = "US_WEST_2", peer_subnets = { "10.1.0.0/16" } }
local hw = { cluster_id = UUID, vpc_id = UUID2, name = "n", accept_tenant_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9" }
local as = { cluster_id = UUID, vpc_id = "vpc-0123456789abcdef0", cidr_block = "192.168.0.0/16",
             account_id = "123456789012", region = "us-east-1", is_secure_connection = true }
local uc = { name = "a", network = UUID, peer_network = UUID2 }

-- client kind -> operation -> arguments (valid, so a request is sent)
local calls = {
  instaclustr = {
    create_peering = ic1, ensure_peering = ic1,
    get_peering = { cluster_data_centre_id = UUID, vpc_peering_connection_id = UUID2 },
    list_peerings = { cluster_data_centre_id = UUID },
    delete_peering = { cluster_data_centre_id = UUID, vpc_peering_connection_id = UUID2 },
    add_firewall_rule = { cluster_id = UUID, network = "10.1.0.0/16", rules = { { type = "CASSANDRA" } } },
    list_firewall_rules = { cluster_id = UUID },
  },
  instaclustr2 = {
    create_peering = ic2, ensure_peering = ic2, get_peering = { vpc_peer_id = UUID2 }, list_peerings = {},
    delete_peering = { vpc_peer_id = UUID2 },
    add_firewall_rule = { cluster_id = UUID, network = "10.1.0.0/16", type = "CASSANDRA" },
  },
  huawei = {
    create_peering = hw, ensure_peering = hw, list_peerings = { cluster_id = UUID },
    delete_peering = { cluster_id = UUID, peering_id = UUID2 },
    accept_peering = { peering_id = UUID2 }, reject_peering = { peering_id = UUID2 },
    get_vpc_peering = { peering_id = UUID2 },
  },
  aerospike = {
    create_peering = as, ensure_peering = as, list_peerings = { cluster_id = UUID },
    delete_peering = { cluster_id = UUID, peering_id = UUID2 },
  },
  upcloud = {
    create_peering = uc, ensure_peering = uc, get_peering = { uuid = UUID2 }, list_peerings = {},
    delete_peering = { uuid = UUID2 }, update_peering = { uuid = UUID2, configured_status = "disabled" },
  },
}
local av = { project_vpc_id = UUID, peer_cloud_account = "upcloud", peer_vpc = UUID }
calls.aiven = {
  create_peering = av, ensure_peering = av, list_peerings = { project_vpc_id = UUID },
  delete_peering = { project_vpc_id = UUID, peer_cloud_account = "upcloud", peer_vpc = UUID },
}
calls.huawei_iam = calls.huawei
local PCX, RTB, SG = "pcx-0123456789abcdef0", "rtb-0123456789abcdef0", "sg-0123456789abcdef0"
calls.aws = {
  describe_vpc_peering_connections = { vpc_peering_connection_ids = { PCX }, filters = { ["vpc-id"] = "vpc-0a1b2c3d" } },
  accept_vpc_peering_connection = { vpc_peering_connection_id = PCX },
  describe_route_tables = { route_table_ids = { RTB } },
  create_route = { route_table_id = RTB, destination_cidr_block = "10.0.0.0/16", vpc_peering_connection_id = PCX },
  delete_route = { route_table_id = RTB, destination_cidr_block = "10.0.0.0/16" },
  describe_security_groups = { group_ids = { SG } },
  authorize_security_group_ingress = { group_id = SG, ip_permissions = { { ip_protocol = "tcp", from_port = 1,
    to_port = 2, ip_ranges = { { cidr_ip = "10.0.0.0/8" } } } } },
  get_caller_identity = {},
  associate_vpc_with_hosted_zone = { hosted_zone_id = "Z1", vpc_id = "vpc-0a1b2c3d", vpc_region = "us-east-1" },
  list_hosted_zones_by_vpc = { vpc_id = "vpc-0a1b2c3d", vpc_region = "us-east-1" },
}

-- Split the input into the call line and the responses; a response line
-- is "--- STATUS [CONTENT-TYPE] [header=value ...]" ("-": no Content-Type).
local function parse(data)
  local head, rest = data:match("^([^\n]*)\n?(.*)$")
  local kind, opname = head:match("^(%S+)%s+(%S+)")
  local responses = {}
  for line, body in ("\n" .. rest):gmatch("\n%-%-%- *([^\n]*)\n?([^\n]*)") do
    local words = {}
    for w in line:gmatch("%S+") do words[#words + 1] = w end
    local headers = {}
    if words[2] and words[2] ~= "-" then headers["content-type"] = words[2] end
    for i = 3, #words do
      local k, v = words[i]:match("^([^=]+)=(.*)$")
      if k then headers[k:lower()] = v end
    end
    responses[#responses + 1] = { status = math.tointeger(tonumber(words[1])) or 200, headers = headers, body = body }
  end
  return kind, opname, responses
end

-- A fake transport answering with the queued responses, then network errors.
local function transport(queue)
  local i = 0
  return function(req)
    assert(type(req) == "table" and type(req.url) == "string", "bad request")
    i = i + 1
    local r = queue[i]
    if not r then return nil, peerlua.error({ code = "network", message = "fuzz: no more responses" }) end
    return { status = r.status, headers = r.headers, body = r.body, json = function(self) return json.decode(self.body) end }
  end
end

local function check_error(err, what)
  if not peerlua.is_error(err) then error(what .. ": error is not a peerlua error: " .. tostring(err)) end
  if type(err.code) ~= "string" then error(what .. ": error without a code") end
  if type(err.message) ~= "string" then error(what .. ": error without a message string: " .. tostring(err.message)) end
  local _ = tostring(err)
end

local function check_peering(p, what)
  if type(p) ~= "table" then return end
  if p.id ~= nil and type(p.id) ~= "string" then error(what .. ": peering id is a " .. type(p.id)) end
  if type(p.state) ~= "string" then error(what .. ": peering without a state") end
  local _ = tostring(p)
end

local SHOW = os.getenv("PEERLUA_FUZZ_SHOW") -- print each outcome (to read a finding)
return function(data)
  local kind, opname, responses = parse(data)
  local args = calls[kind] and calls[kind][opname]
  if not args then return end
  local client = assert(clients[kind]())
  core.transport = transport(responses)
  local ok, r, how = xpcall(client[opname], debug.traceback, client, args)
  core.transport = nil
  if not ok then error(r, 0) end
  local what = kind .. " " .. opname
  if SHOW then io.stderr:write(what, " -> ", tostring(r), " ", tostring(how and how.message or how), "\n") end
  if r == nil then return check_error(how, what) end
  -- the method's kind: its class's (peerlua.client, ops_of)
  if (getmetatable(core.client_state(client)).__ops[opname] or "peering") ~= "peering" or r == true then return end
  if opname == "list_peerings" then
    for _, p in ipairs(r) do check_peering(p, what) end
  else
    check_peering(r, what)
  end
end
