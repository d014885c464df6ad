-- peerlua.sim.upcloud: the emulated upcloud API (skeleton; routes come next).
local router = require("peerlua.sim.router")

local M = {}

function M.new(app)
  local r = router.new()
  app:register("upcloud", {})
  return r
end

return M
