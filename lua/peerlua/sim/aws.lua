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
-- session), or be presigned (the same fields as X-Amz-* query parameters,
-- with X-Amz-Expires); the signature is recomputed with
-- peerlua.auth.aws_sign (aws_presign) over the signed headers and the URL
-- as sent. Refused: no or malformed Authorization, an unknown access key, a
-- wrong signature, an X-Amz-Date more than 5 minutes from the emulator's
-- wall clock (presigned: in the future so, or older than its X-Amz-Expires
-- seconds), an unknown or expired
-- session token, a credential scope naming another service or a region the
-- endpoint does not serve. EC2 holds resources per region: the region is
-- the one in the credential scope (or ec2.REGION.amazonaws.com).
--
-- VPC peering connections are not created here: the vendors' emulators
-- (instaclustr, aerospike, aiven) publish theirs through app:aws_peerings() (see
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
--
-- This file: the fixture's state, the principals and the SigV4 check, the
-- /aws router and the hooks; the services' actions are in
-- peerlua.sim.aws_ec2, aws_sts and aws_route53, the wire helpers in
-- peerlua.sim.aws_wire. Each service module's mount(r, ctx) adds its
-- routes to r and returns {error = fn(status, code, message), ...}; ctx
-- holds app, fx (fixture.aws), state, verify, token, request_id,
-- duration, find_vpc, zone_of, allowed, UPPER, B64.
local router = require("peerlua.sim.router")
local wire = require("peerlua.sim.aws_wire")
local check = require("peerlua.sim.check")

local M = {}

local amz_date, raw_query = wire.amz_date, wire.raw_query
-- AWS Signature Version 4: "In most cases, a request must reach AWS within
-- five minutes of the time stamp in the request" (IAM User Guide, "AWS
-- Signature Version 4 for API requests", docs.aws.amazon.com/IAM/latest/
-- UserGuide/reference_aws-signing.html)
local MAX_SKEW = 5 * 60

-- ---- the emulator ----------------------------------------------------------

function M.new(app)
  local fx = app.fixture.aws or {}
  local state = {}
  app:register_state("aws", state) -- saved by --state

  local function duration(name, default) return app:duration("aws", name, default) end
  local function request_id() return app:request_id() end

  -- a random id of n characters from the alphabet, from the app's
  -- generator stream (default ids: resources)
  local function token(n, alphabet, stream)
    alphabet = alphabet or "0123456789abcdef"
    local out = {}
    for i = 1, n do
      local k = math.floor(app:random(stream) * #alphabet) + 1
      out[i] = alphabet:sub(k, k)
    end
    return table.concat(out)
  end
  local UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

  -- the mutable state from the fixture: route tables, security groups, zone
  -- associations; sessions and Route 53 changes start empty
  -- the entries of a fixture list that are objects with a string id (a
  -- hand-written fixture's mistakes are skipped, not fatal)
  local function valid(list, key)
    local out = {}
    for _, x in ipairs(type(list) == "table" and list or {}) do
      if type(x) == "table" and type(x[key or "id"]) == "string" then out[#out + 1] = x end
    end
    return out
  end

  local function fill()
    for k in pairs(state) do state[k] = nil end
    state.tables, state.table_order, state.groups, state.group_order = {}, {}, {}, {}
    state.sessions, state.changes, state.zones = {}, {}, {}
    for _, v in ipairs(valid(fx.vpcs, "vpc_id")) do
      for _, t in ipairs(valid(v.route_tables)) do
        local rt = { id = t.id, vpc = v.vpc_id, account = v.account_id, region = v.region, main = t.main == true,
                     assoc = "rtbassoc-" .. t.id:gsub("^rtb%-", ""),
                     -- the local route every table has ([ec2] RouteOrigin CreateRouteTable, GatewayId "local")
                     routes = { { cidr = v.cidr, gateway = "local", origin = "CreateRouteTable" } } }
        state.tables[rt.id] = rt
        state.table_order[#state.table_order + 1] = rt.id
      end
      for _, g in ipairs(valid(v.security_groups)) do
        local sg = { id = g.id, name = g.name, description = g.description or g.name, vpc = v.vpc_id,
                     account = v.account_id, region = v.region, ingress = {} }
        state.groups[sg.id] = sg
        state.group_order[#state.group_order + 1] = sg.id
      end
    end
    for _, z in ipairs(valid(fx.hosted_zones)) do
      local list = {}
      for _, a in ipairs(valid(z.vpcs, "vpc_id")) do list[#list + 1] = { vpc = a.vpc_id, region = a.region } end
      state.zones[z.id] = list
    end
  end
  fill()
  app:on_reset(fill)

  local function find_vpc(id) return check.find(fx.vpcs, "vpc_id", id) end
  local function zone_of(id) return check.find(fx.hosted_zones, "id", id) end

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

  -- Where a request carries its signature: the Authorization header, or,
  -- presigned (SigV4's query form: S3 API Reference, "Authenticating
  -- Requests: Using Query Parameters"), the X-Amz-* query parameters, the
  -- session token among them. nil when neither is there.
  local PRESIGNED = { ["X-Amz-Algorithm"] = true, ["X-Amz-Credential"] = true, ["X-Amz-Date"] = true,
                      ["X-Amz-Expires"] = true, ["X-Amz-SignedHeaders"] = true, ["X-Amz-Security-Token"] = true,
                      ["X-Amz-Signature"] = true }
  local function signature_of(req)
    local auth = req.headers.authorization
    if auth then
      local rest = auth:match("^AWS4%-HMAC%-SHA256%s+(.*)$")
      return { cred = rest and rest:match("Credential=([^,%s]+)"), names = rest and rest:match("SignedHeaders=([^,%s]+)"),
               given = rest and rest:match("Signature=(%x+)"), date = req.headers["x-amz-date"],
               token = req.headers["x-amz-security-token"] }
    end
    local q = {}
    for k in pairs(PRESIGNED) do
      local v = (req.query or {})[k]
      q[k] = type(v) == "string" and v or nil -- a repeated parameter is no parameter
    end
    if not q["X-Amz-Signature"] then return nil end
    local expires = math.tointeger(tonumber(q["X-Amz-Expires"] or ""))
    return { presigned = true, cred = q["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and q["X-Amz-Credential"] or nil,
             names = q["X-Amz-SignedHeaders"], given = q["X-Amz-Signature"]:match("^%x+$"), date = q["X-Amz-Date"],
             token = q["X-Amz-Security-Token"], expires = expires and expires >= 1 and expires <= 604800 and expires }
  end

  -- verify(req, service, fail) -> principal, region | nil, error response.
  -- fail(status, code, message) builds the service's error answer;
  -- region_ok(region) says whether the endpoint serves that region.
  local signer, presigner
  local function verify(req, service, fail, region_ok, codes)
    local sig = signature_of(req)
    if not sig then
      -- [ec2err] MissingAuthenticationToken: "The request must contain
      -- valid credentials"; status MODEL ([common] lists it as 403)
      return nil, fail(codes.missing_status, "MissingAuthenticationToken", "Request is missing Authentication Token")
    end
    local cred, names, given = sig.cred, sig.names, sig.given
    local akid, day, region, svc = (cred or ""):match("^([^/]+)/(%d%d%d%d%d%d%d%d)/([^/]+)/([^/]+)/aws4_request$")
    if sig.presigned and not (given and names and akid and sig.expires) then
      -- MODEL: the code of a malformed header; X-Amz-Expires 1..604800 as the S3 reference gives it
      return nil, fail(codes.incomplete_status, "IncompleteSignature",
                       "A presigned request needs X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, "
                       .. "X-Amz-SignedHeaders, X-Amz-Signature and X-Amz-Expires (1 to 604800 seconds)")
    end
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
    local date = sig.date
    local t = amz_date(date)
    if not t then
      return nil, fail(codes.incomplete_status, "IncompleteSignature", "The request must carry X-Amz-Date")
    end
    if sig.presigned and t <= app:now() and app:now() > t + sig.expires then
      -- "Request has expired" (S3's words for a presigned URL past
      -- X-Amz-Expires); the code is each service's for a stale date (MODEL)
      if service == "ec2" then return nil, fail(400, "RequestExpired", "Request has expired.") end
      return nil, fail(403, "SignatureDoesNotMatch", "Request has expired: signed " .. date .. " for "
                       .. sig.expires .. " seconds")
    end
    if not (sig.presigned and t <= app:now()) and math.abs(t - app:now()) > MAX_SKEW then
      -- EC2: RequestExpired ([ec2err], [common] 400); STS and Route 53:
      -- "Signature expired: 20131008T001036Z is now earlier than
      -- 20131008T001112Z (20131008T001612Z - 5 min.)" as quoted in
      -- boto/botocore#149 (code SignatureDoesNotMatch 403: MODEL)
      local now = os.date("!%Y%m%dT%H%M%SZ", math.floor(app:now()))
      if service == "ec2" then return nil, fail(400, "RequestExpired", "Request has expired.") end
      if t > app:now() then -- the same words the other way (MODEL)
        return nil, fail(403, "SignatureDoesNotMatch", "Signature not yet current: " .. date .. " is still later than "
                         .. os.date("!%Y%m%dT%H%M%SZ", math.floor(app:now()) + MAX_SKEW) .. " (" .. now .. " + 5 min.)")
      end
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
    local tok = sig.token
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
    local query = req.query
    if sig.presigned then -- the URL as it was before the signer added its parameters
      query = {}
      for k, v in pairs(req.query) do
        if not PRESIGNED[k] then query[k] = v end
      end
    end
    local q = raw_query(query)
    local url = "http://" .. (req.headers.host or "") .. (req.sent_path or req.path) .. (q ~= "" and "?" .. q or "")
    local want = { method = req.method, url = url, headers = headers, body = req.body or "", access_key = akid,
                   secret_key = p.secret, session_token = session_token, region = region, service = service, date = date }
    local expected
    if sig.presigned then
      presigner = presigner or require("peerlua").auth.aws_presign
      want.session_token, want.expires = tok, sig.expires
      local signed = presigner(want)
      expected = signed and signed:match("&X%-Amz%-Signature=(%x+)$")
    else
      signer = signer or require("peerlua").auth.aws_sign
      local signed = signer(want)
      expected = signed and signed.Authorization:match("Signature=(%x+)")
    end
    if expected ~= given then
      -- the message AWS writes (SignatureDoesNotMatch, [common]; 403 MODEL for EC2)
      return nil, fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                       .. "you provided. Check your AWS Secret Access Key and signing method. Consult the service "
                       .. "documentation for details.")
    end
    return p, region
  end

  local ec2, sts, r53
  local r = router.new {
    not_found = function(req)
      if req.path:match("^/ec2") then return ec2.error(400, "InvalidAction", "The action is not valid for this web service.") end
      if req.path:match("^/sts") then return sts.error(400, "InvalidAction", "Unknown operation") end
      return r53.error(404, "InvalidInput", "No such resource: " .. req.path)
    end,
  }
  local ctx = { app = app, fx = fx, state = state, verify = verify, token = token, request_id = request_id,
                duration = duration, find_vpc = find_vpc, zone_of = zone_of, allowed = allowed, UPPER = UPPER, B64 = B64 }
  ec2 = require("peerlua.sim.aws_ec2").mount(r, ctx)
  sts = require("peerlua.sim.aws_sts").mount(r, ctx)
  r53 = require("peerlua.sim.aws_route53").mount(r, ctx)

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
      local fail = ec2.error
      if status == 429 or message == "rate" then return fail(503, "RequestLimitExceeded", "Request limit exceeded.") end
      if status == 503 then return fail(503, "Unavailable", "The server is overloaded and can't handle the request.") end
      if status >= 500 then return fail(status, "InternalError", "An internal error has occurred") end
      return fail(status, "InvalidParameterValue", message or "Error")
    end
    local fail = svc == "sts" and sts.error or r53.error
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
      local _, by = ec2.all_pcx()
      local x = by[id]
      if not x then return nil, "no AWS VPC peering connection " .. tostring(id) end
      return x.accept(accept)
    end,
    -- what tests and tools may read
    peerings = function()
      local out = {}
      for _, x in ipairs(app:aws_peerings()) do
        out[#out + 1] = { id = x.pcx, provider = x.provider, status = ec2.pcx_status(x), accepter = x.accepter.account }
      end
      return out
    end,
  })
  return r
end

return M
