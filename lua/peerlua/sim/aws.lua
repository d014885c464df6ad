-- peerlua.sim.aws: the emulated AWS side of a peering, mounted at /aws:
-- EC2 (Query API, version 2016-11-15), STS (Query API, 2011-06-15) and
-- Route 53 (REST XML, 2013-04-01).
--
--   POST|GET /aws/ec2/      Action=... as a form body (or the query of a GET):
--     DescribeVpcPeeringConnections, AcceptVpcPeeringConnection,
--     RejectVpcPeeringConnection, DescribeRouteTables, CreateRoute,
--     DeleteRoute, DescribeSecurityGroups, AuthorizeSecurityGroupIngress,
--     RevokeSecurityGroupIngress
--   POST|GET /aws/sts/      GetCallerIdentity, AssumeRole
--   POST /aws/route53/2013-04-01/hostedzone/{Id}/associatevpc
--   POST /aws/route53/2013-04-01/hostedzone/{Id}/disassociatevpc
--   GET  /aws/route53/2013-04-01/change/{Id}
--   GET  /aws/route53/2013-04-01/hostedzonesbyvpc?vpcid=&vpcregion=
-- and at the real hosts (peerlua.sim ROOT_HOSTS): ec2[.REGION].amazonaws.com,
-- sts[.REGION].amazonaws.com, route53.amazonaws.com.
--
-- Sources, cited beside each fact below:
--   [ec2]  botocore botocore/data/ec2/2016-11-15/service-2.json (shapes,
--          locationName of every element, the "ec2" protocol); the query
--          names follow botocore/serialize.py EC2Serializer (queryName, else
--          locationName with its first letter upper-cased, else the member
--          name; lists flattened as Name.N)
--   [sts]  botocore botocore/data/sts/2011-06-15/service-2.json ("query"
--          protocol, resultWrapper, xmlNamespace)
--   [r53]  botocore botocore/data/route53/2013-04-01/service-2.json
--          (requestUri, shapes, error shapes and their httpStatusCode)
--   [retry] botocore botocore/data/_retry.json (ec2 RequestLimitExceeded
--          503; route53 Throttling 400; the general Throttling 400)
--   [ec2err] "Error codes for the Amazon EC2 API",
--          docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
--   [common] "Common Errors" of the AWS API references (InvalidClientTokenId
--          403, RequestExpired 400, MissingAuthenticationToken,
--          IncompleteSignature 400, InvalidAction 400, ThrottlingException 400)
--   [sdkgo] aws/aws-sdk-go aws/request/retryer.go credsExpiredCodes:
--          ExpiredToken, ExpiredTokenException, RequestExpired ("EC2 Only")
--   Where no source settles a fact the comment says MODEL.
--
-- Every request must carry AWS Signature Version 4 (Authorization:
-- AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/SERVICE/aws4_request,
-- SignedHeaders=..., Signature=...; X-Amz-Date; X-Amz-Security-Token for a
-- session); the signature is recomputed with peerlua.auth.aws_sign over the
-- signed headers and the URL as sent. Refused: no or malformed
-- Authorization, an unknown access key, a wrong signature, an X-Amz-Date
-- more than 5 minutes from the emulator's wall clock, an unknown or expired
-- session token, a credential scope naming another service or a region the
-- endpoint does not serve. EC2 holds resources per region: the region is
-- the one in the credential scope (or ec2.REGION.amazonaws.com).
--
-- VPC peering connections are not created here: the vendors' emulators
-- (instaclustr, aerospike) publish theirs through app:aws_peerings() (see
-- peerlua.sim), and their status is the vendor's own (AWS words:
-- pending-acceptance, provisioning, active, rejected, expired, deleting,
-- deleted; initiating-request for Aerospike's first seconds). Accept and
-- reject call the vendor's hooks.accept. A pcx whose accepter VPC is not in
-- the accepter's (fixture) account and region shows failed.
--
-- Fixture (fixture.aws): accounts {account_id, access_key_id,
-- secret_access_key, user_name, user_id, allowed_actions?, roles? {name,
-- trusted_accounts, max_session_duration}}; vpcs {vpc_id, account_id,
-- region, cidr, route_tables {id, main?}, security_groups {id, name,
-- description}}; hosted_zones {id, name, owner_account_id,
-- authorized_accounts, vpcs {vpc_id, region}}; durations
-- {change_insync}; rate_limit, rate_window.
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")
local check = require("peerlua.sim.check")

local M = {}

local EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/" -- [ec2] metadata.xmlNamespace (with the / AWS answers with)
local STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/" -- [sts] metadata.xmlNamespace
local R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/" -- [r53] input xmlNamespace.uri
-- AWS Signature Version 4: "the request must reach AWS within five minutes
-- of the time stamp in the request" (AWS General Reference, "Elements of an
-- AWS API request signature", docs.aws.amazon.com/IAM/latest/UserGuide/
-- reference_sigv-signing-elements.html)
local MAX_SKEW = 5 * 60

-- ---- small helpers ---------------------------------------------------------

-- element text: & < > escaped (quotes need not be, outside attributes)
local function esc(s)
  return (tostring(s):gsub("[&<>]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;" }))
end

-- el(name, v): <name>v</name>; v a string (escaped), number, boolean, or a
-- list of already written elements; nil writes nothing
local function el(name, v)
  if v == nil then return "" end
  local inner
  if type(v) == "table" then
    inner = table.concat(v)
  elseif type(v) == "boolean" then
    inner = v and "true" or "false"
  elseif math.type(v) == "float" and v == math.floor(v) then
    inner = string.format("%d", v)
  else
    inner = esc(v)
  end
  return "<" .. name .. ">" .. inner .. "</" .. name .. ">"
end

-- items(name, list, fn): <name><item>fn(x)</item>...</name>, the EC2 list form
-- ([ec2] every list member has locationName "item")
local function items(name, list, fn)
  local out = {}
  for _, x in ipairs(list) do out[#out + 1] = el("item", fn(x)) end
  return el(name, out)
end

-- days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil)
local function days(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- "20150830T123600Z" -> epoch seconds | nil
local function amz_date(s)
  local y, mo, d, h, mi, sec = (s or ""):match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  return days(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

-- ISO 8601 with milliseconds, as EC2, STS and Route 53 write times
-- (e.g. <Expiration>2011-07-15T23:28:33.359Z</Expiration>, STS AssumeRole
-- API reference example)
local function iso(epoch)
  local whole = math.floor(epoch)
  return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. string.format(".%03dZ", math.floor((epoch - whole) * 1000))
end

local function url_decode(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function url_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- a form body a=b&c=d into a table (the last of a repeated name wins)
local function form(s, into)
  for pair in (s or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    if k ~= "" then into[url_decode(k)] = url_decode(v) end
  end
  return into
end

-- the raw query string back from the parsed table (the signer sorts it)
local function raw_query(q)
  local parts = {}
  for k, v in pairs(q or {}) do
    for _, x in ipairs(type(v) == "table" and v or { v }) do parts[#parts + 1] = url_encode(k) .. "=" .. url_encode(x) end
  end
  return table.concat(parts, "&")
end

-- an AWS region name: us-east-1, ap-southeast-2, us-gov-west-1
local function is_region(s)
  return type(s) == "string" and s:match("^%l%l%-[%l%-]+%-%d+$") ~= nil
end

local function cidr_ok(s)
  return type(s) == "string" and check.cidr4(s) == nil
end

-- ---- a small XML reader for Route 53's flat request bodies ---------------

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }
local function unescape(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, v)
    if kind == "" then return ENTITIES[v] end
    local n = tonumber(v, kind == "#x" and 16 or 10)
    return n and n < 128 and string.char(n) or nil
  end))
end

-- xml(text) -> {name =, children = {name -> element}, text =} of the root
-- element | nil, why. Elements are matched by local name (a prefix is
-- dropped); attributes other than xmlns are ignored; no DTDs.
local function xml(text)
  local s = text:gsub("^\239\187\191", ""):gsub("^%s*<%?xml.-%?>", ""):gsub("<!%-%-.-%-%->", "")
  if s:find("<!", 1, true) then return nil, "DTDs and CDATA are not accepted" end
  local pos, stack, root = 1, {}, nil
  while true do
    local a, b, close, name, _, selfclose = s:find("<(/?)([%w_:%.%-]+)(.-)(/?)>", pos)
    if not a then break end
    local between = s:sub(pos, a - 1)
    local top = stack[#stack]
    if top then
      top.text = top.text .. between
    elseif between:match("%S") then
      return nil, "text outside the root element"
    end
    name = name:gsub("^.*:", "")
    if close == "/" then
      if not top or top.name ~= name then return nil, "unexpected </" .. name .. ">" end
      stack[#stack] = nil
    else
      if root and #stack == 0 then return nil, "more than one root element" end
      local e = { name = name, children = {}, text = "" }
      if top then top.children[name] = e else root = e end
      if selfclose ~= "/" then stack[#stack + 1] = e end
    end
    pos = b + 1
  end
  if #stack > 0 or not root then return nil, "the document is not complete" end
  if s:sub(pos):match("%S") then return nil, "text after the root element" end
  local function finish(e)
    e.text = unescape(e.text):match("^%s*(.-)%s*$")
    for _, c in pairs(e.children) do finish(c) end
  end
  finish(root)
  return root
end

-- ---- the emulator ----------------------------------------------------------

function M.new(app)
  local fx = app.fixture.aws or {}
  local state = {}
  app:register_state("aws", state) -- saved by --state

  local function duration(name, default) return app:duration("aws", name, default) end
  local function request_id() return app:uuid() end

  -- a random id of n characters from the alphabet
  local function token(n, alphabet)
    alphabet = alphabet or "0123456789abcdef"
    local out = {}
    for i = 1, n do
      local k = math.floor(app:random() * #alphabet) + 1
      out[i] = alphabet:sub(k, k)
    end
    return table.concat(out)
  end
  local UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

  -- the mutable state from the fixture: route tables, security groups, zone
  -- associations; sessions and Route 53 changes start empty
  local function fill()
    for k in pairs(state) do state[k] = nil end
    state.tables, state.table_order, state.groups, state.group_order = {}, {}, {}, {}
    state.sessions, state.changes, state.zones = {}, {}, {}
    for _, v in ipairs(fx.vpcs or {}) do
      for _, t in ipairs(v.route_tables or {}) do
        local rt = { id = t.id, vpc = v.vpc_id, account = v.account_id, region = v.region, main = t.main == true,
                     assoc = "rtbassoc-" .. t.id:gsub("^rtb%-", ""),
                     -- the local route every table has ([ec2] RouteOrigin CreateRouteTable, GatewayId "local")
                     routes = { { cidr = v.cidr, gateway = "local", origin = "CreateRouteTable" } } }
        state.tables[rt.id] = rt
        state.table_order[#state.table_order + 1] = rt.id
      end
      for _, g in ipairs(v.security_groups or {}) do
        local sg = { id = g.id, name = g.name, description = g.description or g.name, vpc = v.vpc_id,
                     account = v.account_id, region = v.region, ingress = {} }
        state.groups[sg.id] = sg
        state.group_order[#state.group_order + 1] = sg.id
      end
    end
    for _, z in ipairs(fx.hosted_zones or {}) do
      local list = {}
      for _, a in ipairs(z.vpcs or {}) do list[#list + 1] = { vpc = a.vpc_id, region = a.region } end
      state.zones[z.id] = list
    end
  end
  fill()
  app:on_reset(fill)

  local function find_vpc(id)
    for _, v in ipairs(fx.vpcs or {}) do
      if v.vpc_id == id then return v end
    end
  end

  local function zone_of(id)
    for _, z in ipairs(fx.hosted_zones or {}) do
      if z.id == id then return z end
    end
  end

  -- ---- principals ----

  -- principal(akid) -> {account, secret, arn, user_id, allowed, session} | nil
  local function principal(akid)
    for _, a in ipairs(fx.accounts or {}) do
      if a.access_key_id == akid then
        return { account = a.account_id, secret = a.secret_access_key, allowed = a.allowed_actions,
                 arn = "arn:aws:iam::" .. a.account_id .. ":user/" .. (a.user_name or "peerlua-sim"),
                 user_id = a.user_id or ("AIDA" .. (a.access_key_id or ""):sub(5)) }
      end
    end
    local s = state.sessions[akid]
    if s then
      return { account = s.account, secret = s.secret, arn = s.arn, user_id = s.user_id, session = s }
    end
  end

  -- an action name matches an allowed_actions pattern ("ec2:Describe*")
  local function allowed(p, action)
    if not p.allowed then return true end
    for _, pat in ipairs(p.allowed) do
      local lp = "^" .. pat:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
      if action:match(lp) then return true end
    end
    return false
  end

  -- verify(req, service, fail) -> principal, region | nil, error response.
  -- fail(status, code, message) builds the service's error answer;
  -- region_ok(region) says whether the endpoint serves that region.
  local signer
  local function verify(req, service, fail, region_ok, codes)
    local auth = req.headers.authorization
    if not auth then
      -- [ec2err] MissingAuthenticationToken: "The request must contain
      -- valid credentials"; status MODEL ([common] lists it as 403)
      return nil, fail(codes.missing_status, "MissingAuthenticationToken", "Request is missing Authentication Token")
    end
    local rest = auth:match("^AWS4%-HMAC%-SHA256%s+(.*)$")
    local cred = rest and rest:match("Credential=([^,%s]+)")
    local names = rest and rest:match("SignedHeaders=([^,%s]+)")
    local given = rest and rest:match("Signature=(%x+)")
    local akid, day, region, svc = (cred or ""):match("^([^/]+)/(%d%d%d%d%d%d%d%d)/([^/]+)/([^/]+)/aws4_request$")
    if not (given and names and akid) then
      -- [common] IncompleteSignature: "The request signature does not conform to AWS standards" (400)
      return nil, fail(codes.incomplete_status, "IncompleteSignature",
                       "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
                       .. "(AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request)")
    end
    local p = principal(akid)
    if not p then
      -- EC2: AuthFailure ([ec2err]; 401 MODEL); STS and Route 53:
      -- InvalidClientTokenId ([common] 403)
      return nil, fail(codes.unknown_status, codes.unknown_key, codes.unknown_message)
    end
    req.credential = p.account
    local date = req.headers["x-amz-date"]
    local t = amz_date(date)
    if not t then
      return nil, fail(codes.incomplete_status, "IncompleteSignature", "The request must carry X-Amz-Date")
    end
    if math.abs(t - app:now()) > MAX_SKEW then
      -- EC2: RequestExpired ([ec2err], [common] 400); STS and Route 53:
      -- SignatureDoesNotMatch "Signature expired: ..." (MODEL: the message
      -- AWS's global endpoints write)
      local now = os.date("!%Y%m%dT%H%M%SZ", math.floor(app:now()))
      if service == "ec2" then return nil, fail(400, "RequestExpired", "Request has expired.") end
      return nil, fail(403, "SignatureDoesNotMatch", "Signature expired: " .. date .. " is now earlier than "
                       .. os.date("!%Y%m%dT%H%M%SZ", math.floor(app:now()) - MAX_SKEW) .. " (" .. now .. " - 5 min.)")
    end
    if day ~= date:sub(1, 8) then
      return nil, fail(403, "SignatureDoesNotMatch", "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                       .. "version of date from HTTP: '" .. day .. "' != '" .. date:sub(1, 8) .. "', from '" .. date .. "'.")
    end
    if svc ~= service then
      -- MODEL (the message AWS writes for a wrong scope; code SignatureDoesNotMatch)
      return nil, fail(403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: '" .. service .. "'. ")
    end
    if not region_ok(region) then
      return nil, fail(403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region. ")
    end
    -- the session token: signed or sent, it must be the session's own
    local tok = req.headers["x-amz-security-token"]
    if p.session then
      if tok ~= p.session.token then
        return nil, fail(codes.unknown_status, codes.unknown_key, codes.unknown_message)
      end
      if app:clock() >= p.session.expires then
        -- [sdkgo] EC2 says RequestExpired, the others ExpiredToken
        if service == "ec2" then return nil, fail(400, "RequestExpired", "Request has expired.") end
        return nil, fail(403, "ExpiredToken", "The security token included in the request is expired")
      end
    elseif tok then
      return nil, fail(codes.unknown_status, codes.unknown_key, codes.unknown_message)
    end
    -- recompute over the signed headers only
    local headers, session_token = {}, nil
    for name in names:gmatch("[^;]+") do
      if name == "x-amz-security-token" then
        session_token = tok
      elseif name ~= "x-amz-date" and name ~= "authorization" then
        local v = req.headers[name]
        if not v then return nil, fail(403, "SignatureDoesNotMatch", "Signed header " .. name .. " is missing") end
        headers[name] = v
      end
    end
    local q = raw_query(req.query)
    local url = "http://" .. (req.headers.host or "") .. (req.sent_path or req.path) .. (q ~= "" and "?" .. q or "")
    signer = signer or require("peerlua").auth.aws_sign
    local want = signer({ method = req.method, url = url, headers = headers, body = req.body or "", access_key = akid,
                          secret_key = p.secret, session_token = session_token, region = region, service = service,
                          date = date })
    local expected = want and want.Authorization:match("Signature=(%x+)")
    if expected ~= given then
      -- the message AWS writes (SignatureDoesNotMatch, [common]; 403 MODEL for EC2)
      return nil, fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                       .. "you provided. Check your AWS Secret Access Key and signing method. Consult the service "
                       .. "documentation for details.")
    end
    return p, region
  end

  -- ---- peerings, as the vendors publish them ----

  -- AWS's words ([ec2] VpcPeeringConnectionStateReasonCode)
  local CODES = {}
  for _, w in ipairs({ "initiating-request", "pending-acceptance", "active", "deleted", "rejected", "failed",
                       "expired", "provisioning", "deleting" }) do CODES[w] = true end

  local function pcx_status(x)
    local st = CODES[x.status] and x.status or "failed"
    local acct_known = false
    for _, a in ipairs(fx.accounts or {}) do acct_known = acct_known or a.account_id == x.accepter.account end
    local v = find_vpc(x.accepter.vpc)
    if acct_known and (st == "pending-acceptance" or st == "initiating-request")
       and not (v and v.account_id == x.accepter.account and v.region == x.accepter.region) then
      return "failed"
    end
    return st
  end

  -- the status message; MODEL (AWS writes e.g. "Pending Acceptance by
  -- 123456789012"; the failed one is the VPC console's)
  local function pcx_message(st, x)
    local words = {
      ["initiating-request"] = "Initiating Request to " .. tostring(x.accepter.account),
      ["pending-acceptance"] = "Pending Acceptance by " .. tostring(x.accepter.account),
      provisioning = "Provisioning", active = "Active", deleting = "Deleting",
      rejected = "Rejected by " .. tostring(x.accepter.account), expired = "Expired",
      deleted = "Deleted by " .. tostring(x.requester.account),
      failed = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range",
    }
    return words[st]
  end

  local function all_pcx()
    local list = app:aws_peerings()
    local by = {}
    for _, x in ipairs(list) do by[x.pcx] = x end
    return list, by
  end

  -- visible to the accepter in the accepter's region, to the requester in
  -- the requester's ([ec2] AcceptVpcPeeringConnection: "you must accept the
  -- VPC peering connection in the Region of the accepter VPC")
  local function pcx_visible(x, account, region)
    return (x.accepter.account == account and x.accepter.region == region)
      or (x.requester.account == account and x.requester.region == region)
  end

  local function vpc_info(side, cidr, active)
    return {
      el("cidrBlock", cidr),
      cidr and items("cidrBlockSet", { cidr }, function(c) return { el("cidrBlock", c) } end) or "",
      el("ownerId", side.account),
      active and el("peeringOptions", { el("allowDnsResolutionFromRemoteVpc", false),
        el("allowEgressFromLocalClassicLinkToRemoteVpc", false),
        el("allowEgressFromLocalVpcToRemoteClassicLink", false) }) or "",
      el("vpcId", side.vpc), el("region", side.region),
    }
  end

  -- [ec2] VpcPeeringConnection, members in the model's order
  local function pcx_view(x)
    local st = pcx_status(x)
    local on = st == "active" or st == "provisioning"
    local acc_vpc = find_vpc(x.accepter.vpc)
    local expires = nil
    if (st == "pending-acceptance" or st == "initiating-request") and x.expires then
      expires = iso(app:now() + (x.expires - app:clock()) / app.time_scale)
    end
    return {
      el("accepterVpcInfo", vpc_info(x.accepter, on and acc_vpc and acc_vpc.cidr or nil, st == "active")),
      el("expirationTime", expires),
      el("requesterVpcInfo", vpc_info(x.requester, x.requester.cidr, st == "active")),
      el("status", { el("code", st), el("message", pcx_message(st, x)) }),
      el("tagSet", {}),
      el("vpcPeeringConnectionId", x.pcx),
    }
  end

  -- ---- EC2 ----

  local function ec2_error(status, code, message)
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n' .. el("Response", {
      el("Errors", { el("Error", { el("Code", code), el("Message", message) }) }), el("RequestID", request_id()) })
    return response.raw(status, body, "text/xml;charset=UTF-8")
  end

  local function ec2_ok(action, parts)
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<' .. action .. 'Response xmlns="' .. EC2_NS .. '">'
      .. el("requestId", request_id()) .. table.concat(parts) .. "</" .. action .. "Response>"
    return response.raw(200, body, "text/xml;charset=UTF-8")
  end

  -- values of Name.1, Name.2, ... in index order ([ec2] flattened lists)
  local function list_param(params, name)
    local found = {}
    local pat = "^" .. name:gsub("%.", "%%.") .. "%.(%d+)$"
    for k, v in pairs(params) do
      local n = k:match(pat)
      if n then found[#found + 1] = { tonumber(n), v } end
    end
    table.sort(found, function(a, b) return a[1] < b[1] end)
    local out = {}
    for i, f in ipairs(found) do out[i] = f[2] end
    return out
  end

  -- Filter.N.Name / Filter.N.Value.M ([ec2] FilterList locationName
  -- "Filter", Values locationName "Value") -> {{name, values = {set}}}
  local function filters(params)
    local by = {}
    for k, v in pairs(params) do
      local n, rest = k:match("^Filter%.(%d+)%.(.+)$")
      if n then
        local f = by[n] or { values = {} }
        by[n] = f
        if rest == "Name" then f.name = v elseif rest:match("^Value%.%d+$") then f.values[v] = true end
      end
    end
    local out = {}
    for _, f in pairs(by) do out[#out + 1] = f end
    return out
  end

  -- filters_match(fs, known, fields) -> true | false | nil, bad filter name:
  -- fields(name) gives the values the resource has for that filter
  local function filters_match(fs, known, fields)
    for _, f in ipairs(fs) do
      if not f.name or not known[f.name] then return nil, f.name or "(no name)" end
      local hit = false
      for _, have in ipairs(fields(f.name)) do hit = hit or f.values[tostring(have)] == true end
      if not hit then return false end
    end
    return true
  end

  local function bad_filter(name)
    -- [ec2err] InvalidParameterValue; message MODEL
    return ec2_error(400, "InvalidParameterValue", "The filter '" .. tostring(name) .. "' is invalid")
  end

  local ec2 = {} -- action -> fn(params, principal, region) -> response

  -- ids checked for form, then found: malformed / not found errors
  -- ([ec2err] InvalidVpcPeeringConnectionId.Malformed, ...ID.NotFound)
  local function pcx_id_problem(id)
    if type(id) ~= "string" or not (id:match("^pcx%-%x%x%x%x%x%x%x%x$") or id:match("^pcx%-" .. ("%x"):rep(17) .. "$")) then
      return ec2_error(400, "InvalidVpcPeeringConnectionId.Malformed", 'Invalid id: "' .. tostring(id)
                       .. '" (expecting "pcx-...")')
    end
  end
  local function pcx_not_found(id)
    return ec2_error(400, "InvalidVpcPeeringConnectionID.NotFound",
                     "The vpcPeeringConnection ID '" .. id .. "' does not exist")
  end

  local PCX_FILTERS = { ["vpc-peering-connection-id"] = true, ["status-code"] = true,
                        ["requester-vpc-info.vpc-id"] = true, ["accepter-vpc-info.vpc-id"] = true,
                        ["requester-vpc-info.owner-id"] = true, ["accepter-vpc-info.owner-id"] = true,
                        ["requester-vpc-info.cidr-block"] = true, ["accepter-vpc-info.cidr-block"] = true }

  function ec2.DescribeVpcPeeringConnections(params, p, region)
    local ids = list_param(params, "VpcPeeringConnectionId") -- [ec2] queryName via locationName
    for _, id in ipairs(ids) do
      local bad = pcx_id_problem(id)
      if bad then return bad end
    end
    local list, by = all_pcx()
    for _, id in ipairs(ids) do
      if not by[id] or not pcx_visible(by[id], p.account, region) then return pcx_not_found(id) end
    end
    local want = {}
    for _, id in ipairs(ids) do want[id] = true end
    local fs, out = filters(params), {}
    for _, x in ipairs(list) do
      if pcx_visible(x, p.account, region) and (#ids == 0 or want[x.pcx]) then
        local acc_vpc = find_vpc(x.accepter.vpc)
        local ok, bad = filters_match(fs, PCX_FILTERS, function(name)
          if name == "vpc-peering-connection-id" then return { x.pcx } end
          if name == "status-code" then return { pcx_status(x) } end
          local side, field = name:match("^(%l+)%-vpc%-info%.(.+)$")
          local s = side == "requester" and x.requester or x.accepter
          if field == "vpc-id" then return { s.vpc } end
          if field == "owner-id" then return { s.account } end
          return { side == "requester" and x.requester.cidr or (acc_vpc and acc_vpc.cidr) }
        end)
        if ok == nil then return bad_filter(bad) end
        if ok then out[#out + 1] = x end
      end
    end
    return ec2_ok("DescribeVpcPeeringConnections", { items("vpcPeeringConnectionSet", out, pcx_view) })
  end

  -- the pcx named by VpcPeeringConnectionId that the caller may answer
  local function answerable(params, p, region)
    local id = params.VpcPeeringConnectionId
    if not id then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter vpcPeeringConnectionId")
    end
    local bad = pcx_id_problem(id)
    if bad then return nil, bad end
    local _, by = all_pcx()
    local x = by[id]
    if not x or not pcx_visible(x, p.account, region) then return nil, pcx_not_found(id) end
    if x.accepter.account ~= p.account then
      -- MODEL: the requester may not accept its own request ([ec2] "you must
      -- be the owner of the peer VPC"); code OperationNotPermitted ([ec2err])
      return nil, ec2_error(400, "OperationNotPermitted", "User " .. p.account .. " cannot accept peering " .. id)
    end
    local st = pcx_status(x)
    if st ~= "pending-acceptance" then
      -- [ec2] "the VPC peering connection must be in the pending-acceptance
      -- state"; InvalidStateTransition ([ec2err]); message MODEL
      return nil, ec2_error(400, "InvalidStateTransition", "Invalid state transition for " .. id
                            .. ", attempted to transition from " .. st .. " to " .. (params.Action == "AcceptVpcPeeringConnection"
                            and "provisioning" or "rejected"))
    end
    return x
  end

  function ec2.AcceptVpcPeeringConnection(params, p, region)
    local x, err = answerable(params, p, region)
    if not x then return err end
    local ok, why = x.accept(true)
    if not ok then return ec2_error(500, "InternalError", "An internal error has occurred: " .. tostring(why)) end
    local _, by = all_pcx()
    -- [ec2] AcceptVpcPeeringConnectionResult: vpcPeeringConnection
    return ec2_ok("AcceptVpcPeeringConnection", { el("vpcPeeringConnection", pcx_view(by[x.pcx] or x)) })
  end

  function ec2.RejectVpcPeeringConnection(params, p, region)
    local x, err = answerable(params, p, region)
    if not x then return err end
    local ok, why = x.accept(false)
    if not ok then return ec2_error(500, "InternalError", "An internal error has occurred: " .. tostring(why)) end
    return ec2_ok("RejectVpcPeeringConnection", { el("return", true) }) -- [ec2] RejectVpcPeeringConnectionResult
  end

  -- ---- route tables ----

  local function my_table(id, p, region)
    if type(id) ~= "string" or not id:match("^rtb%-%x+$") then
      return nil, ec2_error(400, "InvalidRouteTableId.Malformed", 'Invalid id: "' .. tostring(id) .. '"')
    end
    local t = state.tables[id]
    if not t or t.account ~= p.account or t.region ~= region then
      return nil, ec2_error(400, "InvalidRouteTableID.NotFound", "The routeTable ID '" .. id .. "' does not exist")
    end
    return t
  end

  -- a route's state: blackhole when its peering is not active ([ec2]
  -- RouteState; "blackhole ... the route's target isn't available")
  local function route_state(r, by)
    if not r.pcx then return "active" end
    local x = by[r.pcx]
    return x and pcx_status(x) == "active" and "active" or "blackhole"
  end

  -- [ec2] RouteTable, Route, RouteTableAssociation
  local function table_view(t, by)
    return {
      t.main and items("associationSet", { t }, function(a)
        return { el("main", true), el("routeTableAssociationId", a.assoc), el("routeTableId", a.id),
                 el("associationState", { el("state", "associated") }) }
      end) or el("associationSet", {}),
      el("propagatingVgwSet", {}),
      el("routeTableId", t.id),
      items("routeSet", t.routes, function(r)
        return { el("destinationCidrBlock", r.cidr), el("gatewayId", r.gateway), el("origin", r.origin),
                 el("state", route_state(r, by)), el("vpcPeeringConnectionId", r.pcx) }
      end),
      el("tagSet", {}), el("vpcId", t.vpc), el("ownerId", t.account),
    }
  end

  local RTB_FILTERS = { ["vpc-id"] = true, ["route-table-id"] = true, ["association.main"] = true,
                        ["route.vpc-peering-connection-id"] = true, ["route.destination-cidr-block"] = true,
                        ["owner-id"] = true }

  function ec2.DescribeRouteTables(params, p, region)
    local ids = list_param(params, "RouteTableId")
    for _, id in ipairs(ids) do
      local _, err = my_table(id, p, region)
      if err then return err end
    end
    local want = {}
    for _, id in ipairs(ids) do want[id] = true end
    local fs, out = filters(params), {}
    local _, by = all_pcx()
    for _, id in ipairs(state.table_order) do
      local t = state.tables[id]
      if t.account == p.account and t.region == region and (#ids == 0 or want[id]) then
        local ok, bad = filters_match(fs, RTB_FILTERS, function(name)
          if name == "vpc-id" then return { t.vpc } end
          if name == "route-table-id" then return { t.id } end
          if name == "owner-id" then return { t.account } end
          if name == "association.main" then return t.main and { "true" } or {} end
          local vals = {}
          for _, r in ipairs(t.routes) do
            vals[#vals + 1] = name == "route.vpc-peering-connection-id" and r.pcx or r.cidr
          end
          return vals
        end)
        if ok == nil then return bad_filter(bad) end
        if ok then out[#out + 1] = t end
      end
    end
    return ec2_ok("DescribeRouteTables", { items("routeTableSet", out, function(t) return table_view(t, by) end) })
  end

  local function destination(params)
    local cidr = params.DestinationCidrBlock
    if not cidr then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter destinationCidrBlock "
                            .. "or destinationIpv6CidrBlock or destinationPrefixListId")
    end
    if not cidr_ok(cidr) then
      return nil, ec2_error(400, "InvalidParameterValue", "Value (" .. cidr .. ") for parameter destinationCidrBlock "
                            .. "is invalid. This is not a valid CIDR block.")
    end
    return cidr
  end

  function ec2.CreateRoute(params, p, region)
    if not params.RouteTableId then
      return ec2_error(400, "MissingParameter", "The request must contain the parameter routeTableId")
    end
    local t, err = my_table(params.RouteTableId, p, region)
    if not t then return err end
    local cidr, derr = destination(params)
    if not cidr then return derr end
    local pcx, gw = params.VpcPeeringConnectionId, params.GatewayId
    if (pcx == nil) == (gw == nil) then
      -- [ec2] CreateRoute: "You must also specify exactly one of the resources"
      return ec2_error(400, "InvalidParameterCombination", "The request must contain exactly one of gatewayId, "
                       .. "vpcPeeringConnectionId (the targets this emulator models)")
    end
    if pcx then
      local bad = pcx_id_problem(pcx)
      if bad then return bad end
      local _, by = all_pcx()
      local x = by[pcx]
      if not x or not pcx_visible(x, p.account, region) then return pcx_not_found(pcx) end
      if x.accepter.vpc ~= t.vpc and x.requester.vpc ~= t.vpc then
        -- MODEL message
        return ec2_error(400, "InvalidParameterValue", "route table " .. t.id .. " and network gateway " .. pcx
                         .. " belong to different networks")
      end
    end
    for _, r in ipairs(t.routes) do
      if r.cidr == cidr then
        -- one route per destination in a table ([ec2err] RouteAlreadyExists); message MODEL
        return ec2_error(400, "RouteAlreadyExists", "The route identified by " .. cidr .. " already exists.")
      end
    end
    t.routes[#t.routes + 1] = { cidr = cidr, pcx = pcx, gateway = gw, origin = "CreateRoute" }
    return ec2_ok("CreateRoute", { el("return", true) }) -- [ec2] CreateRouteResult
  end

  function ec2.DeleteRoute(params, p, region)
    if not params.RouteTableId then
      return ec2_error(400, "MissingParameter", "The request must contain the parameter routeTableId")
    end
    local t, err = my_table(params.RouteTableId, p, region)
    if not t then return err end
    local cidr, derr = destination(params)
    if not cidr then return derr end
    for i, r in ipairs(t.routes) do
      if r.cidr == cidr then
        if r.origin == "CreateRouteTable" then
          -- MODEL: the local route cannot go ([ec2err] InvalidParameterValue)
          return ec2_error(400, "InvalidParameterValue", "cannot remove local route " .. cidr .. " in route table " .. t.id)
        end
        table.remove(t.routes, i)
        -- [ec2] DeleteRoute has no output: the response holds a return
        -- element all the same (MODEL: what EC2 answers)
        return ec2_ok("DeleteRoute", { el("return", true) })
      end
    end
    -- [ec2err] InvalidRoute.NotFound; message MODEL
    return ec2_error(400, "InvalidRoute.NotFound", "no route with destination-cidr-block " .. cidr
                     .. " in route table " .. t.id)
  end

  -- ---- security groups ----

  local function my_group(id, p, region)
    if type(id) ~= "string" or not id:match("^sg%-%x+$") then
      return nil, ec2_error(400, "InvalidGroupId.Malformed", 'Invalid id: "' .. tostring(id) .. '" (expecting "sg-...")')
    end
    local g = state.groups[id]
    if not g or g.account ~= p.account or g.region ~= region then
      return nil, ec2_error(400, "InvalidGroup.NotFound", "The security group '" .. id .. "' does not exist")
    end
    return g
  end

  -- IpPermissions grouped as EC2 shows them: one IpPermission per protocol
  -- and port range, its ranges inside ([ec2] IpPermission, IpRange)
  local function permissions(rules)
    local out, by = {}, {}
    for _, r in ipairs(rules) do
      local k = r.protocol .. " " .. tostring(r.from) .. " " .. tostring(r.to)
      local perm = by[k]
      if not perm then
        perm = { protocol = r.protocol, from = r.from, to = r.to, ranges = {} }
        by[k] = perm
        out[#out + 1] = perm
      end
      perm.ranges[#perm.ranges + 1] = r
    end
    return out
  end

  local function permission_view(perm)
    return { el("ipProtocol", perm.protocol), el("fromPort", perm.from), el("toPort", perm.to), el("groups", {}),
             items("ipRanges", perm.ranges, function(r) return { el("cidrIp", r.cidr), el("description", r.description) } end),
             el("ipv6Ranges", {}), el("prefixListIds", {}) }
  end

  -- [ec2] SecurityGroup (the default egress rule: everything, MODEL as AWS creates it)
  local function group_view(g)
    return {
      el("ownerId", g.account), el("groupId", g.id), el("groupName", g.name), el("groupDescription", g.description),
      el("vpcId", g.vpc), items("ipPermissions", permissions(g.ingress), permission_view),
      items("ipPermissionsEgress", { { protocol = "-1", ranges = { { cidr = "0.0.0.0/0" } } } }, permission_view),
      el("tagSet", {}),
      el("securityGroupArn", "arn:aws:ec2:" .. g.region .. ":" .. g.account .. ":security-group/" .. g.id),
    }
  end

  local SG_FILTERS = { ["vpc-id"] = true, ["group-id"] = true, ["group-name"] = true, ["owner-id"] = true }

  function ec2.DescribeSecurityGroups(params, p, region)
    local ids = list_param(params, "GroupId") -- [ec2] GroupIds locationName... queryName "GroupId"
    for _, id in ipairs(ids) do
      local _, err = my_group(id, p, region)
      if err then return err end
    end
    local want = {}
    for _, id in ipairs(ids) do want[id] = true end
    local fs, out = filters(params), {}
    for _, id in ipairs(state.group_order) do
      local g = state.groups[id]
      if g.account == p.account and g.region == region and (#ids == 0 or want[id]) then
        local ok, bad = filters_match(fs, SG_FILTERS, function(name)
          return { ({ ["vpc-id"] = g.vpc, ["group-id"] = g.id, ["group-name"] = g.name, ["owner-id"] = g.account })[name] }
        end)
        if ok == nil then return bad_filter(bad) end
        if ok then out[#out + 1] = g end
      end
    end
    return ec2_ok("DescribeSecurityGroups", { items("securityGroupInfo", out, group_view) })
  end

  local PROTOCOLS = { ["6"] = "tcp", ["17"] = "udp", ["1"] = "icmp", tcp = "tcp", udp = "udp", icmp = "icmp", ["-1"] = "-1" }

  -- the rules a request names: IpPermissions.N.IpProtocol/FromPort/ToPort/
  -- IpRanges.M.CidrIp/Description ([ec2] IpPermissionList has no
  -- locationName, so "IpPermissions"; IpRanges locationName "ipRanges"),
  -- or the older top-level IpProtocol/FromPort/ToPort/CidrIp
  local function read_rules(params)
    local perms = {}
    for k in pairs(params) do
      local n = k:match("^IpPermissions%.(%d+)%.")
      if n then perms[tonumber(n)] = true end
    end
    local list = {}
    for n in pairs(perms) do list[#list + 1] = n end
    table.sort(list)
    local specs = {}
    for _, n in ipairs(list) do
      local pre = "IpPermissions." .. n .. "."
      local ranges = {}
      local rn = {}
      for k in pairs(params) do
        local m = k:sub(1, #pre) == pre and k:sub(#pre + 1):match("^IpRanges%.(%d+)%.")
        if m then rn[tonumber(m)] = true end
      end
      local ms = {}
      for m in pairs(rn) do ms[#ms + 1] = m end
      table.sort(ms)
      for _, m in ipairs(ms) do
        ranges[#ranges + 1] = { cidr = params[pre .. "IpRanges." .. m .. ".CidrIp"],
                                description = params[pre .. "IpRanges." .. m .. ".Description"] }
      end
      specs[#specs + 1] = { protocol = params[pre .. "IpProtocol"], from = params[pre .. "FromPort"],
                            to = params[pre .. "ToPort"], ranges = ranges }
    end
    if #specs == 0 and params.IpProtocol then
      specs[1] = { protocol = params.IpProtocol, from = params.FromPort, to = params.ToPort,
                   ranges = params.CidrIp and { { cidr = params.CidrIp } } or {} }
    end
    if #specs == 0 then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter ipPermissions")
    end
    local rules = {}
    for _, s in ipairs(specs) do
      local proto = s.protocol and PROTOCOLS[s.protocol:lower()]
      if not proto and s.protocol and s.protocol:match("^%d+$") and tonumber(s.protocol) <= 255 then proto = s.protocol end
      if not proto then
        return nil, ec2_error(400, "InvalidParameterValue", "Invalid value '" .. tostring(s.protocol)
                              .. "' for IP protocol. Unknown protocol.")
      end
      local from, to = math.tointeger(tonumber(s.from)), math.tointeger(tonumber(s.to))
      if proto == "-1" then
        from, to = nil, nil
      elseif proto == "tcp" or proto == "udp" then
        if not from or not to then
          return nil, ec2_error(400, "MissingParameter", "Missing source port range: fromPort and toPort are required for "
                                .. proto)
        end
        if from < 0 or to > 65535 or from > to then
          return nil, ec2_error(400, "InvalidParameterValue", "Invalid TCP/UDP port range " .. from .. " to " .. to)
        end
      end
      if #s.ranges == 0 then
        return nil, ec2_error(400, "MissingParameter", "The request must name a source: IpRanges.N.CidrIp")
      end
      for _, r in ipairs(s.ranges) do
        if not cidr_ok(r.cidr) then
          return nil, ec2_error(400, "InvalidParameterValue", "CIDR block " .. tostring(r.cidr) .. " is malformed")
        end
        rules[#rules + 1] = { protocol = proto, from = from, to = to, cidr = r.cidr, description = r.description }
      end
    end
    return rules
  end

  local function same_rule(a, b)
    return a.protocol == b.protocol and a.from == b.from and a.to == b.to and a.cidr == b.cidr
  end

  -- the rule as EC2 words it in InvalidPermission.Duplicate (MODEL from
  -- the messages AWS writes: 'the specified rule "peer: 10.1.0.0/16, TCP,
  -- from port: 9042, to port: 9042, ALLOW" already exists')
  local function rule_words(r)
    local proto = r.protocol == "-1" and "ALL" or r.protocol:upper()
    local ports = r.from and (", from port: " .. r.from .. ", to port: " .. r.to) or ""
    return '"peer: ' .. r.cidr .. ", " .. proto .. ports .. ', ALLOW"'
  end

  local function group_param(params, p, region)
    if not params.GroupId then
      return nil, ec2_error(400, "MissingParameter", "The request must contain the parameter groupId")
    end
    return my_group(params.GroupId, p, region)
  end

  function ec2.AuthorizeSecurityGroupIngress(params, p, region)
    local g, err = group_param(params, p, region)
    if not g then return err end
    local rules, rerr = read_rules(params)
    if not rules then return rerr end
    for i, r in ipairs(rules) do
      for j = 1, i - 1 do
        if same_rule(r, rules[j]) then
          return ec2_error(400, "InvalidPermission.Duplicate", "the specified rule " .. rule_words(r) .. " already exists")
        end
      end
      for _, x in ipairs(g.ingress) do
        if same_rule(r, x) then
          -- [ec2err] InvalidPermission.Duplicate; nothing is added
          return ec2_error(400, "InvalidPermission.Duplicate", "the specified rule " .. rule_words(r) .. " already exists")
        end
      end
    end
    for _, r in ipairs(rules) do
      r.id = "sgr-" .. token(17)
      g.ingress[#g.ingress + 1] = r
    end
    -- [ec2] AuthorizeSecurityGroupIngressResult: return, securityGroupRuleSet
    return ec2_ok("AuthorizeSecurityGroupIngress", { el("return", true), items("securityGroupRuleSet", rules, function(r)
      return { el("securityGroupRuleId", r.id), el("groupId", g.id), el("groupOwnerId", g.account), el("isEgress", false),
               el("ipProtocol", r.protocol), el("fromPort", r.from or -1), el("toPort", r.to or -1),
               el("cidrIpv4", r.cidr), el("description", r.description) }
    end) })
  end

  function ec2.RevokeSecurityGroupIngress(params, p, region)
    local g, err = group_param(params, p, region)
    if not g then return err end
    local rules, rerr = read_rules(params)
    if not rules then return rerr end
    local drop = {}
    for _, r in ipairs(rules) do
      local found
      for i, x in ipairs(g.ingress) do
        if same_rule(r, x) then found = i end
      end
      if not found then
        -- [ec2] RevokeSecurityGroupIngress: "For a non-default VPC, if the
        -- values you specify do not match the existing rule's values, an
        -- InvalidPermission.NotFound client error is returned, and no rules
        -- are revoked." (message MODEL)
        return ec2_error(400, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
      end
      drop[found] = true
    end
    local kept = {}
    for i, x in ipairs(g.ingress) do
      if not drop[i] then kept[#kept + 1] = x end
    end
    g.ingress = kept
    return ec2_ok("RevokeSecurityGroupIngress", { el("return", true) }) -- [ec2] RevokeSecurityGroupIngressResult
  end

  -- the request's parameters: the query, then a form body ([ec2]
  -- protocol "ec2": POST, application/x-www-form-urlencoded)
  local function params_of(req)
    local out = {}
    for k, v in pairs(req.query or {}) do out[k] = type(v) == "table" and v[#v] or v end
    local ct = (req.headers["content-type"] or ""):lower()
    if req.body and req.body ~= "" and ct:match("^application/x%-www%-form%-urlencoded") then form(req.body, out) end
    return out
  end

  -- EC2's auth error codes and statuses (see verify)
  local EC2_AUTH = { missing_status = 401, incomplete_status = 400, unknown_status = 401, unknown_key = "AuthFailure",
                     unknown_message = "AWS was not able to validate the provided access credentials" }

  local function ec2_host_region(req)
    local host = ((req.headers.host or ""):lower()):gsub(":%d+$", "")
    return host:match("^ec2%.([%w-]+)%.amazonaws%.com$") or (host == "ec2.amazonaws.com" and "us-east-1") or nil
  end

  local function serve_ec2(req)
    local params = params_of(req)
    local p, region = verify(req, "ec2", ec2_error, function(r)
      local host_region = ec2_host_region(req)
      return is_region(r) and (not host_region or host_region == r)
    end, EC2_AUTH)
    if not p then return region end
    local action = params.Action
    local fn = action and ec2[action]
    if not fn then
      -- [common] InvalidAction 400; message MODEL
      return ec2_error(400, "InvalidAction", "The action " .. tostring(action) .. " is not valid for this web service.")
    end
    if not params.Version then
      return ec2_error(400, "MissingParameter", "The request must contain the parameter Version")
    end
    if not allowed(p, "ec2:" .. action) then
      -- [ec2err] UnauthorizedOperation ("You are not authorized to perform
      -- this operation."); status 403 MODEL
      return ec2_error(403, "UnauthorizedOperation", "You are not authorized to perform this operation. User: "
                       .. p.arn .. " is not authorized to perform: ec2:" .. action)
    end
    if params.DryRun == "true" then
      -- [ec2err] DryRunOperation; status 412 MODEL (what EC2 answers)
      return ec2_error(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    end
    return fn(params, p, region)
  end

  -- ---- STS ----

  local function sts_error(status, code, message)
    -- [sts] query protocol error body; Type Sender for 4xx, Receiver for 5xx
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="' .. STS_NS .. '">'
      .. el("Error", { el("Type", status >= 500 and "Receiver" or "Sender"), el("Code", code), el("Message", message) })
      .. el("RequestId", request_id()) .. "</ErrorResponse>"
    return response.raw(status, body, "text/xml")
  end

  local function sts_ok(action, parts)
    local id = request_id()
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<' .. action .. 'Response xmlns="' .. STS_NS .. '">'
      .. el(action .. "Result", parts) .. el("ResponseMetadata", { el("RequestId", id) }) .. "</" .. action .. "Response>"
    return response.raw(200, body, "text/xml", { ["x-amzn-RequestId"] = id })
  end

  local INVALID_TOKEN = "The security token included in the request is invalid."
  local STS_AUTH = { missing_status = 403, incomplete_status = 400, unknown_status = 403,
                     unknown_key = "InvalidClientTokenId", unknown_message = INVALID_TOKEN }

  local sts = {}

  -- [sts] GetCallerIdentityResponse: UserId, Account, Arn
  function sts.GetCallerIdentity(_, p)
    return sts_ok("GetCallerIdentity", { el("UserId", p.user_id), el("Account", p.account), el("Arn", p.arn) })
  end

  local function validation(message) return sts_error(400, "ValidationError", message) end

  function sts.AssumeRole(params, p)
    local arn, name = params.RoleArn, params.RoleSessionName
    -- [sts] AssumeRoleRequest required RoleArn, RoleSessionName; the
    -- message form is AWS's validation message (MODEL)
    if not arn then
      return validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: "
                        .. "Member must not be null")
    end
    if not name then
      return validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: "
                        .. "Member must not be null")
    end
    -- [sts] roleSessionNameType: 2..64 of [\w+=,.@-]
    if #name < 2 or #name > 64 or not name:match("^[%w_+=,%.@%-]+$") then
      return validation("1 validation error detected: Value '" .. name .. "' at 'roleSessionName' failed to satisfy "
                        .. "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    end
    local dur = 3600 -- the default, AssumeRole API reference ("defaults to one hour")
    if params.DurationSeconds then
      dur = math.tointeger(tonumber(params.DurationSeconds))
      -- [sts] roleDurationSecondsType min 900, max 43200
      if not dur or dur < 900 or dur > 43200 then
        return validation("1 validation error detected: Value '" .. params.DurationSeconds .. "' at 'durationSeconds' "
                          .. "failed to satisfy constraint: Member must have value between 900 and 43200")
      end
    end
    local acct, role_name = arn:match("^arn:aws:iam::(%d+):role/(.+)$")
    local role
    for _, a in ipairs(fx.accounts or {}) do
      if a.account_id == acct then
        for _, r in ipairs(a.roles or {}) do
          if r.name == role_name then role = r end
        end
      end
    end
    local trusted = false
    for _, t in ipairs(role and role.trusted_accounts or {}) do trusted = trusted or t == p.account end
    if not trusted then
      -- AccessDenied 403, the IAM words (MODEL: STS says the same for a role
      -- that does not exist, so as not to tell)
      return sts_error(403, "AccessDenied", "User: " .. p.arn .. " is not authorized to perform: sts:AssumeRole on "
                       .. "resource: " .. arn)
    end
    if dur > (role.max_session_duration or 3600) then
      -- AssumeRole API reference: DurationSeconds above the role's maximum
      -- session duration fails (message MODEL)
      return validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    end
    local akid = "ASIA" .. token(16, UPPER) -- temporary keys start ASIA (IAM user guide, "Unique identifiers")
    local role_id = "AROA" .. token(17, UPPER)
    local s = { account = acct, secret = token(40, B64), token = "FwoGZXIvYXdzE" .. token(300, B64),
                expires = app:clock() + dur, role = arn, user_id = role_id .. ":" .. name,
                arn = "arn:aws:sts::" .. acct .. ":assumed-role/" .. role_name .. "/" .. name }
    state.sessions[akid] = s
    -- [sts] Credentials {AccessKeyId, SecretAccessKey, SessionToken,
    -- Expiration}, AssumedRoleUser {AssumedRoleId, Arn}; Expiration in wall
    -- time, the emulated duration scaled down like the other emulated tokens
    return sts_ok("AssumeRole", {
      el("Credentials", { el("AccessKeyId", akid), el("SecretAccessKey", s.secret), el("SessionToken", s.token),
                          el("Expiration", iso(app:now() + dur / app.time_scale)) }),
      el("AssumedRoleUser", { el("AssumedRoleId", s.user_id), el("Arn", s.arn) }),
    })
  end

  local function sts_host_region(req)
    local host = ((req.headers.host or ""):lower()):gsub(":%d+$", "")
    if host == "sts.amazonaws.com" then return "us-east-1" end -- [sts] globalEndpoint, signed for us-east-1
    return host:match("^sts%.([%w-]+)%.amazonaws%.com$")
  end

  local function serve_sts(req)
    local params = params_of(req)
    local p, region = verify(req, "sts", sts_error, function(r)
      local host_region = sts_host_region(req)
      return is_region(r) and (not host_region or host_region == r)
    end, STS_AUTH)
    if not p then return region end
    local fn = params.Action and sts[params.Action]
    if not fn then
      return sts_error(400, "InvalidAction", "Could not find operation " .. tostring(params.Action) .. " for version "
                       .. tostring(params.Version))
    end
    return fn(params, p)
  end

  -- ---- Route 53 ----

  local function r53_error(status, code, message)
    -- [r53] rest-xml error: ErrorResponse/Error/{Type, Code, Message}, RequestId
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="' .. R53_NS .. '">'
      .. el("Error", { el("Type", status >= 500 and "Receiver" or "Sender"), el("Code", code), el("Message", message) })
      .. el("RequestId", request_id()) .. "</ErrorResponse>"
    return response.raw(status, body, "text/xml")
  end

  local function r53_ok(name, change)
    local id = request_id()
    local insync = app:clock() >= change.at + duration("change_insync", 30)
    -- [r53] ChangeInfo {Id, Status PENDING|INSYNC, SubmittedAt, Comment}
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<' .. name .. ' xmlns="' .. R53_NS .. '">'
      .. el("ChangeInfo", { el("Id", "/change/" .. change.id), el("Status", insync and "INSYNC" or "PENDING"),
                            el("SubmittedAt", iso(change.wall)), el("Comment", change.comment) })
      .. "</" .. name .. ">"
    return response.raw(200, body, "text/xml", { ["x-amzn-RequestId"] = id })
  end

  local R53_AUTH = { missing_status = 403, incomplete_status = 400, unknown_status = 403,
                     unknown_key = "InvalidClientTokenId", unknown_message = INVALID_TOKEN }

  local function r53_auth(req)
    -- Route 53 is global: signed for us-east-1 (AWS General Reference,
    -- "Amazon Route 53 endpoints and quotas")
    return verify(req, "route53", r53_error, function(r) return r == "us-east-1" end, R53_AUTH)
  end

  local function new_change(comment)
    local c = { id = "C" .. token(13, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), at = app:clock(), wall = app:now(),
                comment = comment }
    state.changes[c.id] = c
    return c
  end

  -- the request body's VPC: VPCId, VPCRegion; Comment
  local function read_vpc(req, root_name)
    local doc, why = xml(req.body or "")
    if not doc then return nil, r53_error(400, "InvalidInput", "Invalid XML ; " .. why) end
    if doc.name ~= root_name then return nil, r53_error(400, "InvalidInput", "Invalid XML ; expected " .. root_name) end
    local vpc = doc.children.VPC
    local id = vpc and vpc.children.VPCId and vpc.children.VPCId.text
    local region = vpc and vpc.children.VPCRegion and vpc.children.VPCRegion.text
    if not id or id == "" then return nil, r53_error(400, "InvalidInput", "VPC.VPCId is required") end
    if not is_region(region) then
      -- [r53] VPCRegion is an enum of region names (MODEL: any AWS-form name)
      return nil, r53_error(400, "InvalidInput", "VPC.VPCRegion: must be a region name such as us-east-1")
    end
    return { id = id, region = region, comment = doc.children.Comment and doc.children.Comment.text or nil }
  end

  -- the zone id from the path ("Z..." or "/hostedzone/Z...")
  local function zone_param(params)
    local id = url_decode(params.Id):gsub("^/?hostedzone/", "")
    local z = zone_of(id)
    if not z then
      return nil, r53_error(404, "NoSuchHostedZone", "No hosted zone found with ID: " .. id) -- [r53] NoSuchHostedZone 404
    end
    return z
  end

  local function vpc_index(z, vid, region)
    for i, a in ipairs(state.zones[z.id] or {}) do
      if a.vpc == vid and a.region == region then return i end
    end
  end

  local r = router.new {
    not_found = function(req)
      if req.path:match("^/ec2") then return ec2_error(400, "InvalidAction", "The action is not valid for this web service.") end
      if req.path:match("^/sts") then return sts_error(400, "InvalidAction", "Unknown operation") end
      return r53_error(404, "InvalidInput", "No such resource: " .. req.path)
    end,
  }

  for _, path in ipairs({ "/ec2", "/ec2/" }) do r:add({ "GET", "POST" }, path, serve_ec2) end
  for _, path in ipairs({ "/sts", "/sts/" }) do r:add({ "GET", "POST" }, path, serve_sts) end

  local R53 = "/route53/2013-04-01"

  -- [r53] AssociateVPCWithHostedZone: POST /2013-04-01/hostedzone/{Id}/associatevpc
  r:add("POST", R53 .. "/hostedzone/{Id}/associatevpc", function(req, params)
    local p, err = r53_auth(req)
    if not p then return err end
    local z, zerr = zone_param(params)
    if not z then return zerr end
    local v, verr = read_vpc(req, "AssociateVPCWithHostedZoneRequest")
    if not v then return verr end
    local vpc = find_vpc(v.id)
    if not vpc or vpc.account_id ~= p.account or vpc.region ~= v.region then
      -- [r53] InvalidVPCId 400: "isn't a valid ID or the current account is
      -- not authorized to access this VPC"
      return r53_error(400, "InvalidVPCId", "The VPC ID " .. v.id .. " is not valid, or the VPC is not in " .. v.region
                       .. " of account " .. p.account .. ".")
    end
    local authorized = z.owner_account_id == p.account
    for _, a in ipairs(z.authorized_accounts or {}) do authorized = authorized or a == p.account end
    if not authorized then
      -- [r53] NotAuthorizedException 401 (a zone of another account needs
      -- its owner's CreateVPCAssociationAuthorization)
      return r53_error(401, "NotAuthorizedException", "The VPC: " .. v.id .. " has not authorized to associate with "
                       .. "your hosted zone.")
    end
    if vpc_index(z, v.id, v.region) then
      -- ConflictingDomainExists: what Route 53 answers for a VPC already
      -- associated (saltstack/salt#47480 treats it as "already associated";
      -- status 400 as in infrablocks/terraform-aws-base-networking#4)
      return r53_error(400, "ConflictingDomainExists", "The VPC " .. v.id .. " in " .. v.region
                       .. " region has already been associated with the hosted zone " .. z.id .. " with the same domain name.")
    end
    local list = state.zones[z.id] or {}
    state.zones[z.id] = list
    list[#list + 1] = { vpc = v.id, region = v.region }
    return r53_ok("AssociateVPCWithHostedZoneResponse", new_change(v.comment))
  end)

  -- [r53] DisassociateVPCFromHostedZone
  r:add("POST", R53 .. "/hostedzone/{Id}/disassociatevpc", function(req, params)
    local p, err = r53_auth(req)
    if not p then return err end
    local z, zerr = zone_param(params)
    if not z then return zerr end
    local v, verr = read_vpc(req, "DisassociateVPCFromHostedZoneRequest")
    if not v then return verr end
    local vpc = find_vpc(v.id)
    if not vpc or (vpc.account_id ~= p.account and z.owner_account_id ~= p.account) then
      return r53_error(400, "InvalidVPCId", "The VPC ID " .. v.id .. " is not valid for account " .. p.account .. ".")
    end
    local i = vpc_index(z, v.id, v.region)
    if not i then
      -- [r53] VPCAssociationNotFound 404
      return r53_error(404, "VPCAssociationNotFound", "The specified VPC " .. v.id .. " and hosted zone " .. z.id
                       .. " are not currently associated.")
    end
    if #state.zones[z.id] == 1 then
      -- [r53] LastVPCAssociation 400
      return r53_error(400, "LastVPCAssociation", "The VPC " .. v.id .. " is the last VPC associated with the "
                       .. "private hosted zone " .. z.id .. ".")
    end
    table.remove(state.zones[z.id], i)
    return r53_ok("DisassociateVPCFromHostedZoneResponse", new_change(v.comment))
  end)

  -- [r53] ListHostedZonesByVPC: GET /2013-04-01/hostedzonesbyvpc?vpcid=&vpcregion=
  -- -> HostedZoneSummaries/HostedZoneSummary {HostedZoneId, Name, Owner
  -- {OwningAccount}}, MaxItems: the zones a VPC of the caller is associated with
  r:add("GET", R53 .. "/hostedzonesbyvpc", function(req)
    local p, err = r53_auth(req)
    if not p then return err end
    local q = req.query or {}
    local vid, region = q.vpcid, q.vpcregion
    if type(vid) ~= "string" or not is_region(region) then
      return r53_error(400, "InvalidInput", "vpcid and vpcregion are required")
    end
    local vpc = find_vpc(vid)
    if not vpc or vpc.account_id ~= p.account or vpc.region ~= region then
      return r53_error(400, "InvalidInput", "The VPC " .. vid .. " in " .. region .. " is not a VPC of account "
                       .. p.account .. ".")
    end
    local out = {}
    for _, z in ipairs(fx.hosted_zones or {}) do
      if vpc_index(z, vid, region) then
        out[#out + 1] = el("HostedZoneSummary", { el("HostedZoneId", z.id), el("Name", z.name),
                                                 el("Owner", { el("OwningAccount", z.owner_account_id) }) })
      end
    end
    local body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListHostedZonesByVPCResponse xmlns="' .. R53_NS .. '">'
      .. el("HostedZoneSummaries", out) .. el("MaxItems", "100") .. "</ListHostedZonesByVPCResponse>"
    return response.raw(200, body, "text/xml", { ["x-amzn-RequestId"] = request_id() })
  end)

  -- [r53] GetChange: GET /2013-04-01/change/{Id}; PENDING, then INSYNC
  -- after durations.change_insync emulated seconds (MODEL length)
  r:add("GET", R53 .. "/change/{Id}", function(req, params)
    local p, err = r53_auth(req)
    if not p then return err end
    local id = url_decode(params.Id):gsub("^/?change/", "")
    local c = state.changes[id]
    if not c then
      return r53_error(404, "NoSuchChange", "A change with the specified change ID does not exist.") -- [r53] NoSuchChange 404
    end
    return r53_ok("GetChangeResponse", c)
  end)

  -- ---- hooks: credential for the rate limit, the error shapes ----

  local function service_of(req)
    local rest = (req.path or ""):match("^/aws(/.*)$") or ""
    return rest:match("^/(%w+)") or "ec2"
  end

  -- faults and rate limits in the service's own words
  local function error_for(req, status, message)
    local svc = service_of(req)
    if svc == "ec2" then
      -- [retry] ec2 RequestLimitExceeded 503 ("Request limit exceeded." as
      -- in cloudfoundry/bosh-aws-cpi-release#61); [ec2err] server errors
      -- InternalError 500, Unavailable 503
      if status == 429 or message == "rate" then return ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.") end
      if status == 503 then return ec2_error(503, "Unavailable", "The server is overloaded and can't handle the request.") end
      if status >= 500 then return ec2_error(status, "InternalError", "An internal error has occurred") end
      return ec2_error(status, "InvalidParameterValue", message or "Error")
    end
    local fail = svc == "sts" and sts_error or r53_error
    -- [retry] Throttling 400 (the general policy for STS, route53's own)
    if status == 429 or message == "rate" then return fail(400, "Throttling", "Rate exceeded") end
    if status == 503 then return fail(503, "ServiceUnavailable", "Service is unavailable") end -- [common]
    if status >= 500 then return fail(status, "InternalFailure", "An internal error has occurred") end -- [common]
    return fail(status, "InvalidInput", message or "Error")
  end

  app:register("aws", {
    -- the rate limit's key: the account of the access key, as AWS
    -- throttles per account (MODEL: one limit for the three services)
    credential = function(req)
      local akid = (req.headers.authorization or ""):match("Credential=([^/,%s]+)/")
      local p = akid and principal(akid)
      if p then req.credential = p.account end
      return p and p.account or akid
    end,
    rate_limited = function(req)
      local resp = error_for(req, 429, "rate")
      resp.no_retry_after = true -- AWS sends no Retry-After
      return resp
    end,
    error = function(req, status, _, message) return error_for(req, status, message) end,
    -- POST /_sim/peer-accept {provider = "aws", id = "pcx-..."}: the
    -- accepter's answer, as AcceptVpcPeeringConnection gives it
    accept = function(id, accept)
      local _, by = all_pcx()
      local x = by[id]
      if not x then return nil, "no AWS VPC peering connection " .. tostring(id) end
      return x.accept(accept)
    end,
    -- what tests and tools may read
    peerings = function()
      local out = {}
      for _, x in ipairs(app:aws_peerings()) do
        out[#out + 1] = { id = x.pcx, provider = x.provider, status = pcx_status(x), accepter = x.accepter.account }
      end
      return out
    end,
  })
  return r
end

return M
