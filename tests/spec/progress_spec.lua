-- Progress lines keep their columns, whatever the length of a peering's id.
local peerlua = require("peerlua")

describe("progress lines", function()
  local progress = peerlua.progress
  local written, saved_out

  before_each(function()
    progress.reset()
    written = {}
    saved_out = progress.out
    progress.out = { write = function(self, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end
                                                  return self end,
                     flush = function() end }
    progress.mode = "log"
  end)
  after_each(function()
    progress.out = saved_out
    progress.reset()
  end)

  local function line_for(id)
    written = {}
    local p = { provider = "aiven", id = id, state = "pending_acceptance" }
    progress.event(p, 1.5, {})
    progress.finish(p)
    return table.concat(written)
  end

  it("on a terminal shows no more lines than it has rows: the waiting ones, and a count of the rest", function()
    progress.mode = "tty"
    local saved_rows = progress.rows
    progress.rows = function() return 6 end
    for i = 1, 10 do
      if i == 10 then written = {} end
      progress.event({ provider = "upcloud", id = "peering-" .. i, state = "pending" }, 0.1, {})
    end
    progress.rows = saved_rows
    local text = table.concat(written)
    local _, newlines = text:gsub("\n", "")
    assert.equal(5, newlines) -- 4 waiting lines and the count: the screen's 6 rows, the cursor's one left
    assert.matches("peering%-1 ", text)
    assert.is_nil(text:find("peering-5 ", 1, true))
    assert.matches("... and 6 more: 6 waiting, 0 done", text, 1, true)
  end)

  it("says a wait ran out of time, in a line and as a JSON event, though the script ignores the error", function()
    local server = require("testserver").attach(peerlua, "--time-scale 600")
    local ok, err = pcall(function()
      local ic = assert(peerlua.instaclustr({ api = "v1" }))
      local p = assert(ic:create_peering({ cluster_data_centre_id = "aabc665c-8916-40ae-978c-96d39a3a1364",
        peer_account_id = "123456789012", peer_vpc_id = "vpc-0a1b2c3d", peer_subnets = { "10.1.0.0/16" },
        peer_region = "US_WEST_2" })) -- pending acceptance until the AWS side accepts: never, here
      p:wait("active", { timeout = 0.3 })
      local log = table.concat(written)
      assert.matches("pending_acceptance +0%.%ds  timed out waiting for active\n$", log)
      progress.reset()
      progress.mode, written = "json", {}
      local saved = progress.json_out
      progress.json_out = function() return progress.out end
      p:wait("active", { timeout = 0.3 })
      progress.json_out = saved
      local events = table.concat(written)
      assert.matches('{"event":"timeout",.*"state":"pending_acceptance",.*"waiting_for":"active"}', events)
    end)
    server:stop()
    assert(ok, err)
  end)

  it("cuts a long id in the middle and keeps the state and time where they were", function()
    local short = line_for("8a1f3c2e")
    local long = line_for("upcloud/0374d7a4-4d1f-4a3c-9e2b-6f5a8c7d9e01-and-more-words-to-make-it-long")
    assert.equal(#short, #long)
    assert.equal(short:find("pending_acceptance", 1, true), long:find("pending_acceptance", 1, true))
    assert.matches("upcloud/0374d7a4%-4%.%.%.rds%-to", long)
    assert.matches("make%-it%-long ", long)
  end)
end)
