-- peerlua.sim.huawei: the emulated Huawei Cloud IAM, Cloud Stream Service
-- (CS) and VPC APIs, mounted at /huawei (shared/seeds 001,
-- shared/providers.md 2).
--
--   POST /iam/v3/auth/tokens    password auth {auth = {identity = {methods =
--        {"password"}, password = {user = {name, password, domain = {name}}}},
--        scope = {project = {id | name}}}}: 201, the token in X-Subject-Token
--        (valid token_ttl); wrong: 401 {error = {code, message, title}}
--   GET /iam/v3/projects[?name=]  the caller's domain's projects {projects, links}
--   CS:  GET|POST /cs/v1.0/{project_id}/reserved_cluster/{cluster_id}/peering
--        (list {peerings}, create 201 {peering}), GET .../peering/{peering_id}
--        {peering}, DELETE .../peering/{peering_id} 204
--   VPC: GET|POST /vpc/v2.0/vpc/peerings (list filters: id, name, status,
--        vpc_id, tenant_id; pages by limit and marker, with peerings_links),
--        GET|PUT|DELETE .../{peering_id},
--        PUT .../{peering_id}/accept and /reject (answering the bare object)
--
-- Every CS and VPC request is authenticated by X-Auth-Token (an unexpired
-- IAM token) or by an AK/SK signature (SDK-HMAC-SHA256), recomputed here
-- with the same signer the client uses: a wrong signature, an unknown AK or
-- an X-Sdk-Date more than 15 minutes from the emulator's clock gets 401.
-- Every answer carries X-Request-Id.
-- Errors are {error_code, error_msg, request_id}; the codes are the
-- emulator's own where Huawei documents none (APIGW.0301 auth, CS.10001 /
-- VPC.0101 bad input, CS.20003 / VPC.0601 not found, VPC.0604 busy).
--
-- A peering between VPCs of one tenant is ACTIVE at once; to another
-- tenant's VPC (accept_tenant_id) it is PENDING_ACCEPTANCE until that tenant
-- accepts or rejects it (PUT .../accept with its own credentials, or POST
-- /_sim/peer-accept), or EXPIRED after durations.acceptance_expiry. DELETE
-- marks it deleting for durations.deleting (another DELETE meanwhile: 409),
-- then it is gone (404). Either tenant may read or delete it.
-- Fixture: huawei.accounts {domain, user, password, ak, sk, project_id,
-- project_name, tenant_id}, clusters {id, project_id, vpc_id, vpc_cidr,
-- subnet_cidr}, vpcs {id, name, tenant_id, cidr}, token_ttl, durations.
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")
local check = require("peerlua.sim.check")
local lifecycle = require("peerlua.sim.lifecycle")
local json = require("peerlua.json")

local M = {}

local MAX_SKEW = 15 * 60

-- a stable 32-hex-digit id for a name (FNV-1a 32, four rounds): catalog and role ids
local function hex32(name)
  local out = {}
  for round = 1, 4 do
    local h = 0x811c9dc5 ~ round
    for i = 1, #name do h = ((h ~ name:byte(i)) * 0x01000193) & 0xffffffff end
    out[round] = ("%08x"):format(h)
  end
  return table.concat(out)
end

-- the documented peering statuses (seed 001, providers.md 2.4)
local STATE_LIST = { "PENDING_ACCEPTANCE", "ACTIVE", "REJECTED", "EXPIRED", "DELETED" }

local function fail(status, code, message, app)
  local id = app and app:request_id() or nil
  -- the same id in the X-Request-Id header, also on answers that do not
  -- pass the router (rate limits, injected faults)
  return response.json(status, { error_code = code, error_msg = message, request_id = id },
                       id and { ["X-Request-Id"] = id } or nil)
end

local CODES = {
  [400] = "APIGW.0201", [401] = "APIGW.0301", [403] = "APIGW.0302", [404] = "APIGW.0101", [429] = "APIG.0308",
  [500] = "APIGW.0103", [503] = "APIGW.0105", [504] = "APIGW.0604",
}

-- "20191115T033655Z" -> epoch seconds (UTC)
local function sdk_date(s)
  local y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  local t = { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
              min = tonumber(mi), sec = tonumber(sec), isdst = false }
  -- os.time reads a local time: correct by the zone's offset at that moment
  local loc = os.time(t)
  local utc_as_local = os.time(os.date("!*t", loc))
  return loc + (loc - utc_as_local)
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- the raw query string back from the parsed table (any order: the signer sorts)
local function raw_query(q)
  local parts = {}
  for k, v in pairs(q or {}) do
    if type(v) == "table" then
      for _, x in ipairs(v) do parts[#parts + 1] = encode(k) .. "=" .. encode(x) end
    else
      parts[#parts + 1] = encode(k) .. "=" .. encode(v)
    end
  end
  return table.concat(parts, "&")
end

function M.new(app)
  local fx = app.fixture.huawei or {}
  local state = { peerings = {}, order = {}, tokens = {} }
  app:register_state("huawei", state) -- saved by --state
  app:on_reset(function() state.peerings, state.order, state.tokens = {}, {}, {} end)

  local function err(status, code, message) return fail(status, code, message, app) end

  local function vpc(id)
    local v = check.find(fx.vpcs, "id", id)
    if v then return v end
    for _, c in ipairs(fx.clusters or {}) do
      if c.vpc_id == id then
        for _, a in ipairs(fx.accounts or {}) do
          if a.project_id == c.project_id then return { id = id, tenant_id = a.tenant_id, cidr = c.vpc_cidr } end
        end
      end
    end
  end

  -- ---- authentication ----

  local signer
  local function verify_signature(req, auth)
    local ak = auth:match("Access=([^,%s]+)")
    local names = auth:match("SignedHeaders=([^,%s]+)")
    local given = auth:match("Signature=(%x+)")
    local date = req.headers["x-sdk-date"]
    if not (ak and names and given and date) then return nil, "malformed SDK-HMAC-SHA256 Authorization" end
    local acct
    for _, a in ipairs(fx.accounts or {}) do
      if a.ak == ak then acct = a end
    end
    if not acct then return nil, "unknown access key" end
    req.credential = ak
    local t = sdk_date(date)
    if not t or math.abs(t - app:now()) > MAX_SKEW then return nil, "X-Sdk-Date is missing or too far from now" end
    local headers = {}
    for name in names:gmatch("[^;]+") do
      if name ~= "host" and name ~= "x-sdk-date" then
        if not req.headers[name] then return nil, "signed header " .. name .. " is missing" end
        headers[name] = req.headers[name]
      end
    end
    local q = raw_query(req.query)
    local url = "http://" .. (req.headers.host or "") .. (req.sent_path or req.path) .. (q ~= "" and "?" .. q or "")
    signer = signer or require("peerlua").auth.huawei_sign
    local want = signer({ method = req.method, url = url, headers = headers, body = req.body or "",
                          ak = ak, sk = acct.sk, date = date })
    local expected = want and want.Authorization:match("Signature=(%x+)")
    if expected ~= given then return nil, "verify aksk signature fail" end
    return acct
  end

  -- account(req) -> fixture account | nil, error response
  local function account(req)
    local auth = req.headers.authorization or ""
    if auth:match("^SDK%-HMAC%-SHA256 ") then
      local acct, why = verify_signature(req, auth)
      if not acct then return nil, err(401, "APIGW.0301", "Incorrect IAM authentication information: " .. why) end
      return acct
    end
    local tok = req.headers["x-auth-token"]
    local t = tok and state.tokens[tok]
    if not t then return nil, err(401, "APIGW.0301", "Incorrect IAM authentication information: no valid token") end
    req.credential = t.account.user
    if app:clock() >= t.expires then
      return nil, err(401, "APIGW.0301", "Incorrect IAM authentication information: the token has expired")
    end
    return t.account
  end

  -- ---- peerings ----

  local life = lifecycle.new(app, "huawei", {
    { from = "deleted_at", "DELETING", "GONE", lasts = { "deleting", 5 } },
    { from = "rejected_at", "REJECTED" },
    { from = "accepted_at", "ACTIVE" },
    { from = "created", "PENDING_ACCEPTANCE", "EXPIRED", lasts = { "acceptance_expiry", 7 * 24 * 3600 } },
  })
  local status_of = life.status

  local function view(p, now, cs)
    local st = status_of(p, now)
    local v = {
      id = p.id, name = p.name, status = st == "DELETING" and "DELETED" or st, description = p.description or "",
      request_vpc_info = { vpc_id = p.request_vpc, tenant_id = p.request_tenant },
      accept_vpc_info = { vpc_id = p.accept_vpc, tenant_id = p.accept_tenant },
      created_at = check.timestamp(p.created_wall), updated_at = check.timestamp(p.updated_wall),
    }
    if cs and p.cluster then
      v.request_vpc_info.vpc_cidr = p.cluster.vpc_cidr
      v.request_vpc_info.subnet_cidr = p.cluster.subnet_cidr
    end
    return v
  end

  local function visible(p, acct, now)
    return (p.request_tenant == acct.tenant_id or p.accept_tenant == acct.tenant_id) and status_of(p, now) ~= "GONE"
  end

  local function new_peering(acct, fields)
    local now = app:clock()
    local p = {
      id = app:uuid(), name = fields.name, description = fields.description, request_vpc = fields.request_vpc,
      request_tenant = acct.tenant_id, accept_vpc = fields.accept_vpc, accept_tenant = fields.accept_tenant,
      cluster = fields.cluster, created = now, created_wall = app:now(), updated_wall = app:now(),
    }
    if p.accept_tenant == p.request_tenant then p.accepted_at = now end
    state.peerings[p.id] = p
    state.order[#state.order + 1] = p
    return p
  end

  local function start_delete(p, now)
    local st = status_of(p, now)
    if st == "DELETING" then return nil, err(409, "VPC.0604", "The VPC peering connection is being deleted.") end
    p.forced, p.deleted_at, p.updated_wall = nil, now, app:now()
    return true
  end

  local r = router.new {
    not_found = function() return err(404, "APIGW.0101", "The API does not exist or has not been published.") end,
    method_not_allowed = function() return err(404, "APIGW.0101", "The API does not exist or has not been published.") end,
  }
  -- every answer carries X-Request-Id, where Huawei's SDK reads the request
  -- id (huaweicloud-sdk-python-v3, huaweicloudsdkcore/exceptions/
  -- exception_handler.py); an error body's request_id is the same id
  local dispatch = r.dispatch
  function r.dispatch(self, req, path)
    local resp = response.normalize(dispatch(self, req, path))
    resp.headers = resp.headers or {}
    resp.headers["X-Request-Id"] = resp.headers["X-Request-Id"] or app:request_id()
    return resp
  end

  local function route(method, path, fn)
    r:add(method, path, function(req, params)
      local acct, aerr = account(req)
      if not acct then return aerr end
      return fn(req, params, acct)
    end)
  end

  local function body_of(req, code)
    local b, why = check.body(req)
    if not b then
      return nil, err(why == "media" and 415 or 400, code,
                      why == "media" and "Content-Type must be application/json" or "The request body is not valid JSON")
    end
    return b
  end

  -- ---- IAM ----

  r:add("POST", "/iam/v3/auth/tokens", function(req)
    local b = check.body(req)
    local id = b and type(b.auth) == "table" and b.auth.identity
    local methods = type(id) == "table" and id.methods
    local user = type(id) == "table" and type(id.password) == "table" and id.password.user
    if type(methods) ~= "table" or methods[1] ~= "password" or type(user) ~= "table" then
      return response.json(400, { error = { code = 400, title = "Bad Request",
                                            message = "The request body must hold auth.identity.password.user" } })
    end
    local domain = type(user.domain) == "table" and user.domain.name
    local scope = type(b.auth.scope) == "table" and b.auth.scope.project or {}
    for _, a in ipairs(fx.accounts or {}) do
      if a.user == user.name and a.password == user.password and a.domain == domain then
        req.credential = a.user
        local scope_domain = type(scope.domain) == "table" and scope.domain.name
        if (scope.id and scope.id ~= a.project_id) or (scope.name and scope.name ~= a.project_name)
          or (scope_domain and scope_domain ~= a.domain) then
          return response.json(401, { error = { code = 401, title = "Unauthorized",
                                                message = "The user has no access to the project." } })
        end
        local ttl = fx.token_ttl or 24 * 3600
        local tok = "MIIsim" .. app:request_id():gsub("-", "") .. app:request_id():gsub("-", "")
        state.tokens[tok] = { account = a, expires = app:clock() + ttl }
        -- the Keystone v3 token body (huaweicloud/golangsdk identity/v3/tokens
        -- testing/fixtures.go, TokenOutput): MODEL ids (domain_id and user_id
        -- from the fixture, else the tenant id and one made from the name), a catalog of
        -- this emulator's three services and an "op_user" role
        local host = "http://" .. (req.headers.host or "127.0.0.1")
        local region = a.project_name and a.project_name:match("^[^_]+") or "eu-de"
        local catalog = {}
        for _, svc in ipairs({ { "iam", "identity" }, { "cs", "cs" }, { "vpc", "vpc" } }) do
          catalog[#catalog + 1] = { id = hex32(svc[1]), name = svc[1], type = svc[2], endpoints = check.list({
            { id = hex32(svc[1] .. "-public"), interface = "public", region = region, region_id = region,
              url = host .. "/huawei/" .. svc[1] } }) }
        end
        local dom = { id = a.domain_id or a.tenant_id, name = a.domain }
        return response.json(201, { token = {
          methods = check.list({ "password" }), expires_at = check.timestamp(app:now() + ttl / app.time_scale),
          issued_at = check.timestamp(app:now()), is_domain = false,
          audit_ids = check.list({ app:request_id():gsub("-", ""):sub(1, 22) }),
          roles = check.list({ { id = hex32("op_user"), name = "op_user" } }),
          catalog = check.list(catalog),
          project = { id = a.project_id, name = a.project_name, domain = dom },
          user = { id = a.user_id or hex32("user:" .. a.user), name = a.user, domain = dom,
                   password_expires_at = json.null },
        } }, { ["X-Subject-Token"] = tok })
      end
    end
    return response.json(401, { error = { code = 401, title = "Unauthorized",
                                          message = "The username or password is wrong." } })
  end)

  -- KeystoneListProjects (huaweicloud-sdk-go-v3 services/iam/v3/model:
  -- {links, projects = [ProjectResult]}, ProjectResult {id, name,
  -- domain_id, parent_id, enabled, is_domain, description, links}): the
  -- projects of the caller's domain, filtered by name. An emulated account
  -- is one project of its domain; a region's own project has the domain as
  -- its parent (the model's note on parent_id).
  route("GET", "/iam/v3/projects", function(req, _, acct)
    local name = (req.query or {}).name
    local host = "http://" .. (req.headers.host or "127.0.0.1") .. "/huawei/iam/v3/projects"
    local out = {}
    for _, a in ipairs(fx.accounts or {}) do
      if a.domain == acct.domain and a.project_id and (name == nil or name == a.project_name) then
        local domain_id = a.domain_id or a.tenant_id
        out[#out + 1] = { id = a.project_id, name = a.project_name, domain_id = domain_id, parent_id = domain_id,
                          enabled = true, is_domain = false, description = "",
                          links = { self = host .. "/" .. a.project_id } }
      end
    end
    return response.json(200, { projects = check.list(out),
                                links = { self = host, previous = json.null, next = json.null } })
  end)

  -- ---- Cloud Stream Service ----

  local CS = "/cs/v1.0/{project_id}/reserved_cluster/{cluster_id}/peering"

  local function cs_cluster(params, acct)
    if params.project_id ~= acct.project_id then
      return nil, err(403, "CS.20010", "The project in the path is not the caller's project.")
    end
    for _, c in ipairs(fx.clusters or {}) do
      if c.id == params.cluster_id and c.project_id == acct.project_id then return c end
    end
    return nil, err(404, "CS.20003", "The cluster " .. params.cluster_id .. " does not exist.")
  end

  route("GET", CS, function(_, params, acct)
    local c, cerr = cs_cluster(params, acct)
    if not c then return cerr end
    local now, out = app:clock(), {}
    for _, p in ipairs(state.order) do
      if p.cluster == c and visible(p, acct, now) then out[#out + 1] = view(p, now, true) end
    end
    return response.json(200, { peerings = check.list(out) })
  end)

  route("POST", CS, function(req, params, acct)
    local c, cerr = cs_cluster(params, acct)
    if not c then return cerr end
    local b, berr = body_of(req, "CS.10001")
    if not b then return berr end
    local problems = {}
    if check.uuid(b.vpc_id) then problems[#problems + 1] = "vpc_id: must be a VPC id" end
    if type(b.name) ~= "string" or #b.name < 1 or #b.name > 64 then
      problems[#problems + 1] = "name: must be 1 to 64 characters"
    end
    if b.accept_tenant_id ~= nil and (type(b.accept_tenant_id) ~= "string" or not b.accept_tenant_id:match("^%x+$")
                                      or #b.accept_tenant_id ~= 32) then
      problems[#problems + 1] = "accept_tenant_id: must be a 32-digit tenant id"
    end
    if #problems > 0 then return err(400, "CS.10001", "Invalid parameters: " .. table.concat(problems, "; ")) end
    local peer = vpc(b.vpc_id)
    if not peer then return err(404, "CS.20004", "The VPC " .. b.vpc_id .. " does not exist.") end
    local tenant = b.accept_tenant_id or acct.tenant_id
    if peer.tenant_id ~= tenant then
      return err(400, "CS.10001", "The VPC " .. b.vpc_id .. " does not belong to tenant " .. tenant
        .. (b.accept_tenant_id and "" or " (give accept_tenant_id for another tenant's VPC)"))
    end
    local p = new_peering(acct, { name = b.name, request_vpc = c.vpc_id, accept_vpc = peer.id, accept_tenant = tenant,
                                  cluster = c })
    return response.json(201, { peering = view(p, app:clock(), true) })
  end)

  -- the cluster's peering params.peering_id | nil, 404
  local function cs_peering(params, c, acct, now)
    local p = state.peerings[params.peering_id]
    if not p or p.cluster ~= c or not visible(p, acct, now) then
      return nil, err(404, "CS.20005", "The peering " .. params.peering_id .. " does not exist.")
    end
    return p
  end

  -- getPeering (the CS SDK's ClusterApi): {peering}
  route("GET", CS .. "/{peering_id}", function(_, params, acct)
    local c, cerr = cs_cluster(params, acct)
    if not c then return cerr end
    local now = app:clock()
    local p, perr = cs_peering(params, c, acct, now)
    if not p then return perr end
    return response.json(200, { peering = view(p, now, true) })
  end)

  route("DELETE", CS .. "/{peering_id}", function(_, params, acct)
    local c, cerr = cs_cluster(params, acct)
    if not c then return cerr end
    local now = app:clock()
    local p, perr = cs_peering(params, c, acct, now)
    if not p then return perr end
    local ok, derr = start_delete(p, now)
    if not ok then return derr end
    return response.raw(204, "")
  end)

  -- ---- VPC ----

  local VPC = "/vpc/v2.0/vpc/peerings"

  local function vpc_peering(params, acct)
    local p = state.peerings[params.peering_id]
    if not p or not visible(p, acct, app:clock()) then
      return nil, err(404, "VPC.0601", "The VPC peering connection " .. params.peering_id .. " does not exist.")
    end
    return p
  end

  -- list filters (query): id, name, status, vpc_id (either side), tenant_id (either side)
  local function matches(v, q)
    local function want(k) return type(q[k]) == "string" and q[k] or nil end
    local vid, tid = want("vpc_id"), want("tenant_id")
    return (not want("id") or v.id == want("id")) and (not want("name") or v.name == want("name"))
      and (not want("status") or v.status == want("status"))
      and (not vid or v.request_vpc_info.vpc_id == vid or v.accept_vpc_info.vpc_id == vid)
      and (not tid or v.request_vpc_info.tenant_id == tid or v.accept_vpc_info.tenant_id == tid)
  end

  -- Paging (Huawei VPC API reference, ListVpcPeerings,
  -- support.huaweicloud.com/api-vpc/vpc_peering_0001.html): limit 0..2000,
  -- default 2000; marker is the id of the record the page starts after;
  -- peerings_links holds {rel = "next", href} only when records remain past
  -- the page. MODEL (the reference does not say): a marker that names no
  -- peering, or a bad limit, is 400 VPC.0101; the href is this emulator's
  -- URL of the next page, limit and marker in its query.
  route("GET", VPC, function(req, _, acct)
    local q = req.query or {}
    local limit = 2000
    if q.limit ~= nil then
      limit = type(q.limit) == "string" and q.limit:match("^%d+$") and tonumber(q.limit)
      if not limit or limit > 2000 then return err(400, "VPC.0101", "limit must be a whole number from 0 to 2000") end
    end
    local now, all = app:clock(), {}
    for _, p in ipairs(state.order) do
      if visible(p, acct, now) then
        local v = view(p, now)
        if matches(v, q) then all[#all + 1] = v end
      end
    end
    local first = 1
    if type(q.marker) == "string" then
      first = nil
      for i, v in ipairs(all) do
        if v.id == q.marker then first = i + 1 end
      end
      if not first then return err(400, "VPC.0101", "marker " .. q.marker .. " names no peering") end
    end
    local page = table.move(all, first, math.min(#all, first + limit - 1), 1, {})
    local body = { peerings = check.list(page) }
    if first + limit - 1 < #all and #page > 0 then
      local host = req.headers and req.headers.host or "127.0.0.1"
      body.peerings_links = { { rel = "next", href = ("http://%s%s?limit=%d&marker=%s"):format(
        host, req.sent_path or req.path, limit, page[#page].id) } }
    end
    return response.json(200, body)
  end)

  route("POST", VPC, function(req, _, acct)
    local b, berr = body_of(req, "VPC.0101")
    if not b then return berr end
    local pb = type(b.peering) == "table" and b.peering or {}
    local rq = type(pb.request_vpc_info) == "table" and pb.request_vpc_info or {}
    local ac = type(pb.accept_vpc_info) == "table" and pb.accept_vpc_info or {}
    if type(pb.name) ~= "string" or #pb.name < 1 or #pb.name > 64 or check.uuid(rq.vpc_id) or check.uuid(ac.vpc_id) then
      return err(400, "VPC.0101", "peering.name, request_vpc_info.vpc_id and accept_vpc_info.vpc_id are required")
    end
    local mine, peer = vpc(rq.vpc_id), vpc(ac.vpc_id)
    if not mine or mine.tenant_id ~= acct.tenant_id then return err(404, "VPC.0601", "The local VPC does not exist.") end
    if not peer or peer.tenant_id ~= (ac.tenant_id or acct.tenant_id) then
      return err(404, "VPC.0601", "The peer VPC does not exist for that tenant.")
    end
    local p = new_peering(acct, { name = pb.name, description = pb.description, request_vpc = mine.id,
                                  accept_vpc = peer.id, accept_tenant = peer.tenant_id })
    return response.json(201, { peering = view(p, app:clock()) })
  end)

  route("GET", VPC .. "/{peering_id}", function(_, params, acct)
    local p, perr = vpc_peering(params, acct)
    if not p then return perr end
    return response.json(200, { peering = view(p, app:clock()) })
  end)

  route("PUT", VPC .. "/{peering_id}", function(req, params, acct)
    local p, perr = vpc_peering(params, acct)
    if not p then return perr end
    local b, berr = body_of(req, "VPC.0101")
    if not b then return berr end
    local pb = type(b.peering) == "table" and b.peering or {}
    if pb.name ~= nil and (type(pb.name) ~= "string" or #pb.name < 1 or #pb.name > 64) then
      return err(400, "VPC.0101", "peering.name must be 1 to 64 characters")
    end
    p.name = pb.name or p.name
    p.description = pb.description or p.description
    p.updated_wall = app:now()
    return response.json(200, { peering = view(p, app:clock()) })
  end)

  -- the peer tenant's answer (a forced status is replaced by it)
  local function answer_peering(p, accept, now)
    p.forced = nil
    if accept then p.accepted_at, p.rejected_at = now, nil else p.accepted_at, p.rejected_at = nil, now end
    p.updated_wall = app:now()
  end

  local function answer(accept)
    return function(_, params, acct)
      local p, perr = vpc_peering(params, acct)
      if not p then return perr end
      if p.accept_tenant ~= acct.tenant_id then
        return err(403, "VPC.0602", "Only the tenant of the accepting VPC can accept or reject the peering.")
      end
      local now = app:clock()
      if status_of(p, now) ~= "PENDING_ACCEPTANCE" then
        return err(409, "VPC.0603", "The peering is " .. status_of(p, now) .. ", not PENDING_ACCEPTANCE.")
      end
      answer_peering(p, accept, now)
      local v = view(p, now)
      v.tenant_id = acct.tenant_id
      return response.json(200, v)
    end
  end
  route("PUT", VPC .. "/{peering_id}/accept", answer(true))
  route("PUT", VPC .. "/{peering_id}/reject", answer(false))

  route("DELETE", VPC .. "/{peering_id}", function(_, params, acct)
    local p, perr = vpc_peering(params, acct)
    if not p then return perr end
    local ok, derr = start_delete(p, app:clock())
    if not ok then return derr end
    return response.raw(204, "")
  end)

  life.register({
    label = "Huawei", store = state, accept_in = { "PENDING_ACCEPTANCE" }, answer = answer_peering,
    states = STATE_LIST, on_force = function(p) p.updated_wall = app:now() end,
    view = function(p, status) return { id = p.id, name = p.name, accept_vpc = p.accept_vpc, status = status } end,
  }, {
    error = function(_, status, code, message)
      if status == 429 and not code then
        -- API Gateway's own throttling answer (providers.md 2.6)
        message = "The throttling threshold has been reached: policy user over ratelimit,limit:"
          .. tostring(fx.rate_limit or 0) .. ",time:1 second"
      end
      return fail(status, code or CODES[status] or "APIGW.0103", message or "Error", app)
    end,
  })
  return r
end

return M
