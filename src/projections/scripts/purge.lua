-- Removes terminal tasks from one command's projection: completed/failed/cancelled changed before
-- ARGV[1] and dead-lettered ones changed before ARGV[2], at most ARGV[3] in all, oldest first.
-- KEYS[1]: the command's key base. Returns { taskId, idempotencyKey or '' } pairs, flat.
local base = KEYS[1]
local limit = tonumber(ARGV[3])
local out = {}
local function purge(set, before)
  if limit <= 0 then return end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. set, '-inf', '(' .. before, 'LIMIT', 0, limit)) do
    local key = base .. 't:' .. id
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGET', key, 'ik') or ''
    redis.call('DEL', key)
    redis.call('ZREM', base .. set, id)
    redis.call('ZREM', base .. 'created', id)
    limit = limit - 1
  end
end
purge('done', ARGV[1])
purge('dlq', ARGV[2])
return out
