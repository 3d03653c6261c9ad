-- Applies a queue's settings from a control event, idempotently by control-stream sequence.
-- KEYS[1]: the command's key base. ARGV: seq, paused (0/1), concurrency, groupConcurrency,
-- rate limit, rate interval ms, group rate limit, group rate interval ms ('' = no such limit).
-- Returns 1 if applied, 0 if the projection already holds this or a later control event.
local base = KEYS[1]
--- @include "groups"
local q = base .. 'q'
local seq = tonumber(ARGV[1])
if tonumber(redis.call('HGET', q, 'seq') or '0') >= seq then return 0 end
redis.call('HSET', q, 'seq', seq, 'paused', ARGV[2])
local fields = { 'cl', 'gcl', 'rl', 'ri', 'grl', 'gri' }
for i, field in ipairs(fields) do
  local value = ARGV[i + 2]
  if value == '' then redis.call('HDEL', q, field) else redis.call('HSET', q, field, value) end
end
-- A group limit raised or removed: blocked groups get their turn again (reserve re-blocks those
-- still at the new limit); rate windows restart under the new limits.
for _, g in ipairs(redis.call('SMEMBERS', base .. 'gblk')) do
  redis.call('SREM', base .. 'gblk', g)
  enterRotation(g)
end
return 1
