-- peerlua.sim.response: building emulator responses.
-- A response is a table {status =, headers =, body =, delay =, action =}:
--   status   HTTP status (100..599 where 1xx is refused by the server)
--   headers  name -> string, or a list of strings for a repeated header
--   body     string (default "")
--   delay    seconds to wait before sending, without blocking other requests
--   action   nil, "reset" (close the connection with a TCP reset, no
--            response) or "truncate" (send the headers and only the first
--            `truncate` bytes of the body, default half, then close)
local json = require("peerlua.json")

local M = {}

local JSON_TYPE = "application/json"

-- json(status, value[, headers]) -> response with value encoded as JSON.
function M.json(status, value, headers)
  local h = { ["Content-Type"] = JSON_TYPE }
  if headers then
    for k, v in pairs(headers) do h[k] = v end
  end
  local body = assert(json.encode(value))
  return { status = status, headers = h, body = body }
end

-- raw(status, body[, content_type[, headers]]) -> response.
function M.raw(status, body, content_type, headers)
  local h = {}
  if headers then
    for k, v in pairs(headers) do h[k] = v end
  end
  if content_type then h["Content-Type"] = content_type end
  return { status = status, headers = h, body = body or "" }
end

-- error(status, message) -> {"error": message} with that status.
function M.error(status, message)
  return M.json(status, { error = message })
end

-- normalize(a, b, c, d) -> response table: accepts a response table or the
-- positional form status, headers, body, delay.
function M.normalize(a, b, c, d)
  if type(a) == "table" then return a end
  if math.type(a) == "integer" then
    return { status = a, headers = b, body = c, delay = d }
  end
  error("handler returned " .. type(a) .. " instead of a response", 2)
end

return M
