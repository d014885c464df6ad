-- peerlua.sim.instaclustr: the emulated instaclustr API (skeleton; routes come next).
local router = require("peerlua.sim.router")

local M = {}

function M.new(app)
  local r = router.new()
  app:register("instaclustr", {})
  return r
end

return M
