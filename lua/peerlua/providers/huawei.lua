-- peerlua.providers.huawei: Huawei Cloud Stream Service (CS) peerings, and
-- the VPC service for the accepting side. Auth is AK/SK request signing
-- (SDK-HMAC-SHA256) when ak and sk are given, else an IAM user token
-- (password auth, cached until shortly before it expires).
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local base = core.require("peerlua.client")
local common = core.require("peerlua.providers.common")
require("peerlua.json") -- loaded first: it sets core.json
local json = core.json -- as loaded (lua/peerlua/json.lua), not fields a script may replace

local M = {
  name = "huawei",
  services = { "cs", "vpc", "iam" }, -- what client:settings().endpoints lists
  options = {
    ak = "string", sk = "string", security_token = "string", user = "string", password = "string",
    domain = "string", project_id = "string", project_name = "string", region = "string", endpoints = "table",
  },
}

-- an AK/SK or a user, password and domain; and a project
local function completer(client)
  local no_key = common.hint(client, "Huawei credentials", { { "ak", "sk" }, { "user", "password", "domain" } })
  local no_project = common.hint(client, "Huawei project", { { "project_id" }, { "project_name" } })
  return function(c)
    if not ((c.ak and c.sk) or (c.user and c.password and c.domain)) then return nil, no_key end
    if not (c.project_id or c.project_name) then return nil, no_project end
    return true
  end
end

function M.credentials(client, opts)
  if (opts.ak or opts.sk) and (opts.user or opts.password) then -- which one would sign is not for us to pick
    return nil, "give either ak and sk (request signing) or user, password and domain (an IAM token), not both"
  end
  local creds, err = common.credentials(client, opts, { complete = completer(client) })
  if not creds then return nil, err end
  -- an access key is named by its fingerprint (the throttle key shows in
  -- traces and Redis); an IAM user by name, as Instaclustr's
  client.credential_id = creds.ak and "key:" .. core.fingerprint(creds.ak) or creds.user
  if creds.ak and creds.sk then -- held in C from here (core.signing_key); creds keep nothing of it
    client.key = core.signing_key(creds.ak, creds.sk, creds.security_token)
    creds.ak, creds.sk, creds.security_token = nil, nil, nil
  elseif creds.user and creds.password and creds.domain then
    -- the IAM token request (its body holds the password) is made once and
    -- sealed in C (core.seal). A project name is scoped within its domain,
    -- as Huawei's SDK sends it (huaweicloud/golangsdk identity/v3/tokens,
    -- TestCreateProjectNameAndDomainNameScope).
    local scope = creds.project_id and { project = { id = creds.project_id } }
      or { project = { name = creds.project_name, domain = { name = creds.domain } } }
    client.token_body = core.seal(assert(json.encode_sorted({ auth = {
      identity = { methods = { "password" }, password = { user = {
        name = creds.user, password = creds.password, domain = { name = creds.domain } } } },
      scope = scope } })))
  end
  creds.password = nil
  -- the region goes into host names: refused unless it is one DNS label,
  -- wherever it came from (option, HW_REGION_NAME, profile)
  -- MODEL (no source checked here): a project name is its region id, a
  -- sub-project's is region_name, so the part before "_" is taken
  local region = creds.region or (creds.project_name and creds.project_name:match("^[^_]+")) or "eu-de"
  local rule = core.check("hw_region", region)
  if rule then return base.invalid_option("huawei", "region", rule) end
  client.region = region
  client.endpoints = {}
  for k, v in pairs(opts.endpoints or {}) do
    if k ~= "cs" and k ~= "vpc" and k ~= "iam" then
      return base.invalid_option("huawei", "endpoints." .. tostring(k), "is not a service (cs, vpc or iam)")
    end
    rule = type(v) ~= "string" and "must be a URL string" or base.url_rule(v)
    if rule then return base.invalid_option("huawei", "endpoints." .. k, rule) end
    client.endpoints[k] = v
  end
  -- what tostring(client) and settings() show: the CS endpoint given
  if client.endpoints.cs and not client.own_base_url and not client.sim then
    client.base_url = M.service_url(client, "cs")
  end
  return creds
end

-- Base URL of a service ("cs", "vpc", "iam").
function M.service_url(client, service)
  local given = client.endpoints[service]
  if given then return (given:gsub("/+$", "")) end
  if client.own_base_url or client.sim then return client.base_url .. "/" .. service end
  if service == "iam" then return "https://iam.myhuaweicloud.com" end
  return "https://" .. service .. "." .. client.region .. ".myhuaweicloud.com"
end

local token -- (client) -> the IAM token, below

-- The id of the project named creds.project_name, found once. A token
-- scoped by that name says its project's id (token.project.id, the
-- Keystone v3 token body); a signing key asks IAM for the projects of that
-- name (list_projects), as Huawei's SDK does when it is given no project id
-- (huaweicloud-sdk-go-v3 core/auth/internal/iam_service.go: one project is
-- the answer, none or several are errors).
local function find_project(client, opname)
  local c = client.creds
  if not client.key then
    local t, err = token(client)
    if not t then return nil, err end
    if c.project_id then return c.project_id end
    return nil, base.error({ code = "provider", provider = "huawei", op = "token", retryable = false,
                             message = "the IAM token for project " .. c.project_name .. " names no project id" })
  end
  local body, err = client:call("list_projects", { name = c.project_name })
  if not body then return nil, err end
  local list = type(body) == "table" and body.projects
  if type(list) ~= "table" then
    return nil, base.error({ code = "provider", provider = "huawei", op = "list_projects", retryable = false,
                             message = "unexpected response shape: no projects list" })
  end
  if #list == 1 and type(list[1].id) == "string" then
    c.project_id = list[1].id
    return c.project_id
  end
  local why = #list == 0 and "no project of this name is visible to these credentials (the key needs IAM read "
    .. "permission to look it up)" or #list .. " projects have this name"
  -- named by the call it was looked up for (the script called that, not list_projects)
  return nil, base.error({ code = "invalid", provider = "huawei", op = opname, retryable = false,
                           details = { { field = "project_name", rule = why } },
                           message = "project_name " .. c.project_name .. " (looked up with IAM's list_projects): "
                             .. why .. "; pass project_id instead" })
end

-- The project_id every CS call needs defaults to the client's; given only
-- a project_name, it is looked up (once) after the other arguments pass,
-- so that a call refused for them sends nothing.
local PROBE = ("0"):rep(32)
M.default_params = { project_id = true } -- what a peering value's delete leaves to M.defaults
function M.defaults(client, opname, args)
  local op, c = client.ops[opname], client.creds
  if args.project_id ~= nil or not (op and op.params.project_id) or not (c.project_id or c.project_name) then
    return args
  end
  local copy = { project_id = c.project_id or PROBE }
  for k, v in pairs(args) do copy[k] = v end
  if c.project_id or not core.prepare(client.name, client.api, opname, copy) then return copy end
  local id, err = common.shared(client, "finding_project", find_project, client, opname)
  if not id then return nil, err end
  copy.project_id = id
  return copy
end

-- An accept or reject answered 409: if the peering is already in the
-- state asked for, an earlier attempt (ours, or one the transport re-sent
-- after a dropped connection) landed, and that is success. The rule is the
-- table's (pl_provider.c, huawei_settled).
M.settled = common.settled

local function fetch_token(client)
  local c = client.creds
  local resp, err = client:post_sealed(M.service_url(client, "iam") .. "/v3/auth/tokens", client.token_body)
  if not resp then return nil, err end
  -- read, and held, in C (core.take_token: pl_provider.c, huawei_token)
  local ok, terr = core.take_token(client.engine, "huawei", "", resp)
  if not ok then return nil, terr end
  -- a token scoped by project name says the project's id (find_project)
  local b = common.body(resp)
  local project = type(b) == "table" and type(b.token) == "table" and b.token.project
  if not c.project_id and type(project) == "table" and type(project.id) == "string" then c.project_id = project.id end
  return true
end

-- token(client) -> true (the engine holds an IAM token that has not
-- expired) | nil, err
function token(client) return common.token(client, fetch_token) end

function M.authorize(client, req)
  if client.key then -- signed in C as it is sent (http.send sign =), its security token with it
    req.sign = { scheme = "huawei", key = client.key }
    return true
  end
  return token(client)
end

-- A 401 drops an IAM token held, and one more attempt fetches a fresh
-- one: the operation loop's (core/binding/lua_operate.c), by the table's
-- pl_token; a signed request has none to drop.

-- The VPC peering list comes in pages (core/engine/pl_provider.c,
-- huawei_pages): a list without a marker is every page, one given a
-- marker that page only.

-- ensure_peering finds the peering (one to the same VPC with the same
-- name, not deleted) by the table's find (core/engine/pl_provider.c,
-- huawei_find).

return M
