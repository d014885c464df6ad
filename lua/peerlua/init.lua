-- peerlua: the Lua layer on top of the C core (core/lua_*.c).
-- The C side passes its table of primitives; this file completes the module.
local core = ...
local M = core
return M
