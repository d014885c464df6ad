-- peerlua.sim.huawei: the emulated huawei API (skeleton; routes come next).
local router = require("peerlua.sim.router")

local M = {}

function M.new(app)
  local r = router.new()
  app:register("huawei", {})
  return r
end

return M
