-- One claim round for one command, atomically:
--   1. moves due delayed tasks to ready (bounded),
--   2. returns lapsed reservations (a claimer died between reserve and append) to ready,
--   3. picks up to `inspect` expired leases, oldest first, and hides them for `reserveMs` while the
--      caller repairs them,
--   4. reserves up to `count` ready tasks (priority, then FIFO) until now + reserveMs.
-- KEYS[1]: the command's key base. ARGV: now, count, reserveMs, inspect, promoteLimit.
-- Returns one JSON string (cheaper for the client to decode than nested replies):
--   [reserved tasks as [id, [field, value, ...]] each, expired leases (same shape),
--    next due time or '', earliest lease deadline or '', number promoted].
local base = KEYS[1]
local now = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local reserveMs = tonumber(ARGV[3])
local inspect = tonumber(ARGV[4])
local promoteLimit = tonumber(ARGV[5])
--- @include "ready-score"

local function toReady(id)
  local f = redis.call('HMGET', base .. 't:' .. id, 's', 'p', 'rs')
  if f[1] == 'pending' then
    redis.call('ZADD', base .. 'ready', readyScore(f[2], f[3]), id)
    return 1
  end
  return 0
end

local promoted = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'delayed', '-inf', now, 'LIMIT', 0, promoteLimit)) do
  redis.call('ZREM', base .. 'delayed', id)
  promoted = promoted + toReady(id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'reserved', '-inf', now, 'LIMIT', 0, promoteLimit)) do
  redis.call('ZREM', base .. 'reserved', id)
  promoted = promoted + toReady(id)
end

local expired = {}
if inspect > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'inflight', '-inf', now, 'LIMIT', 0, inspect)) do
    redis.call('ZADD', base .. 'inflight', now + reserveMs, id)
    expired[#expired + 1] = { id, redis.call('HGETALL', base .. 't:' .. id) }
  end
end

local reserved = {}
if count > 0 then
  local best = redis.call('ZPOPMIN', base .. 'ready', count)
  -- One ZADD for the whole batch (score, member, score, member, ...), in chunks that stay well
  -- under Lua's limit on unpacked arguments.
  local until_ = now + reserveMs
  local entries = {}
  for j = 1, #best, 2 do
    local id = best[j]
    local fields = redis.call('HGETALL', base .. 't:' .. id)
    if #fields > 0 then
      entries[#entries + 1] = until_
      entries[#entries + 1] = id
      reserved[#reserved + 1] = { id, fields }
    end
  end
  for i = 1, #entries, 2000 do
    redis.call('ZADD', base .. 'reserved', unpack(entries, i, math.min(i + 1999, #entries)))
  end
end

local nextDue = redis.call('ZRANGE', base .. 'delayed', 0, 0, 'WITHSCORES')[2] or ''
local nextLease = redis.call('ZRANGE', base .. 'inflight', 0, 0, 'WITHSCORES')[2] or ''
-- cjson encodes an empty table as {}: the client reads anything that is not an array as empty.
return cjson.encode({ reserved, expired, nextDue, nextLease, promoted })
