-- peerlua.sim.lifecycle: an emulated peering's lifecycle, declared as
-- rules, and the /_sim/ hooks (accept, set_state, peerings) made from it.
--
--   local life = lifecycle.new(app, provider, rules)
--   life.status(p, now)       -> the provider's word for p at emulated time now
--   life.deadline(p, name)    -> when the rule lasting durations[name] ends for p
--   life.register(opts, more) app:register(provider, hooks): accept, set_state
--                             and peerings made from opts, and the hooks in more
--
-- A forced state (POST /_sim/state) wins. Otherwise the rules are read in
-- order, and a rule is skipped while p lacks the time it starts from (a
-- field of p: created, accepted_at, deleted_at ...):
--   { from = field, a }                          a from then on
--   { from = field, a, b, lasts = { name, s } }  a for fixture[provider].durations[name]
--                                                (default s seconds), then b
--   { from = field, a, lasts = { name, s } }     a for that long, then the next rules
--
-- opts: label (the provider's name in messages), store (its
-- {peerings = id -> p, order = list}), accept_in (the states an accept or
-- a reject may come in; the first names them in the refusal), answer(p,
-- accept, now) (default: sets accepted_at or rejected_at), states (what
-- set_state may force, default anything), on_force(p), view(p, status)
-- (one item of the peerings list tests read).
local M = {}

function M.new(app, provider, rules)
  local life = {}

  local function lasts(r) return app:duration(provider, r.lasts[1], r.lasts[2]) end

  function life.status(p, now)
    if p.forced then return p.forced end
    for i = 1, #rules do
      local r = rules[i]
      local t = p[r.from]
      if t ~= nil then
        if not r.lasts or now < t + lasts(r) then return r[1] end
        if r[2] then return r[2] end
      end
    end
    error("peerlua.sim.lifecycle: no " .. provider .. " rule applies") -- a provider's rules end with one that does
  end

  function life.deadline(p, name)
    for _, r in ipairs(rules) do
      if r.lasts and r.lasts[1] == name and p[r.from] then return p[r.from] + lasts(r) end
    end
  end

  function life.register(o, more)
    local open, allowed = {}, nil
    for _, w in ipairs(o.accept_in) do open[w] = true end
    if o.states then
      allowed = {}
      for _, w in ipairs(o.states) do allowed[w] = true end
    end
    local function find(id)
      local p = o.store.peerings[id]
      if not p then return nil, "no " .. o.label .. " peering " .. tostring(id) end
      return p
    end
    local hooks = {
      accept = function(id, accept)
        local p, err = find(id)
        if not p then return nil, err end
        local now = app:clock()
        local st = life.status(p, now)
        if not open[st] then return nil, "peering " .. id .. " is " .. st .. ", not " .. o.accept_in[1] end
        if o.answer then
          o.answer(p, accept, now)
        elseif accept then
          p.accepted_at = now
        else
          p.rejected_at = now
        end
        return true
      end,
      set_state = function(id, word)
        local p, err = find(id)
        if not p then return nil, err end
        if allowed and not allowed[word] then return nil, "state: must be one of " .. table.concat(o.states, ", ") end
        p.forced = word
        if o.on_force then o.on_force(p) end
        return true
      end,
      peerings = function()
        local out, now = {}, app:clock()
        for _, p in ipairs(o.store.order) do out[#out + 1] = o.view(p, life.status(p, now)) end
        return out
      end,
    }
    for k, v in pairs(more or {}) do hooks[k] = v end
    app:register(provider, hooks)
  end

  return life
end

return M
