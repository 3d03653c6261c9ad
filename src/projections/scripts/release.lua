-- Gives reserved tasks back to ready (a claimer reserved more than it could append).
-- KEYS[1]: the command's key base. ARGV: task ids. Returns the number released.
local base = KEYS[1]
--- @include "ready-score"
--- @include "groups"
local released = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', base .. 'reserved', id) == 1 then
    local f = redis.call('HMGET', base .. 't:' .. id, 's', 'p', 'rs', 'g')
    if f[4] then countLeased(f[4], -1) end
    if f[1] == 'pending' then
      if f[4] then
        readyGrouped(f[4], readyScore(f[2], f[3]), id)
      else
        redis.call('ZADD', base .. 'ready', readyScore(f[2], f[3]), id)
      end
      released = released + 1
    end
  end
end
return released
