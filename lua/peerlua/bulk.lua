-- peerlua.bulk(items, fn[, {concurrency = n}]) -> results, failures
-- Runs fn(item, i) for every item as tasks, at most `concurrency` at a time
-- (default 10). One failure never stops the others: results[i] is
-- {ok = true, value = first result} or {ok = false, err = error}. An item
-- fails when fn raises or returns nil (or false) and an error, as Lua
-- functions say failure; one that returns nothing has done its work. The
-- second return value counts the failures.
local core = select(3, ...) -- the C primitives, handed to peerlua's own modules only (core/binding/lua_peerlua.c)
local caller = core.caller_level -- the level of the script's frame, however bulk was called

return function(items, fn, opts)
  if type(items) ~= "table" then error("bad argument #1 to 'bulk' (table expected)", caller()) end
  if type(fn) ~= "function" then error("bad argument #2 to 'bulk' (function expected)", caller()) end
  if opts ~= nil and type(opts) ~= "table" then error("bad argument #3 to 'bulk' (table expected)", caller()) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "concurrency" then
      local near = type(k) == "string" and core.nearest(k, { "concurrency" })
      error(string.format("bad option '%s' to 'bulk' (%s)", tostring(k),
        near and "did you mean '" .. near .. "'?" or "its only option is 'concurrency'"), caller())
    end
  end
  local n = #items -- a list: 1..n; a named key or a hole would be skipped without a word
  for k in pairs(items) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      local key = type(k) == "string" and "'" .. k .. "'" or tostring(k)
      error(string.format("bad argument #1 to 'bulk' (a list expected: %s)",
        n == 0 and "got a table with key " .. key or "key " .. key .. " is not in 1.." .. n), caller())
    end
  end
  for i = 1, n do -- {a, b, nil, d}: a hole Lua's length may count in
    if items[i] == nil then
      error(string.format("bad argument #1 to 'bulk' (a list expected: item %d of %d is nil)", i, n), caller())
    end
  end
  local concurrency = opts.concurrency or 10
  if math.type(concurrency) ~= "integer" or concurrency < 1 then
    error("bad option 'concurrency' to 'bulk' (integer >= 1 expected)", caller())
  end
  local results, failures, next_item = {}, 0, 1
  local function worker()
    while next_item <= #items do
      local i = next_item
      next_item = next_item + 1
      local ok, value, err = pcall(fn, items[i], i)
      if ok and (value or err == nil) then
        results[i] = { ok = true, value = value }
      else
        failures = failures + 1
        results[i] = { ok = false, err = ok and err or value }
      end
    end
  end
  local workers = {}
  for w = 1, math.min(concurrency, #items) do workers[w] = core.spawn(worker) end
  for _, t in ipairs(workers) do
    local _, err = t:wait()
    if err then error(err, 0) end
  end
  return results, failures
end
