-- One claim round for one command, atomically:
--   1. moves due delayed tasks to ready, and groups whose wait is over back into the rotation
--      (bounded),
--   2. returns lapsed reservations (a claimer died between reserve and append) to ready,
--   3. picks up to `inspect` expired leases, oldest first, and hides them for `reserveMs` while the
--      caller repairs them,
--   4. reserves up to `count` ready tasks until now + reserveMs, within the queue's controls (pause,
--      throttle, concurrency and rate limits): without group keys in play, priority then FIFO; with
--      them, round-robin between the groups with claimable work (and the tasks without a group as
--      one more participant), each group's tasks by priority then FIFO, within the group limits.
-- KEYS[1]: the command's key base. ARGV: now, count, reserveMs, inspect, promoteLimit.
-- Returns one JSON string (cheaper for the client to decode than nested replies):
--   [reserved tasks as [id, [field, value, ...]] each, expired leases (same shape),
--    next time work may become claimable without a wake-up (a due task, a rate window or a wait
--    ending) or '', earliest lease deadline or '', number promoted].
local base = KEYS[1]
local now = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local reserveMs = tonumber(ARGV[3])
local inspect = tonumber(ARGV[4])
local promoteLimit = tonumber(ARGV[5])
--- @include "ready-score"
--- @include "groups"
local q = base .. 'q'
-- paused, queue concurrency, queue rate (limit, interval), throttle, group limits
local s = redis.call('HMGET', q, 'paused', 'cl', 'rl', 'ri', 'thr', 'gcl', 'grl', 'gri')

local function toReady(id)
  local f = redis.call('HMGET', base .. 't:' .. id, 's', 'p', 'rs', 'g')
  if f[1] ~= 'pending' then return 0 end
  if f[4] then
    readyGrouped(f[4], readyScore(f[2], f[3]), id)
  else
    redis.call('ZADD', base .. 'ready', readyScore(f[2], f[3]), id)
  end
  return 1
end

local promoted = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'delayed', '-inf', now, 'LIMIT', 0, promoteLimit)) do
  redis.call('ZREM', base .. 'delayed', id)
  promoted = promoted + toReady(id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'reserved', '-inf', now, 'LIMIT', 0, promoteLimit)) do
  redis.call('ZREM', base .. 'reserved', id)
  local g = redis.call('HGET', base .. 't:' .. id, 'g')
  if g then countLeased(g, -1) end
  promoted = promoted + toReady(id)
end
for _, g in ipairs(redis.call('ZRANGEBYSCORE', base .. 'gwait', '-inf', now, 'LIMIT', 0, promoteLimit)) do
  redis.call('ZREM', base .. 'gwait', g)
  enterRotation(g)
  promoted = promoted + 1
end

local expired = {}
if inspect > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. 'inflight', '-inf', now, 'LIMIT', 0, inspect)) do
    redis.call('ZADD', base .. 'inflight', now + reserveMs, id)
    expired[#expired + 1] = { id, redis.call('HGETALL', base .. 't:' .. id) }
  end
end

-- The queue's gates: how many it may hand out now, and when a closed gate opens.
local gateOpensAt
local function gateAt(t)
  if not gateOpensAt or t < gateOpensAt then gateOpensAt = t end
end
if s[1] == '1' then count = 0 end
if count > 0 and s[5] and tonumber(s[5]) > now then
  count = 0
  gateAt(tonumber(s[5]))
end
if count > 0 and s[2] then
  local free = tonumber(s[2]) - redis.call('ZCARD', base .. 'inflight') - redis.call('ZCARD', base .. 'reserved')
  if free < count then count = math.max(0, free) end
end
local rateWindow, rateUsed
if count > 0 and s[3] then
  local interval = tonumber(s[4])
  rateWindow = math.floor(now / interval)
  local w = redis.call('HMGET', q, 'rw', 'rc')
  rateUsed = (tonumber(w[1]) == rateWindow) and tonumber(w[2]) or 0
  local left = tonumber(s[3]) - rateUsed
  if left <= 0 then
    count = 0
    gateAt((rateWindow + 1) * interval)
  elseif left < count then
    count = left
  end
end

local reserved = {}
local entries = {}
local until_ = now + reserveMs
-- Reserves one popped task; false if its hash is gone (then nothing is reserved).
local function take(id)
  local fields = redis.call('HGETALL', base .. 't:' .. id)
  if #fields == 0 then return false end
  entries[#entries + 1] = until_
  entries[#entries + 1] = id
  reserved[#reserved + 1] = { id, fields }
  return true
end

if count > 0 and redis.call('EXISTS', base .. 'gq') == 0 then
  -- No group has claimable work: the common path, priority then FIFO.
  local best = redis.call('ZPOPMIN', base .. 'ready', count)
  for j = 1, #best, 2 do take(best[j]) end
elseif count > 0 then
  local gcl, grl, gri = tonumber(s[6] or nil), tonumber(s[7] or nil), tonumber(s[8] or nil)
  local ut = tonumber(redis.call('HGET', q, 'ut') or '0')
  local ungrouped = true
  -- Each visit reserves a task or takes a group out of the rotation, so this ends; the bound only
  -- caps one call's work.
  local visits = count * 4 + 64
  while #reserved < count and visits > 0 do
    visits = visits - 1
    local head = redis.call('ZRANGE', base .. 'gq', 0, 0, 'WITHSCORES')
    local g, turn = head[1], tonumber(head[2] or '0')
    if ungrouped and (not g or ut <= turn) then
      local best = redis.call('ZPOPMIN', base .. 'ready', 1)
      if #best == 0 then
        ungrouped = false
      else
        take(best[1])
        ut = redis.call('HINCRBY', q, 'turn', 1)
      end
    elseif not g then
      break
    elseif gcl and tonumber(redis.call('HGET', base .. 'gc', g) or '0') >= gcl then
      redis.call('ZREM', base .. 'gq', g)
      redis.call('SADD', base .. 'gblk', g)
    else
      local used, window = 0, nil
      if grl then
        window = math.floor(now / gri)
        local w = redis.call('HGET', base .. 'gw', g)
        if w then
          local ws, wc = string.match(w, '^(%d+):(%d+)$')
          if tonumber(ws) == window then used = tonumber(wc) end
        end
      end
      if grl and used >= grl then
        redis.call('ZREM', base .. 'gq', g)
        redis.call('ZADD', base .. 'gwait', (window + 1) * gri, g)
      else
        local best = redis.call('ZPOPMIN', base .. 'gr:' .. g, 1)
        if #best == 0 then
          redis.call('ZREM', base .. 'gq', g)
          redis.call('HDEL', base .. 'grn', g)
        else
          if redis.call('HINCRBY', base .. 'grn', g, -1) <= 0 then redis.call('HDEL', base .. 'grn', g) end
          redis.call('HINCRBY', q, 'gready', -1)
          if take(best[1]) then
            redis.call('HINCRBY', base .. 'gc', g, 1)
            if grl then
              used = used + 1
              redis.call('HSET', base .. 'gw', g, window .. ':' .. used)
            end
          end
          redis.call('ZREM', base .. 'gq', g)
          if grl and used >= grl then
            redis.call('ZADD', base .. 'gwait', (window + 1) * gri, g)
          else
            -- Its next turn comes after every other group's (enterRotation re-checks its limit).
            enterRotation(g)
          end
        end
      end
    end
  end
  redis.call('HSET', q, 'ut', ut)
end
-- One ZADD for the whole batch (score, member, score, member, ...), in chunks that stay well
-- under Lua's limit on unpacked arguments.
for i = 1, #entries, 2000 do
  redis.call('ZADD', base .. 'reserved', unpack(entries, i, math.min(i + 1999, #entries)))
end
if rateWindow then redis.call('HSET', q, 'rw', rateWindow, 'rc', rateUsed + #reserved) end

local nextDue = redis.call('ZRANGE', base .. 'delayed', 0, 0, 'WITHSCORES')[2]
if nextDue then gateAt(tonumber(nextDue)) end
local nextWait = redis.call('ZRANGE', base .. 'gwait', 0, 0, 'WITHSCORES')[2]
if nextWait then gateAt(tonumber(nextWait)) end
local nextLease = redis.call('ZRANGE', base .. 'inflight', 0, 0, 'WITHSCORES')[2] or ''
-- cjson encodes an empty table as {}: the client reads anything that is not an array as empty.
return cjson.encode({ reserved, expired, gateOpensAt and string.format('%d', gateOpensAt) or '', nextLease, promoted })
