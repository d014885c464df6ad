-- peerlua.sim.aerospike: the emulated Aerospike Cloud public API, mounted at
-- /aerospike (shared/seeds 002, shared/providers.md 3).
--
--   POST   /oauth/token   OAuth2 client credentials: {client_id, client_secret,
--          grant_type = "client_credentials"} as JSON or a form; 200
--          {access_token, expires_in, token_type = "Bearer", scope}; wrong: 401
--          {error = "access_denied", error_description}
--   GET    /v1/database/clusters/{clusterId}/vpc-peerings?limit=&offset=
--          200 {count, meta = {total, limit, offset}, vpcPeerings} (limit 1..100, default 10)
--   POST   /v1/database/clusters/{clusterId}/vpc-peerings     201 peering
--   DELETE /v1/database/clusters/{clusterId}/vpc-peerings/{peeringId}  204
--          (peeringId: the peering's id or its VPC id)
--   GET    /v1/databases/{databaseId}/vpc-peerings    200 {count, vpcPeerings}
--
-- Every API response carries X-Request-Id. Errors are RFC 9457 problem
-- details (application/problem+json) with urn:aerospike:errors:* types:
-- auth:unauthorized (401 no or unknown token, 403 a scope is missing),
-- auth:token-expired (401), resource:not-found (404), resource:already-exists
-- (409: the VPC is peered already), validation:failed (400, context.invalid
-- [{field, type, description}] and context.missing), ratelimit:exceeded.
-- Scopes: read:database lists, update:database creates, delete:database
-- deletes.
--
-- Lifecycle (status): initiating-request for durations.initiating, then
-- pending-acceptance until the customer's AWS account accepts the pcx-
-- (POST /_sim/peer-accept, hooks.accept) or rejects it, or it expires after
-- durations.acceptance_expiry; provisioning for durations.provisioning; active.
-- DELETE: deleting for durations.deleting, then deleted (no longer listed).
-- A cidrBlock overlapping the cluster's CIDR or 10.129.0.0/24 is refused.
-- The pcx- of each peering is listed by the emulated AWS (hooks.pcx,
-- peerlua.sim.aws), whose AcceptVpcPeeringConnection calls hooks.accept.
-- Fixture: aerospike.accounts {client_id, client_secret, organization,
-- scopes} (API keys), clusters {id, organization, cidr, region, hosted_zone,
-- aws_account_id, vpc_id (the cluster's own AWS side)}, token_ttl,
-- durations, rate_limit.
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")
local check = require("peerlua.sim.check")
local lifecycle = require("peerlua.sim.lifecycle")
local json = require("peerlua.json")

local M = {}

local INTERNAL_RANGE = "10.129.0.0/24"

local TITLES = {
  ["auth:unauthorized"] = "Unauthorized", ["auth:token-expired"] = "Token Expired",
  ["resource:not-found"] = "Resource Not Found", ["resource:already-exists"] = "Resource Already Exists",
  ["validation:failed"] = "Validation Error", ["system:internal"] = "Internal Error",
  ["system:unavailable"] = "Service Unavailable", ["ratelimit:exceeded"] = "Too Many Requests",
}

local function problem(status, kind, detail, context)
  local body = {
    type = "urn:aerospike:errors:" .. kind, title = TITLES[kind] or "Error", status = status,
    detail = detail, message = detail, context = context,
  }
  local resp = response.json(status, body)
  resp.headers["Content-Type"] = "application/problem+json"
  return resp
end

local KIND_OF_STATUS = {
  [401] = "auth:unauthorized", [403] = "auth:unauthorized", [404] = "resource:not-found",
  [409] = "resource:already-exists", [400] = "validation:failed", [429] = "ratelimit:exceeded",
  [500] = "system:internal", [502] = "system:unavailable", [503] = "system:unavailable", [504] = "system:unavailable",
}

-- a form body a=b&c=d
local function form(s)
  local out = {}
  for k, v in (s or ""):gmatch("([^&=]+)=([^&]*)") do
    out[k] = v:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return out
end

function M.new(app)
  local fx = app.fixture.aerospike or {}
  local state = { peerings = {}, order = {}, tokens = {} }
  app:register_state("aerospike", state) -- saved by --state
  app:on_reset(function() state.peerings, state.order, state.tokens = {}, {}, {} end)

  local function cluster(id) return check.find(fx.clusters, "id", id) end

  local life = lifecycle.new(app, "aerospike", {
    { from = "deleted_at", "deleting", "deleted", lasts = { "deleting", 10 } },
    { from = "rejected_at", "rejected" },
    { from = "accepted_at", "provisioning", "active", lasts = { "provisioning", 60 } },
    { from = "created", "initiating-request", lasts = { "initiating", 10 } },
    { from = "created", "pending-acceptance", "expired", lasts = { "acceptance_expiry", 7 * 24 * 3600 } },
  })
  local status_of = life.status

  local function view(p, now)
    return { id = p.id, accountId = p.account, vpcId = p.vpc, region = p.region, status = status_of(p, now),
             peeringId = p.pcx, cidrBlock = p.cidr, privateHostedZoneId = p.cluster.hosted_zone,
             isSecureConnection = p.secure }
  end

  local r = router.new {
    not_found = function() return problem(404, "resource:not-found", "No such resource.") end,
    method_not_allowed = function() return problem(405, "validation:failed", "Method not allowed.") end,
  }
  local dispatch = r.dispatch
  function r.dispatch(self, req, path)
    local resp = response.normalize(dispatch(self, req, path))
    resp.headers = resp.headers or {}
    resp.headers["X-Request-Id"] = app:request_id()
    return resp
  end

  -- ---- OAuth2 ----

  r:add("POST", "/oauth/token", function(req)
    local ct = (req.headers["content-type"] or ""):lower()
    local b = ct:find("json", 1, true) and json.decode(req.body or "") or form(req.body)
    if type(b) ~= "table" or b.grant_type ~= "client_credentials" then
      return response.json(400, { error = "unsupported_grant_type",
                                  error_description = "grant_type must be client_credentials" })
    end
    local user, password = check.basic(req) -- client_secret_basic is accepted too
    local id, secret = b.client_id or user, b.client_secret or password
    for _, a in ipairs(fx.accounts or {}) do
      if a.client_id == id and a.client_secret == secret then
        req.credential = a.client_id
        local ttl = fx.token_ttl or 3600
        local tok = "simat_" .. app:request_id():gsub("-", "")
        state.tokens[tok] = { account = a, expires = app:clock() + ttl }
        return response.json(200, { access_token = tok, expires_in = ttl, token_type = "Bearer",
                                    scope = table.concat(a.scopes or {}, " ") })
      end
    end
    return response.json(401, { error = "access_denied", error_description = "Unauthorized" })
  end)

  -- ---- the API ----

  -- every API route: a live bearer token with the scope, then fn(req, params, account)
  local function route(method, path, scope, fn)
    r:add(method, "/v1" .. path, function(req, params)
      local tok = (req.headers.authorization or ""):match("^[Bb]earer%s+(%S+)%s*$")
      local t = tok and state.tokens[tok]
      if not t then return problem(401, "auth:unauthorized", "Access token is missing or invalid.") end
      req.credential = t.account.client_id
      if app:clock() >= t.expires then
        return problem(401, "auth:token-expired", "Your session has expired. Please log in again.")
      end
      local has = false
      for _, s in ipairs(t.account.scopes or {}) do has = has or s == scope end
      if not has then return problem(403, "auth:unauthorized", "Permission denied: " .. scope .. " is needed.") end
      return fn(req, params, t.account)
    end)
  end

  local function owned_cluster(acct, id)
    local c = not check.uuid(id) and cluster(id)
    if not c or c.organization ~= acct.organization then
      return nil, problem(404, "resource:not-found", "The requested cluster could not be found.",
                          { resource = "cluster", id = id })
    end
    return c
  end

  local function listed(c, now)
    local out = {}
    for _, p in ipairs(state.order) do
      if p.cluster == c and status_of(p, now) ~= "deleted" then out[#out + 1] = view(p, now) end
    end
    return out
  end

  route("GET", "/database/clusters/{clusterId}/vpc-peerings", "read:database", function(req, params, acct)
    local c, err = owned_cluster(acct, params.clusterId)
    if not c then return err end
    local function int(name, default)
      local v = req.query[name]
      if type(v) == "table" then v = v[#v] end
      return v == nil and default or math.tointeger(tonumber(v))
    end
    local limit, offset = int("limit", 10), int("offset", 0)
    local invalid = {}
    if not limit or limit < 1 or limit > 100 then
      invalid[#invalid + 1] = { field = "/limit", type = "urn:aerospike:errors:validation:out-of-range",
                                description = "limit must be 1 to 100" }
    end
    if not offset or offset < 0 then
      invalid[#invalid + 1] = { field = "/offset", type = "urn:aerospike:errors:validation:out-of-range",
                                description = "offset must be 0 or more" }
    end
    if #invalid > 0 then
      return problem(400, "validation:failed", "The provided information is not in the correct format.",
                     { invalid = invalid })
    end
    local all, page = listed(c, app:clock()), {}
    for i = offset + 1, math.min(#all, offset + limit) do page[#page + 1] = all[i] end
    return response.json(200, { count = #page, meta = { total = #all, limit = limit, offset = offset },
                                vpcPeerings = check.list(page) })
  end)

  route("GET", "/databases/{databaseId}/vpc-peerings", "read:database", function(_, params, acct)
    local c, err = owned_cluster(acct, params.databaseId)
    if not c then return err end
    local all = listed(c, app:clock())
    return response.json(200, { count = #all, vpcPeerings = check.list(all) })
  end)

  -- VPCPeeringCreateSchema (shared/reference/aerospike_cloud_public_api_v1_openapi.yaml):
  -- every one of these is required, isSecureConnection too
  local function boolean(v) return type(v) ~= "boolean" and "must be a boolean" or nil end
  local FIELDS = {
    { "vpcId", check.vpc }, { "cidrBlock", check.cidr4 }, { "accountId", check.aws_account },
    { "region", check.aws_region }, { "isSecureConnection", boolean },
  }

  route("POST", "/database/clusters/{clusterId}/vpc-peerings", "update:database", function(req, params, acct)
    local c, err = owned_cluster(acct, params.clusterId)
    if not c then return err end
    local b = check.body(req)
    if not b then return problem(400, "validation:failed", "The request body must be a JSON object.") end
    local missing, invalid = {}, {}
    for _, f in ipairs(FIELDS) do
      local name, rule = f[1], f[2]
      if b[name] == nil then
        missing[#missing + 1] = "/" .. name
      else
        local bad = rule(b[name])
        if bad then
          invalid[#invalid + 1] = { field = "/" .. name, type = "urn:aerospike:errors:validation:failed",
                                    description = bad }
        end
      end
    end
    if #invalid == 0 and #missing == 0 then
      for _, range in ipairs({ c.cidr, INTERNAL_RANGE }) do
        if range and check.overlaps(b.cidrBlock, range) then
          invalid[#invalid + 1] = { field = "/cidrBlock", type = "urn:aerospike:errors:validation:failed",
                                    description = "overlaps " .. range .. ", which the cluster uses" }
        end
      end
    end
    if #invalid > 0 or #missing > 0 then
      return problem(400, "validation:failed", "The provided information is not in the correct format.",
                     { invalid = check.list(invalid), missing = check.list(missing) })
    end
    local now = app:clock()
    for _, p in ipairs(state.order) do
      local st = status_of(p, now)
      if p.cluster == c and p.vpc == b.vpcId and st ~= "deleted" and st ~= "deleting" then
        return problem(409, "resource:already-exists", "A VPC peering with " .. b.vpcId .. " already exists.",
                       { resource = "vpc-peering", id = p.id })
      end
    end
    local p = { id = app:uuid(), cluster = c, account = b.accountId, vpc = b.vpcId, region = b.region,
                cidr = b.cidrBlock, secure = b.isSecureConnection, created = now,
                pcx = "pcx-" .. app:uuid():gsub("-", ""):sub(1, 17) }
    state.peerings[p.id] = p
    state.order[#state.order + 1] = p
    return response.json(201, view(p, now))
  end)

  route("DELETE", "/database/clusters/{clusterId}/vpc-peerings/{peeringId}", "delete:database",
    function(_, params, acct)
      local c, err = owned_cluster(acct, params.clusterId)
      if not c then return err end
      local now = app:clock()
      for _, p in ipairs(state.order) do
        local st = status_of(p, now)
        if p.cluster == c and (p.id == params.peeringId or p.vpc == params.peeringId)
           and st ~= "deleted" and st ~= "deleting" then
          p.forced, p.deleted_at = nil, now
          return response.raw(204, "")
        end
      end
      return problem(404, "resource:not-found", "The requested VPC peering could not be found.",
                     { resource = "vpc-peering", id = params.peeringId })
    end)

  life.register({
    label = "Aerospike", store = state, accept_in = { "pending-acceptance", "initiating-request" },
    view = function(p, status) return { id = p.id, vpc = p.vpc, account = p.account, status = status } end,
  }, {
    error = function(_, status, _, message)
      local resp = problem(status, KIND_OF_STATUS[status] or "system:internal", message or "Error")
      resp.headers["X-Request-Id"] = app:request_id()
      return resp
    end,
    -- expire every token now (tests of the refresh)
    expire_tokens = function()
      for _, t in pairs(state.tokens) do t.expires = app:clock() end
      return true
    end,
    -- the pcx- of each peering as the emulated AWS shows it (app:aws_peerings):
    -- the requester is the cluster's own AWS account, VPC and CIDR
    pcx = function()
      local out, now = {}, app:clock()
      for _, p in ipairs(state.order) do
        out[#out + 1] = {
          id = p.id, pcx = p.pcx, status = status_of(p, now), created = p.created,
          expires = life.deadline(p, "acceptance_expiry"), hosted_zone = p.cluster.hosted_zone,
          requester = { account = p.cluster.aws_account_id, vpc = p.cluster.vpc_id, cidr = p.cluster.cidr,
                        region = p.cluster.region },
          accepter = { account = p.account, vpc = p.vpc, region = p.region },
        }
      end
      return out
    end,
  })
  return r
end

return M
