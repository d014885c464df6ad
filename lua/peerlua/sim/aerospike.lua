-- peerlua.sim.aerospike: the emulated aerospike API (skeleton; routes come next).
local router = require("peerlua.sim.router")

local M = {}

function M.new(app)
  local r = router.new()
  app:register("aerospike", {})
  return r
end

return M
