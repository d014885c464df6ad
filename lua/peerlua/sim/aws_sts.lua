-- peerlua.sim.aws_sts: the emulated STS Query API (version 2011-06-15) at
-- /aws/sts/ (and sts[.REGION].amazonaws.com): GetCallerIdentity and
-- AssumeRole (a fixture role that trusts the caller's account; temporary
-- ASIA keys whose session token expires with the emulated clock). Answers
-- <ActionResponse xmlns=...><ActionResult/><ResponseMetadata><RequestId/>;
-- errors <ErrorResponse><Error><Type/><Code/><Message/></Error>
-- <RequestId/></ErrorResponse>. Sources ([sts], [common]) in peerlua.sim.aws.
local response = require("peerlua.sim.response")
local wire = require("peerlua.sim.aws_wire")

local el, iso = wire.el, wire.iso
local params_of, is_region = wire.params_of, wire.is_region

local STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/" -- [sts] metadata.xmlNamespace
local INVALID_TOKEN = "The security token included in the request is invalid."

local M = {}

-- mount(r, ctx): the routes on r (the /aws router); ctx: see peerlua.sim.aws
function M.mount(rt, ctx)
  local app, fx, state, verify, token = ctx.app, ctx.fx, ctx.state, ctx.verify, ctx.token
  local request_id, UPPER, B64 = ctx.request_id, ctx.UPPER, ctx.B64
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
    -- temporary credentials come from the requests generator, like tokens;
    -- temporary keys start ASIA (IAM user guide, "Unique identifiers")
    local akid = "ASIA" .. token(16, UPPER, "requests")
    local role_id = "AROA" .. token(17, UPPER, "requests")
    local s = { account = acct, secret = token(40, B64, "requests"),
                token = "FwoGZXIvYXdzE" .. token(300, B64, "requests"),
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
    req.op = params.Action -- for the request log
    local fn = params.Action and sts[params.Action]
    if not fn then
      return sts_error(400, "InvalidAction", "Could not find operation " .. tostring(params.Action) .. " for version "
                       .. tostring(params.Version))
    end
    return fn(params, p)
  end

  for _, path in ipairs({ "/sts", "/sts/" }) do rt:add({ "GET", "POST" }, path, serve_sts) end
  return { error = sts_error }
end

return M
