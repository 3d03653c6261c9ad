-- Applies task events to one command's projection, idempotently by stream sequence.
-- KEYS[1]: the command's key base ("<prefix>:{<command>}:")
-- ARGV[1]: now (epoch ms: decides ready vs delayed); ARGV[2]: 1 to reindex (a rebuild's replay),
-- else 0; ARGV[3]: JSON array of ops, one per event, built by event.projection.ts:
-- [taskId, seq, code, at, ...values by code] (codes below).
-- Reindex: a rebuild's flush is not atomic with live writers, so a task hash may survive the flush
-- while its index entry does not; the replay then skips its events as already applied. With
-- reindex, a skipped event's task is put back into the index its state calls for.
-- An op applies only if its seq is above the task's version. Only 'E' (enqueued) creates a task
-- hash: a later event for a task not seen yet (mid-rebuild) waits for the replay instead of leaving
-- a partial task. Values come as decimal strings and go to redis.call as they are: converting a
-- Lua number back to a string costs Redis more than the whole HMGET (bench/redis-apply-cost.ts),
-- and a string keeps every digit. Only comparisons convert (tonumber). A new task's hash leaves out
-- what readers default: attempts (0), updated and oldest-event time (both = created). Returns the
-- number of ops applied.
local base = KEYS[1]
local now = tonumber(ARGV[1])
local reindex = ARGV[2] == '1'
local ops = cjson.decode(ARGV[3])
local NULL = cjson.null
local TWO44 = 17592186044416

-- Index writes whose reply nothing reads wait here and go out as one ZADD (or ZREM) per index at
-- the end: a call per batch instead of per event, the biggest share of Redis's cost per call being
-- the call itself. Before an op touches a task with a deferred write, everything deferred goes out,
-- so each op still sees the indexes exactly as if every write had been immediate.
local adds, removals, deferred = {}, {}, {}
local function add(set, score, id)
  local t = adds[set]
  if not t then t = {}; adds[set] = t end
  t[#t + 1] = score
  t[#t + 1] = id
  deferred[id] = true
end
local function removeLater(set, id)
  local t = removals[set]
  if not t then t = {}; removals[set] = t end
  t[#t + 1] = id
  deferred[id] = true
end
-- Chunks stay well under Lua's limit on unpacked arguments.
local function writeDeferred()
  for set, t in pairs(adds) do
    for i = 1, #t, 2000 do redis.call('ZADD', base .. set, unpack(t, i, math.min(i + 1999, #t))) end
  end
  for set, t in pairs(removals) do
    for i = 1, #t, 1000 do redis.call('ZREM', base .. set, unpack(t, i, math.min(i + 999, #t))) end
  end
  adds, removals, deferred = {}, {}, {}
end

-- Removes a task from the index its current state keeps it in.
local function leave(id, state)
  if state == 'pending' then
    -- A pending task is in exactly one of these; a claim's task is almost always reserved.
    if redis.call('ZREM', base .. 'reserved', id) == 0 and redis.call('ZREM', base .. 'ready', id) == 0 then
      redis.call('ZREM', base .. 'delayed', id)
    end
  elseif state == 'inProgress' then
    redis.call('ZREM', base .. 'inflight', id)
  elseif state == 'deadLettered' then
    redis.call('ZREM', base .. 'dlq', id)
  elseif state then
    redis.call('ZREM', base .. 'done', id)
  end
end

-- Puts a pending task in delayed (due later) or ready (priority, then FIFO by readySeq); `score`,
-- when given, is the ready score already computed by the caller (a string).
local function pend(id, runAt, priority, readySeq, score)
  if runAt ~= nil and runAt ~= NULL and runAt ~= false and tonumber(runAt) > now then
    add('delayed', runAt, id)
  else
    add('ready', score or ((9 - tonumber(priority)) * TWO44 + tonumber(readySeq)), id)
  end
end

-- The time of a task's oldest event still in the log (absent until its first snapshot: created).
local function oldest(key)
  local f = redis.call('HMGET', key, 'oa', 'ca')
  return f[1] or f[2]
end

-- Puts an existing task back into its state's index when it sits in none (rebuild only).
local function restore(id, key, state)
  if state == 'pending' or state == 'inProgress' then
    local oa = oldest(key)
    if oa and not redis.call('ZSCORE', base .. 'age', id) then add('age', oa, id) end
  end
  if state == 'pending' then
    if redis.call('ZSCORE', base .. 'ready', id) or redis.call('ZSCORE', base .. 'delayed', id)
      or redis.call('ZSCORE', base .. 'reserved', id) then return end
    local f = redis.call('HMGET', key, 'r', 'p', 'rs')
    pend(id, f[1], f[2], f[3])
  elseif state == 'inProgress' then
    if not redis.call('ZSCORE', base .. 'inflight', id) then
      add('inflight', redis.call('HGET', key, 'l'), id)
    end
  elseif state then
    local set = (state == 'deadLettered') and 'dlq' or 'done'
    if not redis.call('ZSCORE', base .. set, id) then
      local f = redis.call('HMGET', key, 'ua', 'ca')
      add(set, f[1] or f[2], id)
    end
  end
end

local applied = 0
local function applyAll()
  for _, op in ipairs(ops) do
    local id, seq, code, at = op[1], op[2], op[3], op[4]
    local key = base .. 't:' .. id
    if deferred[id] then writeDeferred() end
    local version, state, priority, hasRunAt
    if code == 'E' then
      -- A task's first event: whether its hash exists is all that matters (it almost never does).
      -- Reading one field instead of four saves ~6k of Redis's ~64k instructions per enqueue.
      version = tonumber(redis.call('HGET', key, 'v'))
      if version then state = redis.call('HGET', key, 's') end
    else
      local cur = redis.call('HMGET', key, 'v', 's', 'p', 'r')
      version, state, priority, hasRunAt = tonumber(cur[1]), cur[2], cur[3], cur[4] ~= false
    end
    local ok
    if version then ok = version < tonumber(seq) else ok = (code == 'E' or code == 'S') end
    if ok then
      applied = applied + 1
      if code == 'E' then
        -- [id, seq, 'E', at, priority, maxAttempts, payloadJson, runAt|null, webhook|null, idemKey|null,
        --  readyScore, reservedUntil (only for a task handed straight to a claimer)]
        if version then
          -- Over an older hash of the same id (never live: an enqueue is a task's first event).
          leave(id, state)
          redis.call('DEL', key)
        end
        redis.call('HSET', key, 'v', seq, 's', 'pending', 'm', op[6], 'p', op[5], 'rs', seq, 'pl', op[7], 'ca', at)
        add('age', at, id)
        if op[8] ~= NULL then redis.call('HSET', key, 'r', op[8]) end
        if op[9] ~= NULL then redis.call('HSET', key, 'wh', op[9]) end
        if op[10] ~= NULL then redis.call('HSET', key, 'ik', op[10]) end
        if op[12] then add('reserved', op[12], id) else pend(id, op[8], op[5], seq, op[11]) end
      elseif code == 'S' then
        -- snapshot: [.., at, status, payloadJson, priority, maxAttempts, attempts, readySeq, createdAt,
        --            updatedAt, runAt|null, workerId|null, leaseUntil|null, webhook|null, idemKey|null, error|null]
        if not version then
          -- The first event of a rolled-up task (a rebuild): restore it whole.
          redis.call('HSET', key, 's', op[5], 'pl', op[6], 'p', op[7], 'm', op[8], 'a', op[9], 'rs', op[10], 'ca', op[11], 'ua', op[12])
          local optional = { r = op[13], w = op[14], l = op[15], wh = op[16], ik = op[17], err = op[18] }
          for field, value in pairs(optional) do
            if value ~= NULL then redis.call('HSET', key, field, value) end
          end
          if op[5] == 'pending' then pend(id, op[13], op[7], op[10]) else add('inflight', op[15], id) end
        end
        -- Live, the task is unchanged: only its version and its oldest event move.
        redis.call('HSET', key, 'v', seq, 'oa', at)
        add('age', at, id)
      elseif code == 'C' then
        -- claimed: [.., at, attempts, workerId, leaseUntil]
        leave(id, state)
        redis.call('HSET', key, 'v', seq, 's', 'inProgress', 'a', op[5], 'w', op[6], 'l', op[7], 'ua', at)
        if hasRunAt then redis.call('HDEL', key, 'r') end
        add('inflight', op[7], id)
      elseif code == 'H' then
        -- heartbeat: [.., at, leaseUntil]
        if state ~= 'inProgress' then leave(id, state) end
        redis.call('HSET', key, 'v', seq, 'l', op[5], 'ua', at)
        add('inflight', op[5], id)
      elseif code == 'N' or code == 'L' then
        -- nacked: [.., at, runAt, reason|null]; leaseExpired: [.., at, runAt]
        leave(id, state)
        redis.call('HSET', key, 'v', seq, 's', 'pending', 'r', op[5], 'rs', seq, 'ua', at)
        if code == 'L' then
          redis.call('HSET', key, 'err', 'LEASE_EXPIRED')
        elseif op[6] ~= NULL then
          redis.call('HSET', key, 'err', op[6])
        end
        redis.call('HDEL', key, 'w', 'l')
        pend(id, op[5], priority, seq)
      elseif code == 'A' or code == 'R' then
        -- abandoned: [.., at]; requeued: [.., at] (attempts start again)
        leave(id, state)
        redis.call('HSET', key, 'v', seq, 's', 'pending', 'rs', seq, 'ua', at)
        if code == 'R' then
          redis.call('HSET', key, 'a', 0)
          add('age', oldest(key), id)
        end
        redis.call('HDEL', key, 'w', 'l', 'r')
        pend(id, nil, priority, seq)
      elseif code == 'D' or code == 'F' then
        -- completed: [.., at, resultJson, artifactsJson|null]; failed: [.., at, error, artifactsJson|null]
        leave(id, state)
        if code == 'D' then
          redis.call('HSET', key, 'v', seq, 's', 'completed', 'res', op[5], 'ua', at)
        else
          redis.call('HSET', key, 'v', seq, 's', 'failed', 'err', op[5], 'ua', at)
        end
        if op[6] ~= NULL then redis.call('HSET', key, 'art', op[6]) end
        -- The lease deadline stays: nothing reads it once the task is terminal (one call fewer).
        add('done', at, id)
        removeLater('age', id)
      elseif code == 'Q' then
        -- dlq: [.., at, reason]
        leave(id, state)
        redis.call('HSET', key, 'v', seq, 's', 'deadLettered', 'err', op[5], 'ua', at)
        add('dlq', at, id)
        removeLater('age', id)
      elseif code == 'X' then
        -- cancelled: [.., at, reason|null]
        leave(id, state)
        redis.call('HSET', key, 'v', seq, 's', 'cancelled', 'ua', at)
        if op[5] ~= NULL then redis.call('HSET', key, 'err', op[5]) end
        if hasRunAt then redis.call('HDEL', key, 'r') end
        add('done', at, id)
        removeLater('age', id)
      else
        -- 'K': history-only events (webhook outcomes) move the version and nothing else.
        redis.call('HSET', key, 'v', seq)
      end
    elseif reindex and version then
      restore(id, key, state)
    end
  end
end
-- A script that fails halfway keeps what it wrote (Redis does not roll back): the index writes of
-- the ops already applied still go out, so no applied task is left outside its index.
local ok, failure = pcall(applyAll)
writeDeferred()
if not ok then error(failure) end
return applied
