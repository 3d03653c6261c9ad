-- Gives reserved tasks back to ready (a claimer reserved more than it could append).
-- KEYS[1]: the command's key base. ARGV: task ids. Returns the number released.
local base = KEYS[1]
--- @include "ready-score"
local released = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', base .. 'reserved', id) == 1 then
    local f = redis.call('HMGET', base .. 't:' .. id, 's', 'p', 'rs')
    if f[1] == 'pending' then
      redis.call('ZADD', base .. 'ready', readyScore(f[2], f[3]), id)
      released = released + 1
    end
  end
end
return released
