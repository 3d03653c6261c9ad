-- Group keys (fair claiming and per-group limits), shared by apply, reserve, release and the
-- settings script. Needs `base` (the command's key base). Keys under it:
--   q          hash: the queue's settings (paused, cl, gcl, rl/ri, grl/gri, seq), its throttle
--              (thr), rotation turns (turn, ut), rate windows (rw/rc), grouped ready total (gready)
--   gr:<g>     zset: ready tasks of group g (ready score), like `ready` for tasks without a group
--   grn        hash: g -> its number of ready tasks
--   gc         hash: g -> its tasks reserved or leased (what a group concurrency limit counts)
--   gq         zset: the rotation: groups that may have claimable work, score = their turn
--   gblk       set: groups out of the rotation at their concurrency limit
--   gwait      zset: groups out of the rotation until a time (rate window, throttle), score = time
-- Membership of gq is lazy: reserve drops a group it finds empty or blocked.

-- Puts group g in the rotation (last turn) unless it has no ready work, waits, or is at its limit.
local function enterRotation(g)
  if tonumber(redis.call('HGET', base .. 'grn', g) or '0') <= 0 then return end
  if redis.call('ZSCORE', base .. 'gwait', g) then return end
  local gcl = redis.call('HGET', base .. 'q', 'gcl')
  if gcl and tonumber(redis.call('HGET', base .. 'gc', g) or '0') >= tonumber(gcl) then
    redis.call('SADD', base .. 'gblk', g)
    return
  end
  local turn = redis.call('HINCRBY', base .. 'q', 'turn', 1)
  redis.call('ZADD', base .. 'gq', 'NX', turn, g)
end

-- A grouped task became ready (score: its ready score).
local function readyGrouped(g, score, id)
  if redis.call('ZADD', base .. 'gr:' .. g, score, id) == 1 then
    redis.call('HINCRBY', base .. 'grn', g, 1)
    redis.call('HINCRBY', base .. 'q', 'gready', 1)
  end
  enterRotation(g)
end

-- A grouped task left ready; returns 1 if it was there.
local function unreadyGrouped(g, id)
  if redis.call('ZREM', base .. 'gr:' .. g, id) == 0 then return 0 end
  if redis.call('HINCRBY', base .. 'grn', g, -1) <= 0 then redis.call('HDEL', base .. 'grn', g) end
  redis.call('HINCRBY', base .. 'q', 'gready', -1)
  return 1
end

-- Group g has `delta` more (or fewer) tasks reserved or leased; a group below its limit again
-- goes back into the rotation.
local function countLeased(g, delta)
  local n = redis.call('HINCRBY', base .. 'gc', g, delta)
  if delta < 0 then
    if n <= 0 then redis.call('HDEL', base .. 'gc', g) end
    if redis.call('SREM', base .. 'gblk', g) == 1 then enterRotation(g) end
  end
end
