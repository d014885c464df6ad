-- peerlua.sim.upcloud: the emulated UpCloud API 1.3, mounted at
-- /upcloud/1.3 (shared/seeds 003, shared/providers.md 4).
--
-- Auth: Bearer token or HTTP Basic (user name and password) of a fixture
-- account; otherwise 401 AUTHENTICATION_FAILED. Errors are the legacy
-- {"error": {"error_code", "error_message"}}.
--
--   GET    /network[/][?zone=z], /network/{uuid}   the caller's private networks
--   GET    /network-peering[?label=k=v&label=k]   200 {network_peerings = {network_peering = [...]}}
--   POST   /network-peering               201 {network_peering = {...}}
--   GET    /network-peering/{uuid}        200
--   PATCH  /network-peering/{uuid}        202 (name, configured_status, labels)
--   DELETE /network-peering/{uuid}        204; 409 PEERING_NOT_DISABLED unless disabled
--   Create errors: 404 NETWORK_NOT_FOUND (the local network is not the
--   caller's), 404 PEER_NETWORK_NOT_FOUND, 409 LOCAL_NETWORK_NO_ROUTER,
--   409 PEERING_CONFLICT (these two networks are peered already), 400 for
--   a malformed body (the first problem found).
--
-- state, computed when read: disabled (configured_status disabled, after
-- durations.disabling); pending-peer until the peer network's owner has
-- created the reverse peering; peer-disabled when that one is disabled;
-- missing-peer-router when the peer network has no router;
-- conflict-subnet when the two networks overlap; then provisioning for
-- durations.provisioning and active. Acceptance is the reverse peering, so
-- /_sim/peer-accept is not supported; /_sim/state forces a state.
-- Fixture: upcloud.accounts {username, password, token}, networks {uuid,
-- name, owner, zone, router, ip_networks}, durations, rate_limit.
local router = require("peerlua.sim.router")
local response = require("peerlua.sim.response")
local check = require("peerlua.sim.check")

local M = {}

local function fail(status, code, message)
  return response.json(status, { error = { error_code = code, error_message = message } })
end

local STATUS_CODES = {
  [400] = "BAD_REQUEST", [401] = "AUTHENTICATION_FAILED", [404] = "NOT_FOUND", [429] = "TOO_MANY_REQUESTS",
  [500] = "INTERNAL_ERROR", [503] = "SERVICE_UNAVAILABLE", [504] = "GATEWAY_TIMEOUT",
}

function M.new(app)
  local fx = app.fixture.upcloud or {}
  local state = { peerings = {}, order = {} }
  app:register_state("upcloud", state) -- saved by --state
  app:on_reset(function() state.peerings, state.order = {}, {} end)

  local function duration(name, default) return app:duration("upcloud", name, default) end

  local function account(req)
    local auth = req.headers.authorization or ""
    local token = auth:match("^[Bb]earer%s+(%S+)%s*$")
    local user, password = check.basic(req)
    for _, a in ipairs(fx.accounts or {}) do
      if (token and a.token == token) or (user and a.username == user and a.password == password) then
        req.credential = a.username
        return a
      end
    end
  end

  local function network(uuid) return check.find(fx.networks, "uuid", uuid) end

  local function network_view(n, full)
    local v = { uuid = n.uuid }
    if full then
      v.name, v.zone, v.type, v.router = n.name, n.zone, "private", n.router or ""
    end
    local nets = {}
    for i, x in ipairs(n.ip_networks or {}) do nets[i] = { address = x.address, family = x.family } end
    v.ip_networks = { ip_network = check.list(nets) }
    return v
  end

  local function ipv4_overlap(a, b)
    for _, x in ipairs(a.ip_networks or {}) do
      for _, y in ipairs(b.ip_networks or {}) do
        if x.family == "IPv4" and y.family == "IPv4" and check.overlaps(x.address, y.address) then return true end
      end
    end
    return false
  end

  local function reverse_of(p)
    for _, q in ipairs(state.order) do
      if q ~= p and q.network == p.peer_network and q.peer_network == p.network and not q.deleted then return q end
    end
  end

  local function state_of(p, now)
    if p.forced then return p.forced end
    if p.configured_status == "disabled" then
      return now >= p.disabled_at + duration("disabling", 5) and "disabled" or "provisioning"
    end
    local peer = network(p.peer_network)
    if not peer then return "deleted-peer-network" end
    local q = reverse_of(p)
    if not q then return "pending-peer" end
    if q.configured_status == "disabled" then return "peer-disabled" end
    if not peer.router then return "missing-peer-router" end
    if ipv4_overlap(network(p.network), peer) then return "conflict-subnet" end
    local since = math.max(p.enabled_at, q.enabled_at)
    return now >= since + duration("provisioning", 20) and "active" or "provisioning"
  end

  local function view(p, now)
    local labels = {}
    for i, l in ipairs(p.labels) do labels[i] = { key = l.key, value = l.value } end
    return {
      uuid = p.uuid, name = p.name, configured_status = p.configured_status, state = state_of(p, now),
      network = network_view(network(p.network)), peer_network = network_view(network(p.peer_network) or
        { uuid = p.peer_network }), labels = check.list(labels),
    }
  end

  -- check labels: a list of {key, value} strings; nil when fine
  local function bad_labels(labels)
    if labels == nil then return nil end
    if type(labels) ~= "table" then return "labels must be a list of {key, value}" end
    for _, l in ipairs(labels) do
      if type(l) ~= "table" or type(l.key) ~= "string" or l.key == "" or #l.key > 32
         or (l.value ~= nil and type(l.value) ~= "string") then
        return "each label needs a key of 1 to 32 characters and a string value"
      end
    end
  end

  local function read_body(req)
    local body, why = check.body(req)
    if not body then
      if why == "media" then return nil, fail(415, "CONTENT_TYPE_INVALID", "The Content-Type must be application/json.") end
      return nil, fail(400, "REQUEST_INVALID", "The request body is not valid JSON.")
    end
    if type(body.network_peering) ~= "table" then
      return nil, fail(400, "NETWORK_PEERING_MISSING", "The request body must hold a network_peering object.")
    end
    return body.network_peering
  end

  local function bad_status(s)
    return s ~= nil and s ~= "active" and s ~= "disabled"
  end

  local r = router.new {
    not_found = function() return fail(404, "NOT_FOUND", "The requested resource was not found.") end,
    method_not_allowed = function() return fail(405, "METHOD_NOT_ALLOWED", "The method is not allowed here.") end,
  }

  local function route(method, path, fn)
    r:add(method, path, function(req, params)
      local acct = account(req)
      if not acct then
        return fail(401, "AUTHENTICATION_FAILED", "Authentication failed using the given username and password.")
      end
      return fn(req, params, acct)
    end)
  end

  local function owned_peering(acct, uuid)
    local p = state.peerings[uuid]
    if not p or p.deleted or p.owner ~= acct.username then
      return nil, fail(404, "PEERING_NOT_FOUND", "The network peering " .. uuid .. " does not exist.")
    end
    return p
  end

  -- The SDKs list a zone's networks as GET /network/?zone=ZONE, with the
  -- trailing slash (upcloud-go-api GetNetworksInZoneRequest.RequestURL and
  -- its TestMarshalGetNetworksInZoneRequest; upcloud-python-api
  -- get_networks), and all of them as /network or /network/.
  local function list_networks(req, _, acct)
    local zone = req.query.zone
    if type(zone) == "table" then zone = zone[#zone] end
    local out = {}
    for _, n in ipairs(fx.networks or {}) do
      if n.owner == acct.username and (zone == nil or zone == "" or n.zone == zone) then
        out[#out + 1] = network_view(n, true)
      end
    end
    return response.json(200, { networks = { network = check.list(out) } })
  end
  route("GET", "/network", list_networks)
  route("GET", "/network/", list_networks)

  route("GET", "/network/{uuid}", function(_, params, acct)
    local n = network(params.uuid)
    if not n or n.owner ~= acct.username then
      return fail(404, "NETWORK_NOT_FOUND", "The network " .. params.uuid .. " does not exist.")
    end
    return response.json(200, { network = network_view(n, true) })
  end)

  -- a new peering of owner's, from network net_uuid to peer_uuid
  local function add_peering(owner, name, net_uuid, peer_uuid, configured_status, labels)
    local now = app:clock()
    local p = { uuid = "0f" .. app:uuid():sub(3), owner = owner, name = name, network = net_uuid,
                peer_network = peer_uuid, configured_status = configured_status, labels = labels,
                enabled_at = now, disabled_at = now }
    state.peerings[p.uuid] = p
    state.order[#state.order + 1] = p
    return p
  end

  -- "String with length 1 to 255" (seed 003): characters, not bytes
  local function good_name(name)
    local n = type(name) == "string" and utf8.len(name)
    return n and n >= 1 and n <= 255
  end

  route("POST", "/network-peering", function(req, _, acct)
    local b, err = read_body(req)
    if not b then return err end
    local net_uuid = type(b.network) == "table" and b.network.uuid
    local peer_uuid = type(b.peer_network) == "table" and b.peer_network.uuid
    if not good_name(b.name) then
      return fail(400, "NAME_INVALID", "The name must be a string of 1 to 255 characters.")
    elseif check.uuid(net_uuid) then
      return fail(400, "NETWORK_INVALID", "network.uuid must be a valid network UUID.")
    elseif check.uuid(peer_uuid) then
      return fail(400, "PEER_NETWORK_INVALID", "peer_network.uuid must be a valid network UUID.")
    elseif bad_status(b.configured_status) then
      return fail(400, "CONFIGURED_STATUS_INVALID", "configured_status must be active or disabled.")
    end
    local lbad = bad_labels(b.labels)
    if lbad then return fail(400, "LABELS_INVALID", lbad) end
    local local_net = network(net_uuid)
    if not local_net or local_net.owner ~= acct.username then
      return fail(404, "NETWORK_NOT_FOUND", "The local network was not found.")
    end
    if not network(peer_uuid) then return fail(404, "PEER_NETWORK_NOT_FOUND", "Peer network was not found.") end
    if not local_net.router then return fail(409, "LOCAL_NETWORK_NO_ROUTER", "The local network has no router.") end
    for _, q in ipairs(state.order) do
      if not q.deleted and q.network == net_uuid and q.peer_network == peer_uuid then
        return fail(409, "PEERING_CONFLICT", "The peering between these accounts already exists.")
      end
    end
    local labels = {}
    for i, l in ipairs(b.labels or {}) do labels[i] = { key = l.key, value = l.value or "" } end
    local p = add_peering(acct.username, b.name, net_uuid, peer_uuid, b.configured_status or "active", labels)
    return response.json(201, { network_peering = view(p, p.enabled_at) })
  end)

  -- label filters: "key=value" or "key"; every one must match
  local function matches(p, filters)
    for _, f in ipairs(filters) do
      local key, value = f:match("^([^=]*)=(.*)$")
      key = key or f
      local hit = false
      for _, l in ipairs(p.labels) do
        if l.key == key and (value == nil or l.value == value) then hit = true end
      end
      if not hit then return false end
    end
    return true
  end

  route("GET", "/network-peering", function(req, _, acct)
    local filters = req.query.label or {}
    if type(filters) == "string" then filters = { filters } end
    local now, out = app:clock(), {}
    for _, p in ipairs(state.order) do
      if not p.deleted and p.owner == acct.username and matches(p, filters) then out[#out + 1] = view(p, now) end
    end
    return response.json(200, { network_peerings = { network_peering = check.list(out) } })
  end)

  route("GET", "/network-peering/{uuid}", function(_, params, acct)
    local p, err = owned_peering(acct, params.uuid)
    if not p then return err end
    return response.json(200, { network_peering = view(p, app:clock()) })
  end)

  route("PATCH", "/network-peering/{uuid}", function(req, params, acct)
    local p, err = owned_peering(acct, params.uuid)
    if not p then return err end
    local b, berr = read_body(req)
    if not b then return berr end
    if b.name ~= nil and not good_name(b.name) then
      return fail(400, "NAME_INVALID", "The name must be a string of 1 to 255 characters.")
    end
    if bad_status(b.configured_status) then
      return fail(400, "CONFIGURED_STATUS_INVALID", "configured_status must be active or disabled.")
    end
    local lbad = bad_labels(b.labels)
    if lbad then return fail(400, "LABELS_INVALID", lbad) end
    local now = app:clock()
    if b.name then p.name = b.name end
    if b.labels then
      p.labels = {}
      for i, l in ipairs(b.labels) do p.labels[i] = { key = l.key, value = l.value or "" } end
    end
    if b.configured_status and b.configured_status ~= p.configured_status then
      p.configured_status = b.configured_status
      p.forced = nil
      if b.configured_status == "disabled" then p.disabled_at = now else p.enabled_at = now end
    end
    return response.json(202, { network_peering = view(p, now) })
  end)

  route("DELETE", "/network-peering/{uuid}", function(_, params, acct)
    local p, err = owned_peering(acct, params.uuid)
    if not p then return err end
    if state_of(p, app:clock()) ~= "disabled" then
      return fail(409, "PEERING_NOT_DISABLED", "The network peering must be disabled before it is deleted.")
    end
    p.deleted = true
    return response.raw(204, "")
  end)

  app:register("upcloud", {
    accept = function()
      return nil, "UpCloud peerings are accepted by creating the reverse peering from the peer network's account"
    end,
    set_state = function(uuid, word)
      local p = state.peerings[uuid]
      if not p then return nil, "no UpCloud peering " .. tostring(uuid) end
      p.forced = word
      return true
    end,
    error = function(_, status, code, message)
      return fail(status, code or STATUS_CODES[status] or "ERROR", message or "Error")
    end,
    -- for other providers' emulators (Aiven peers from its own account)
    network = network,
    account_of = function(username) return check.find(fx.accounts, "username", username) end,
    create_peering = function(owner, name, net_uuid, peer_uuid)
      return add_peering(owner, name, net_uuid, peer_uuid, "active", {}).uuid
    end,
    peering_state = function(uuid)
      local p = state.peerings[uuid]
      if not p or p.deleted then return nil end
      return state_of(p, app:clock())
    end,
    remove_peering = function(uuid)
      local p = state.peerings[uuid]
      if p then p.deleted = true end
    end,
    peerings = function()
      local out, now = {}, app:clock()
      for _, p in ipairs(state.order) do
        out[#out + 1] = { id = p.uuid, owner = p.owner, network = p.network, peer_network = p.peer_network,
                          deleted = p.deleted or false, status = state_of(p, now) }
      end
      return out
    end,
  })
  return r
end

return M
