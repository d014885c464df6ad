-- peerlua.providers.aiven: Aiven project VPC peering connections
-- (shared/providers.md 5). Auth: "Authorization: aivenv1 <token>".
--
-- A project VPC's peering has no id of its own: it is named by the peer's
-- cloud account and VPC, so a peering value's id is "account/vpc". There is
-- no single read either: a peering is read by reading its project VPC
-- (list_peerings) and matching, as the avn CLI does.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local common = core.require("peerlua.providers.common")

local M = {
  name = "aiven",
  options = { token = "string", project = "string" },
}

-- Under the emulator: its first account, and that account's first project
-- as the client's project.
local function sim_account(client)
  local a = common.sim_account(client, "aiven")
  if not a then return nil end
  return { token = a.token, project = type(a.projects) == "table" and a.projects[1] or nil }
end

function M.credentials(client, opts)
  -- its aivenv1 header is made in C (pl_provider.c, aiven_auth)
  return common.credentials(client, opts, { sim_account = sim_account(client), what = "Aiven token" })
end


-- Every call is in a project: the client's unless the arguments name one.
function M.defaults(client, _, args)
  if args.project ~= nil or not client.creds.project then return args end
  local copy = { project = client.creds.project }
  for k, v in pairs(args) do copy[k] = v end
  return copy
end

-- Rules of VpcPeeringConnectionCreateIn for UpCloud (aiven/go-client-codegen
-- handler/vpc/vpc.go, VpcPeeringConnectionType upcloud-vpc-peering):
-- peer_cloud_account is the word "upcloud", peer_vpc the network's UUID,
-- and there is no peer_region. A UUID as the account with a UUID as the
-- VPC is the UpCloud account given instead of "upcloud" (no other peer
-- cloud this client can name has both: Azure, whose subscription is a UUID,
-- needs peer_resource_group and the app and tenant ids).
local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
function M.check(_, opname, args)
  if opname ~= "create_peering" then return nil end
  local account, vpc = args.peer_cloud_account, args.peer_vpc
  if type(account) ~= "string" or type(vpc) ~= "string" then return nil end
  local problems = {}
  if account == "upcloud" then
    if not vpc:match(UUID) then
      problems[#problems + 1] = { field = "peer_vpc", rule = "an UpCloud peering names the network's UUID" }
    end
    if args.peer_region ~= nil then
      problems[#problems + 1] = { field = "peer_region", rule = "an UpCloud peering takes none (leave it out)" }
    end
  elseif account:match(UUID) and vpc:match(UUID) then
    problems[#problems + 1] = { field = "peer_cloud_account", rule = "to peer with an UpCloud network, "
      .. "write \"upcloud\" (not the UpCloud account's UUID) and the network's UUID as peer_vpc" }
  end
  return problems
end

function M.id_of(obj)
  if type(obj.peer_cloud_account) ~= "string" or type(obj.peer_vpc) ~= "string" then return nil end
  return obj.peer_cloud_account .. "/" .. obj.peer_vpc
end

-- The arguments of an operation on peering p: its project VPC, and the
-- peer's account and VPC its id is made of.
function M.id_args(_, _, p)
  local account, vpc = tostring(p.id):match("^([^/]+)/(.+)$")
  local scope = p.scope or {}
  return { project = scope.project, project_vpc_id = scope.project_vpc_id, peer_cloud_account = account,
           peer_vpc = vpc }
end

-- A create 409 says "already exists" when the same peer is peered already.
-- ensure_peering finds the peering by the table's find (that peer, not
-- deleted or being deleted: core/engine/pl_provider.c, aiven_find).

return M
