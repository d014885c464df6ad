-- Misuse of the API itself raises a message that says how to call it.
local peerlua = require("peerlua")

describe("calling a client operation with a dot", function()
  it("says to use a colon, at the caller's line", function()
    local ic = assert(peerlua.instaclustr({ username = "u", api_key = "k", base_url = "http://127.0.0.1:9" }))
    local ok, msg = pcall(function()
      local r = ic.list_peerings({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364" })
      return r
    end)
    assert.is_false(ok)
    assert.matches("misuse_spec%.lua:%d+: list_peerings: call it as a method, client:list_peerings{...}", msg)
  end)
end)
