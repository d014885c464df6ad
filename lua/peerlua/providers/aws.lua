-- peerlua.providers.aws: the customer's AWS side of a peering. EC2 (Query
-- API 2016-11-15), STS (2011-06-15) and Route 53 (2013-04-01), signed with
-- Signature Version 4 (core/engine/pl_sign.c), answers read with expat
-- (core/binding/lua_xml.c). The operations are in core/engine/pl_provider.c; the steps that
-- finish a vendor's peering (accept_peering, ensure_routes, ensure_ingress,
-- associate_hosted_zone) are in peerlua.providers.aws_steps.
--
-- Credentials, in the order AWS's own tools look (AWS SDKs and Tools
-- Reference Guide, "Standardized credential providers"; botocore
-- credentials.py): the options; $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY
-- and $AWS_SESSION_TOKEN; the profile ($AWS_PROFILE or "default") of
-- ~/.aws/credentials ($AWS_SHARED_CREDENTIALS_FILE) and ~/.aws/config
-- ($AWS_CONFIG_FILE, sections "[profile NAME]"). A profile with role_arn
-- and source_profile assumes the role through STS AssumeRole, and so does
-- the role_arn option; the temporary credentials are kept until five
-- minutes before they expire. Region: the option, $AWS_REGION,
-- $AWS_DEFAULT_REGION, the profile's region.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local base = core.require("peerlua.client")
local credentials = core.require("peerlua.credentials")
require("peerlua.http") -- loaded first: it sets core.http
local http = core.http -- as loaded (lua/peerlua/http.lua), not fields a script may replace

local M = {
  name = "aws",
  main_service = "ec2", -- what tostring(client) shows the endpoint of
  services = { "ec2", "route53", "sts" }, -- what client:settings().endpoints lists
  options = {
    access_key_id = "string", secret_access_key = "string", session_token = "string", region = "string",
    role_arn = "string", role_session_name = "string",
  },
}

-- EC2 throttles each API on its own bucket, per account and Region;
-- mutating actions: 200 tokens refilled at 5 a second, non-mutating
-- (Describe*): 100 refilled at 20 ("Request throttling for the Amazon EC2
-- API", docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
-- peerlua keeps one bucket a class (reads, changes), each at 90% of its
-- rate with half its size, as every action of a class shares it. STS and
-- Route 53 go with the client's default (core/engine/pl_provider.c).
M.throttle_classes = { read = { rate = 20, burst = 50 }, change = { rate = 5, burst = 100 } }

-- POSTs that change nothing, which a dry run sends: every Describe, Get
-- and List action, and AssumeRole
M.reads = { assume_role = true }
for name in pairs(core.providers.aws.ops) do
  if name:match("^describe_") or name:match("^get_") or name:match("^list_") then M.reads[name] = true end
end

-- ---- XML answers ----------------------------------------------------------

local common = core.require("peerlua.providers.common")
local list = common.xml_list

-- Every answer of the Query and REST-XML APIs is a document, CreateRoute's
-- <return>true</return> too (EC2 API Reference, each action's "Response
-- elements"): an empty 2xx answer is a broken one, not a bare "done".
function M.decode(_, resp)
  if (resp.body or "") == "" then return nil, "the answer is empty where XML was expected" end
  local v, root = core.xml_decode(resp.body)
  if v == nil then return nil, "response is not XML: " .. tostring(root and root.message or root) end
  return v
end

-- Throttled answers (RequestLimitExceeded, Throttling, ...) are "busy" in
-- the provider table (core/engine/pl_provider.c, aws_busy): sent again;
-- expired credentials (ExpiredToken, RequestExpired) are "stale"
-- (aws_stale): refreshed once by reauthorize below.

-- An answer that says the change is there already (RouteAlreadyExists,
-- InvalidPermission.Duplicate) or gone already is done: the provider
-- table's (core/engine/pl_provider.c, aws_done). The two "already" words
-- cover more than the request, so the engine asks here whether they mean
-- this one is made.
function M.confirm(client, opname, _, args)
  if opname == "create_route" then
    -- EC2 says RouteAlreadyExists for any route to that destination: done
    -- only if it goes through the same peering connection
    local r = client:describe_route_tables({ route_table_ids = { args.route_table_id } })
    local t = r and list(r.routeTableSet)[1]
    for _, route in ipairs(t and list(t.routeSet) or {}) do
      if route.destinationCidrBlock == args.destination_cidr_block then
        return route.vpcPeeringConnectionId == args.vpc_peering_connection_id
      end
    end
    return false
  end
  -- EC2 refuses the whole call for one duplicate: with others, they were not added
  return opname == "authorize_security_group_ingress" and #args.ip_permissions <= 1
end

-- ---- requests --------------------------------------------------------------

-- Endpoints: base_url (one for every service: a proxy, a local stack), or
-- $AWS_ENDPOINT_URL_<SERVICE> and $AWS_ENDPOINT_URL as AWS's tools read
-- them (AWS SDKs and Tools Reference Guide, "Service-specific endpoints"),
-- else the emulator's, else AWS's own.
function M.service_url(client, service)
  if client.own_base_url then return client.base_url end
  if client.sim then return client.base_url .. "/" .. service end
  local given = os.getenv("AWS_ENDPOINT_URL_" .. service:upper()) or os.getenv("AWS_ENDPOINT_URL")
  if given and given ~= "" then return (given:gsub("/+$", "")) end
  if service == "route53" then return "https://route53.amazonaws.com" end -- global (Route 53 endpoints)
  return "https://" .. service .. "." .. client.region .. ".amazonaws.com"
end

function M.encode(client, opname, req)
  local url = client:service_url(req.service)
  if req.service == "ec2" and client.throttles then
    req.throttle = client.throttles[opname:match("^describe_") and "read" or "change"]
  end
  req.accept = "application/xml"
  if req.service == "route53" then
    local query = http.encode_query(req.query or {})
    req.url = url .. req.path .. (query ~= "" and "?" .. query or "")
    if req.body then -- Route 53's XML (core/binding/lua_wire.c, by the table's aws_services)
      req.body_text = core.xml_body(client.name, client.api, opname, req.body)
      req.content_type = "application/xml"
    end
    return true
  end
  -- EC2 and STS: the Query API's form (core/binding/lua_wire.c, by the table's aws_query)
  req.url = url .. req.path
  req.body_text = core.query_form(client.name, client.api, opname, req.query)
  req.content_type = "application/x-www-form-urlencoded; charset=utf-8"
  return true
end

-- ---- argument rules the C tables cannot say ----------------------------------

local PROTOCOLS = { tcp = true, udp = true, icmp = true, ["-1"] = true }
local PERMISSION_KEYS = { ip_protocol = true, from_port = true, to_port = true, ip_ranges = true }
local RANGE_KEYS = { cidr_ip = true, description = true }

local function check_permissions(perms, bad)
  if #perms == 0 then return bad("ip_permissions", "must be a list of {ip_protocol=, from_port=, to_port=, ip_ranges=}") end
  for i, perm in ipairs(perms) do
    local f = "ip_permissions[" .. i .. "]"
    if type(perm) ~= "table" then
      bad(f, "must be a table")
    else
      for k in pairs(perm) do
        if not PERMISSION_KEYS[k] then bad(f .. "." .. tostring(k), "is not a field of an IP permission") end
      end
      if not PROTOCOLS[perm.ip_protocol] then bad(f .. ".ip_protocol", 'must be "tcp", "udp", "icmp" or "-1"') end
      -- ports (IpPermission in ec2 service-2.json): tcp and udp 0 to 65535,
      -- from <= to; icmp a type and code (-1: all); "-1" (all traffic) none
      local tcp = perm.ip_protocol == "tcp" or perm.ip_protocol == "udp"
      for _, k in ipairs({ "from_port", "to_port" }) do
        local v = perm[k]
        if perm.ip_protocol == "-1" then
          if v ~= nil then bad(f .. "." .. k, 'must not be given with ip_protocol "-1" (all traffic)') end
        elseif math.type(v) ~= "integer" or v < (tcp and 0 or -1) or v > (tcp and 65535 or 255) then
          bad(f .. "." .. k, tcp and "must be a port number, a whole number from 0 to 65535"
            or "must be an ICMP type or code, a whole number from -1 to 255")
        end
      end
      if tcp and math.type(perm.from_port) == "integer" and math.type(perm.to_port) == "integer"
        and perm.from_port > perm.to_port then
        bad(f .. ".to_port", "must not be less than from_port")
      end
      if type(perm.ip_ranges) ~= "table" or #perm.ip_ranges == 0 then
        bad(f .. ".ip_ranges", "must be a list of {cidr_ip = ..., description = ...}")
      else
        for j, r in ipairs(perm.ip_ranges) do
          local rule = type(r) ~= "table" and "must be a table" or core.check("cidr4", r.cidr_ip)
          if rule then bad(f .. ".ip_ranges[" .. j .. "].cidr_ip", rule) end
          for k in pairs(type(r) == "table" and r or {}) do
            if not RANGE_KEYS[k] then
              bad(f .. ".ip_ranges[" .. j .. "]." .. tostring(k), "is not a field of an IP range (cidr_ip, description)")
            end
          end
          if type(r) == "table" and r.description ~= nil and (type(r.description) ~= "string" or #r.description > 255) then
            bad(f .. ".ip_ranges[" .. j .. "].description", "must be a string of at most 255 characters")
          end
        end
      end
    end
  end
end

local function check_filters(given, bad)
  for name, values in pairs(given) do
    if type(name) ~= "string" or name == "" then
      bad("filters", "must map filter names to a value or a list of values")
    elseif type(values) ~= "string" and type(values) ~= "table" then
      bad("filters." .. name, "must be a string or a list of strings")
    elseif type(values) == "table" then
      if #values == 0 then bad("filters." .. name, "must have at least one value") end
      for k, v in pairs(values) do
        if math.type(k) ~= "integer" or type(v) ~= "string" then
          bad("filters." .. name .. "[" .. tostring(k) .. "]", "must be a list of strings")
        end
      end
    end
  end
end

-- RoleSessionName: [\w+=,.@-]* (sts AssumeRoleRequest, roleSessionNameType)
local function check_session_name(v, bad)
  if type(v) == "string" and v:find("[^%w_+=,.@%-]") then
    bad("role_session_name", "must be letters, digits and _+=,.@- only")
  end
end

-- Route 53 ids: AWS answers them as /hostedzone/ID and /change/ID; either
-- form is taken (botocore strips the prefix too) and sent bare
local ZONE_ID = "^[A-Z0-9]+$"
function M.defaults(_, opname, args)
  local prefix = (opname == "get_change" and "id") or (args.hosted_zone_id and "hosted_zone_id")
  if not prefix or type(args[prefix]) ~= "string" then return args end
  local copy = {}
  for k, v in pairs(args) do copy[k] = v end
  copy[prefix] = copy[prefix]:gsub("^/?hostedzone/", ""):gsub("^/?change/", "")
  return copy
end

function M.check(_, _, args)
  local out = {}
  local function bad(field, rule) out[#out + 1] = { field = field, rule = rule } end
  if type(args.ip_permissions) == "table" then check_permissions(args.ip_permissions, bad) end
  if type(args.filters) == "table" then check_filters(args.filters, bad) end
  check_session_name(args.role_session_name, bad)
  for _, k in ipairs({ "hosted_zone_id", "id" }) do
    if type(args[k]) == "string" and not args[k]:find(ZONE_ID) then
      bad(k, "must be a Route 53 id: upper-case letters and digits (Z04089311NGVVH0FO3QGG), or /hostedzone/ID")
    end
  end
  return out
end

-- ---- credentials -------------------------------------------------------------

local function home_file(var, rel)
  local p = os.getenv(var)
  if p and p ~= "" then return p end
  return (os.getenv("HOME") or "") .. "/.aws/" .. rel
end

-- The AWS profile `name`: keys of [name] in the credentials file, and of
-- [profile name] ([default]) in the config file; the credentials file wins.
-- config_section(name) -> the keys of [profile name] ([default]) of the
-- config file or nil, its path | nil, err. The file holds no secret: it
-- need not be private.
local function config_section(name)
  local cpath = home_file("AWS_CONFIG_FILE", "config")
  local f = io.open(cpath, "r")
  if not f then return nil, cpath end
  local text = f:read("a")
  f:close()
  local sections, err = credentials.parse_ini(text)
  if not sections then return nil, nil, "AWS config file " .. cpath .. ": " .. err end
  return sections[name == "default" and "default" or "profile " .. name] or sections["profile " .. name], cpath
end

local function aws_profile(client, name)
  local merged, read = {}, {}
  local s, cpath, cerr = config_section(name)
  if cerr then return nil, cerr end
  if s then
    for k, v in pairs(s) do merged[k] = v end
    read[#read + 1] = cpath
  end
  local kpath = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
  local text, rerr = client.read_private(kpath)
  if rerr then return nil, "AWS credentials file " .. rerr end
  if text then
    local sections, err = credentials.parse_ini(text)
    if not sections then return nil, "AWS credentials file " .. kpath .. ": " .. err end
    if sections[name] then
      for k, v in pairs(sections[name]) do merged[k] = v end
      read[#read + 1] = kpath
    end
  end
  if #read == 0 then return merged, "no profile [" .. name .. "] in " .. cpath .. " or " .. kpath, false end
  return merged, table.concat(read, " and "), true
end

-- The profile's region from the config file alone (which, holding no
-- secret, need not be private)
local function config_region(name)
  local s = config_section(name)
  return s and s.region or nil
end

local function env(name)
  local v = os.getenv(name)
  return v ~= "" and v or nil
end

local function keys_of(t)
  if t.aws_access_key_id and t.aws_secret_access_key then
    return { access_key_id = t.aws_access_key_id, secret_access_key = t.aws_secret_access_key,
             session_token = t.aws_session_token }
  end
end

-- What a profile lacks of its keys, said with where it was read.
local function lacking(name, t, read)
  local what = t.aws_access_key_id and "aws_access_key_id but no aws_secret_access_key"
    or t.aws_secret_access_key and "aws_secret_access_key but no aws_access_key_id"
    or "no aws_access_key_id and aws_secret_access_key"
  return "profile [" .. name .. "] in " .. read .. " has " .. what
end

-- creds, region from the profile (following source_profile once for a
-- role: its keys assume the role, before the profile's own, as botocore's
-- assume-role provider comes before the shared files) | nil, why, fatal:
-- fatal for a file that cannot be read, else why the profile gives no keys
local function from_profile(client, name)
  local prof, read, found = aws_profile(client, name)
  if not prof then return nil, read, true end
  if not found then return nil, read end
  if prof.role_arn and prof.source_profile then
    local src, sread, sfound = aws_profile(client, prof.source_profile)
    if not src then return nil, sread, true end
    local creds = keys_of(src)
    if not creds then
      return nil, (sfound and lacking(prof.source_profile, src, sread) or sread) .. " (the source_profile of "
        .. name .. ")"
    end
    creds.role_arn, creds.role_session_name = prof.role_arn, prof.role_session_name
    return creds, prof.region
  end
  local creds = keys_of(prof)
  if not creds then return nil, lacking(name, prof, read) end
  return creds, prof.region
end

function M.credentials(client, opts)
  local creds, region
  if opts.access_key_id or opts.secret_access_key then
    if not (opts.access_key_id and opts.secret_access_key) then
      return nil, "give both access_key_id and secret_access_key"
    end
    creds = { access_key_id = opts.access_key_id, secret_access_key = opts.secret_access_key,
              session_token = opts.session_token }
  elseif client.sim then -- never the environment's real keys to the emulator
    local acct = client.sim.fixture and client.sim.fixture.aws and client.sim.fixture.aws.accounts
      and client.sim.fixture.aws.accounts[1]
    if not acct then return nil, "the emulator has no AWS account" end
    creds = { access_key_id = acct.access_key_id, secret_access_key = acct.secret_access_key }
    region = acct.region
  elseif not opts.profile and env("AWS_ACCESS_KEY_ID") then
    -- a profile given in the options wins over the environment's keys; a
    -- key id without its secret is an error, not a fall-through to the files
    -- (botocore credentials.py, EnvProvider: PartialCredentialsError)
    if not env("AWS_SECRET_ACCESS_KEY") then
      return nil, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset "
        .. "AWS_ACCESS_KEY_ID to use a profile"
    end
    creds = { access_key_id = env("AWS_ACCESS_KEY_ID"), secret_access_key = env("AWS_SECRET_ACCESS_KEY"),
              session_token = env("AWS_SESSION_TOKEN") }
  else
    local name = opts.profile or env("AWS_PROFILE") or "default"
    local second, fatal
    creds, second, fatal = from_profile(client, name)
    if not creds then
      if fatal then return nil, second end -- a file that cannot be read
      return nil, "no AWS credentials: pass access_key_id and secret_access_key, or set AWS_ACCESS_KEY_ID and "
        .. "AWS_SECRET_ACCESS_KEY, or give AWS_PROFILE a profile with keys (" .. second .. ")"
    end
    region = second -- the profile's own, if it has one
  end
  if not region and not client.sim then region = config_region(opts.profile or env("AWS_PROFILE") or "default") end
  region = opts.region or env("AWS_REGION") or env("AWS_DEFAULT_REGION") or region or (client.sim and "us-east-1")
  if not region then
    return base.invalid_option("aws", "region", "is required: pass region, or set AWS_REGION or AWS_DEFAULT_REGION, "
      .. "or add region to the profile")
  end
  local rule = core.check("aws_region", region)
  if rule then return base.invalid_option("aws", "region", rule) end
  if not opts.base_url and (region:match("^cn%-") or region:match("^us%-gov%-") or region:match("%-iso")) then
    -- other partitions: other endpoints (amazonaws.com.cn, ...) and ARNs
    return base.invalid_option("aws", "region", "is in another AWS partition (China, GovCloud or ISO), which peerlua "
      .. "does not know the endpoints of; use base_url or AWS_ENDPOINT_URL_EC2 for its endpoint")
  end
  client.region = region
  client.role_arn = opts.role_arn or creds.role_arn
  if client.role_arn then
    local arule = core.check("aws_role_arn", client.role_arn)
    if arule then return base.invalid_option("aws", "role_arn", arule) end
    client.role_session_name = opts.role_session_name or creds.role_session_name or "peerlua"
  end
  creds.role_arn, creds.role_session_name = nil, nil
  -- EC2 throttles per account and Region; the access key stands for the
  -- account. A fingerprint of it, not the key id: the throttle key shows in
  -- traces and Redis.
  client.credential_id = "key:" .. core.fingerprint(creds.access_key_id) .. "@" .. region
  -- held in C from here (core.signing_key): no Lua value keeps the secret
  client.key = core.signing_key(creds.access_key_id, creds.secret_access_key, creds.session_token)
  return {}
end

-- ---- signing -------------------------------------------------------------------

-- "2026-12-03T17:00:00Z" -> seconds since the epoch (UTC)
local function iso_time(s)
  local y, mo, d, h, mi, sec = tostring(s):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y, mo = y - 1, mo + 12 end -- days from the civil date (March-based year)
  local days = 365 * y + y // 4 - y // 100 + y // 400 + (153 * (mo - 3) + 2) // 5 + tonumber(d) - 719469
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end
M.iso_time = iso_time

-- The role's temporary keys: one AssumeRole at a time, kept until five
-- minutes before they expire, or a quarter of their life for shorter ones
-- (botocore's refresh windows are 15 and 10 minutes: credentials.py; five
-- is enough for one peering's calls).
local function assume(client)
  local r, err = client:call("assume_role", { role_arn = client.role_arn, role_session_name = client.role_session_name })
  if not r then return nil, err end
  local c = r.AssumeRoleResult and r.AssumeRoleResult.Credentials
  if type(c) ~= "table" or type(c.AccessKeyId) ~= "string" or type(c.SecretAccessKey) ~= "string"
     or (c.SessionToken ~= nil and type(c.SessionToken) ~= "string") then
    return nil, base.error({ code = "provider", provider = "aws", op = "assume_role", retryable = false,
                             message = "AssumeRole answered without credentials" })
  end
  return { key = core.signing_key(c.AccessKeyId, c.SecretAccessKey, c.SessionToken),
           expires = iso_time(c.Expiration) or os.time() + 900, got = os.time() }
end

local function role_keys(client)
  local t = client.assumed
  if t and t.refresh > os.time() then return t.key end
  local new, err = common.shared(client, "assuming", assume, client)
  if not new then return nil, err end
  new.refresh = new.expires - math.min(300, (new.expires - new.got) / 4)
  client.assumed = new
  return new.key
end

function M.authorize(client, req)
  local key = client.key
  if client.role_arn and req.op ~= "assume_role" then -- AssumeRole itself goes with the source keys
    local err
    key, err = role_keys(client)
    if not key then return nil, err end
  end
  -- Route 53 is global and signs for us-east-1 (Route 53 API Reference, "Signing requests")
  local signing_region = req.service == "route53" and "us-east-1" or client.region
  -- signed in C as the request is sent (http.send sign =): the signature
  -- and the session token go to the transfer, never into a Lua value
  req.sign = { scheme = "aws", key = key, region = signing_region, service = req.service }
  return true
end

-- Expired credentials (the table's aws_stale words): a role's session is
-- assumed again, once; keys of the user's own cannot be refreshed.
function M.reauthorize(client)
  if not client.role_arn then return false end
  client.assumed = nil
  return true
end

M.methods = core.require("peerlua.providers.aws_steps")

return M
