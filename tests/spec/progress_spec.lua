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

  it("cuts a long id in the middle and keeps the state and time where they were", function()
    local short = line_for("8a1f3c2e")
    local long = line_for("upcloud/0374d7a4-4d1f-4a3c-9e2b-6f5a8c7d9e01-and-more-words-to-make-it-long")
    assert.equal(#short, #long)
    assert.equal(short:find("pending_acceptance", 1, true), long:find("pending_acceptance", 1, true))
    assert.matches("upcloud/0374d7a4%-4%.%.%.rds%-to", long)
    assert.matches("make%-it%-long ", long)
  end)
end)
