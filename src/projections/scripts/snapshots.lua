-- The decision snapshots of several tasks of one command, as one JSON reply (one command for a
-- whole batch instead of one HMGET per task).
-- KEYS[1]: the command's key base. ARGV: task ids.
-- Returns JSON: one entry per id, [v, s, a, m, w, l, r] (false where a field is absent; v false =
-- unknown task).
local base = KEYS[1]
local out = {}
for i, id in ipairs(ARGV) do
  out[i] = redis.call('HMGET', base .. 't:' .. id, 'v', 's', 'a', 'm', 'w', 'l', 'r')
end
return cjson.encode(out)
