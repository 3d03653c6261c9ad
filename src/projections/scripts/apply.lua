-- Applies task events to one command's projection, idempotently by stream sequence.
-- KEYS[1]: the command's key base ("<prefix>:{<command>}:")
-- ARGV[1]: now (epoch ms: decides ready vs delayed); ARGV[2]: 1 to reindex (a rebuild's replay),
-- else 0; ARGV[3]: JSON array of ops, one per event, built by event.projection.ts:
-- [taskId, seq, code, at, ...values by code]; op-layout.ts defines each code's fields, which the
-- generated include "op-layout" names OP_<CODE>_<FIELD>.
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
--- @include "ready-score"
--- @include "groups"
--- @include "dashboard-counts"

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

-- Removes a task from the index its current state keeps it in; returns true if it held a place
-- its group's concurrency counts (reserved or leased). `g`: its group key, or false. A grouped task
-- leaving such a place frees it, unless `keep` (a claim: the reservation becomes the lease).
local function leave(id, state, g, keep)
  if state == 'pending' then
    -- A pending task is in exactly one of these; a claim's task is almost always reserved.
    if redis.call('ZREM', base .. 'reserved', id) == 1 then
      if g and not keep then countLeased(g, -1) end
      return true
    end
    local fromReady
    if g then fromReady = unreadyGrouped(g, id) else fromReady = redis.call('ZREM', base .. 'ready', id) end
    if fromReady == 0 then redis.call('ZREM', base .. 'delayed', id) end
  elseif state == 'inProgress' then
    if redis.call('ZREM', base .. 'inflight', id) == 1 and g then
      if not keep then countLeased(g, -1) end
      return true
    end
  elseif state == 'deadLettered' then
    redis.call('ZREM', base .. 'dlq', id)
  elseif state then
    redis.call('ZREM', base .. 'done', id)
  end
end

-- Puts a pending task in delayed (due later) or ready (priority, then FIFO by readySeq; a grouped
-- task in its group's ready set); `score`, when given, is the ready score already computed by the
-- caller (a string); `g` its group key or false.
local function pend(id, runAt, priority, readySeq, score, g)
  if runAt ~= nil and runAt ~= NULL and runAt ~= false and tonumber(runAt) > now then
    add('delayed', runAt, id)
  elseif g then
    readyGrouped(g, score or readyScore(priority, readySeq), id)
  else
    add('ready', score or readyScore(priority, readySeq), id)
  end
end

-- The time of a task's oldest event still in the log (absent until its first snapshot: created).
local function oldest(key)
  local f = redis.call('HMGET', key, 'oa', 'ca')
  return f[1] or f[2]
end

--- @include "restore"

local applied = 0
local function applyAll()
  -- Here, not at the top: in this function the positions are registers, not upvalues.
  --- @include "op-layout"
  for _, op in ipairs(ops) do
    local id, seq, code, at = op[OP_ID], op[OP_SEQ], op[OP_CODE], op[OP_AT]
    local key = base .. 't:' .. id
    if deferred[id] then writeDeferred() end
    local version, state, priority, hasRunAt, g, hasError, holder
    if code == 'E' then
      -- A task's first event: whether its hash exists is all that matters (it almost never does).
      -- Reading one field instead of four saves ~6k of Redis's ~64k instructions per enqueue.
      version = tonumber(redis.call('HGET', key, 'v'))
      if version then state = redis.call('HGET', key, 's') end
    else
      local cur = redis.call('HMGET', key, 'v', 's', 'p', 'r', 'g', 'err', 'w')
      version, state, priority, hasRunAt, g = tonumber(cur[1]), cur[2], cur[3], cur[4] ~= false, cur[5]
      hasError, holder = cur[6] ~= false, cur[7]
    end
    local ok
    if version then ok = version < tonumber(seq) else ok = (code == 'E' or code == 'S') end
    if ok then
      applied = applied + 1
      if code == 'E' then
        -- runAt, webhook, idempotencyKey and the trace context may be null; reservedUntil is there only for a task
        -- handed straight to a claimer.
        if version then
          -- Over an older hash of the same id (never live: an enqueue is a task's first event).
          leave(id, state, redis.call('HGET', key, 'g'))
          redis.call('DEL', key)
        end
        local runAt = op[OP_E_RUN_AT]
        priority = op[OP_E_PRIORITY]
        redis.call('HSET', key, 'v', seq, 's', 'pending', 'm', op[OP_E_MAX_ATTEMPTS], 'p', priority, 'rs', seq,
          'pl', op[OP_E_PAYLOAD], 'ca', at)
        add('age', at, id)
        add('created', at, id)
        countMinute('e', at)
        if runAt ~= NULL then redis.call('HSET', key, 'r', runAt) end
        if op[OP_E_WEBHOOK] ~= NULL then redis.call('HSET', key, 'wh', op[OP_E_WEBHOOK]) end
        if op[OP_E_IDEMPOTENCY_KEY] ~= NULL then redis.call('HSET', key, 'ik', op[OP_E_IDEMPOTENCY_KEY]) end
        if op[OP_E_TRACE_PARENT] ~= NULL then
          redis.call('HSET', key, 'tp', op[OP_E_TRACE_PARENT])
          if op[OP_E_TRACE_STATE] ~= NULL then redis.call('HSET', key, 'tst', op[OP_E_TRACE_STATE]) end
        end
        g = op[OP_E_GROUP_KEY]
        if g == NULL or g == nil then g = false else redis.call('HSET', key, 'g', g) end
        local reservedUntil = op[OP_E_RESERVED_UNTIL]
        if reservedUntil then
          add('reserved', reservedUntil, id)
          if g then countLeased(g, 1) end
        else
          pend(id, runAt, priority, seq, op[OP_E_READY_SCORE], g)
        end
      elseif code == 'S' then
        -- snapshot: runAt, workerId, leaseUntil, webhook, idempotencyKey, error, the trace context,
        -- the group key and progress may be null.
        if not version then
          -- The first event of a rolled-up task (a rebuild): restore it whole.
          local status, priority, readySeq = op[OP_S_STATUS], op[OP_S_PRIORITY], op[OP_S_READY_SEQ]
          redis.call('HSET', key, 's', status, 'pl', op[OP_S_PAYLOAD], 'p', priority, 'm', op[OP_S_MAX_ATTEMPTS],
            'a', op[OP_S_ATTEMPTS], 'rs', readySeq, 'ca', op[OP_S_CREATED_AT], 'ua', op[OP_S_UPDATED_AT])
          local optional = { r = op[OP_S_RUN_AT], w = op[OP_S_WORKER_ID], l = op[OP_S_LEASE_UNTIL],
            wh = op[OP_S_WEBHOOK], ik = op[OP_S_IDEMPOTENCY_KEY], err = op[OP_S_ERROR], g = op[OP_S_GROUP_KEY],
            tp = op[OP_S_TRACE_PARENT], tst = op[OP_S_TRACE_STATE], pg = op[OP_S_PROGRESS] }
          for field, value in pairs(optional) do
            if value ~= NULL then redis.call('HSET', key, field, value) end
          end
          g = optional.g ~= NULL and optional.g
          add('created', op[OP_S_CREATED_AT], id)
          if status == 'pending' then
            pend(id, optional.r, priority, readySeq, nil, g)
          else
            add('inflight', optional.l, id)
            if g then countLeased(g, 1) end
          end
        end
        -- Live, the task is unchanged: only its version and its oldest event move.
        redis.call('HSET', key, 'v', seq, 'oa', at)
        add('age', at, id)
      elseif code == 'C' then
        -- claimed
        local leaseUntil = op[OP_C_LEASE_UNTIL]
        -- Its reservation (or a lease it somehow held) becomes this lease; else it takes a place.
        if not leave(id, state, g, true) and g then countLeased(g, 1) end
        redis.call('HSET', key, 'v', seq, 's', 'inProgress', 'a', op[OP_C_ATTEMPTS], 'w', op[OP_C_WORKER_ID],
          'l', leaseUntil, 'ua', at)
        seenWorker(op[OP_C_WORKER_ID], at)
        if hasRunAt then redis.call('HDEL', key, 'r') end
        add('inflight', leaseUntil, id)
      elseif code == 'H' then
        -- heartbeat
        if state ~= 'inProgress' then
          if not leave(id, state, g, true) and g then countLeased(g, 1) end
        end
        redis.call('HSET', key, 'v', seq, 'l', op[OP_H_LEASE_UNTIL], 'ua', at)
        seenWorker(holder, at)
        add('inflight', op[OP_H_LEASE_UNTIL], id)
      elseif code == 'G' then
        -- progressed: the report's JSON, whole (its value, data and time); no index moves.
        redis.call('HSET', key, 'v', seq, 'pg', op[OP_G_PROGRESS], 'ua', at)
      elseif code == 'N' or code == 'L' then
        -- nacked (reason may be null); leaseExpired. Both put runAt at the same position.
        local runAt = op[OP_N_RUN_AT]
        if code == 'N' then seenWorker(holder, at) end
        leave(id, state, g)
        redis.call('HSET', key, 'v', seq, 's', 'pending', 'r', runAt, 'rs', seq, 'ua', at)
        if code == 'L' then
          redis.call('HSET', key, 'err', 'LEASE_EXPIRED')
        elseif op[OP_N_REASON] ~= NULL then
          redis.call('HSET', key, 'err', op[OP_N_REASON])
        end
        redis.call('HDEL', key, 'w', 'l')
        pend(id, runAt, priority, seq, nil, g)
      elseif code == 'T' then
        -- rateLimited: pending again at runAt with this delivery un-counted; its group key (or,
        -- without one, its queue) waits until runAt too.
        local runAt = op[OP_T_RUN_AT]
        leave(id, state, g)
        redis.call('HSET', key, 'v', seq, 's', 'pending', 'r', runAt, 'rs', seq, 'ua', at, 'a', op[OP_T_ATTEMPTS])
        redis.call('HDEL', key, 'w', 'l')
        pend(id, runAt, priority, seq, nil, g)
        if g then
          redis.call('ZREM', base .. 'gq', g)
          -- GT: a later wait already there stands; a group not waiting yet is added.
          redis.call('ZADD', base .. 'gwait', 'GT', runAt, g)
        elseif tonumber(runAt) > tonumber(redis.call('HGET', base .. 'q', 'thr') or '0') then
          redis.call('HSET', base .. 'q', 'thr', runAt)
        end
      elseif code == 'A' or code == 'R' then
        -- abandoned; requeued (attempts start again)
        leave(id, state, g)
        redis.call('HSET', key, 'v', seq, 's', 'pending', 'rs', seq, 'ua', at)
        if code == 'R' then
          redis.call('HSET', key, 'a', 0)
          add('age', oldest(key), id)
        end
        redis.call('HDEL', key, 'w', 'l', 'r')
        pend(id, nil, priority, seq, nil, g)
      elseif code == 'D' or code == 'F' then
        -- completed (result JSON); failed (error). Artifacts (JSON, may be null) at the same position.
        leave(id, state, g)
        seenWorker(holder, at)
        countMinute(code == 'D' and 'd' or 'f', at)
        if code == 'D' then
          redis.call('HSET', key, 'v', seq, 's', 'completed', 'res', op[OP_D_RESULT], 'ua', at)
          -- An earlier delivery's error (nack, expired lease, a redriven dead-letter) is not its
          -- outcome; read with the task's other fields, so a clean completion costs no call.
          if hasError then redis.call('HDEL', key, 'err') end
        else
          redis.call('HSET', key, 'v', seq, 's', 'failed', 'err', op[OP_F_ERROR], 'ua', at)
        end
        if op[OP_D_ARTIFACTS] ~= NULL then redis.call('HSET', key, 'art', op[OP_D_ARTIFACTS]) end
        -- The lease deadline stays: nothing reads it once the task is terminal (one call fewer).
        add('done', at, id)
        removeLater('age', id)
      elseif code == 'Q' then
        -- dlq
        leave(id, state, g)
        seenWorker(holder, at)
        countMinute('f', at)
        redis.call('HSET', key, 'v', seq, 's', 'deadLettered', 'err', op[OP_Q_REASON], 'ua', at)
        add('dlq', at, id)
        removeLater('age', id)
      elseif code == 'Z' then
        -- deleted by an admin (a dead-lettered task): the task leaves the projection; its events,
        -- this one last, stay in the log.
        leave(id, state, g)
        redis.call('DEL', key)
        removeLater('created', id)
      elseif code == 'X' then
        -- cancelled (reason may be null)
        leave(id, state, g)
        redis.call('HSET', key, 'v', seq, 's', 'cancelled', 'ua', at)
        if op[OP_X_REASON] ~= NULL then redis.call('HSET', key, 'err', op[OP_X_REASON]) end
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
writeDashboardCounts()
if not ok then error(failure) end
return applied
