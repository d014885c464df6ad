-- For tests only: peerlua's C primitives (what its own modules get as their
-- third chunk argument) and the seam for a fake transport. Nothing in Lua
-- reaches these but the debug library, which reaches everything.
require("peerlua")
local core = assert(debug.getregistry()["peerlua.core"], "peerlua has not kept its primitives")

local M = { core = core }

-- transport(fn | nil): every request a client makes goes to fn(opts), which
-- answers as peerlua.http.request does; nil puts the real one back.
function M.transport(fn) core.transport = fn end

-- state(client) -> the table behind a client's handle (core/binding/lua_client.c).
function M.state(client) return core.client_state(client) end

return M
