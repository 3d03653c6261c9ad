-- Applies task events to one command's projection, idempotently by stream sequence.
-- KEYS[1]: the command's key base ("<prefix>:{<command>}:")
-- ARGV[1]: now (epoch ms, decides ready vs delayed); ARGV[2]: number of events; then per event:
--   taskId, seq, target (pending|inflight|dlq|done|keep), create (1|0),
--   nset, field, value, ... (nset pairs), ndel, field, ... (ndel names)
-- An event applies only if its seq is greater than the task's version. Only a creating event
-- (enqueued) may create the hash: a later event for a missing task waits for a replay instead of
-- leaving a partial task behind. Returns the number of events applied.
local base = KEYS[1]
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local TWO44 = 17592186044416
local SETS = { 'ready', 'delayed', 'inflight', 'reserved', 'dlq', 'done' }
local i = 3
local applied = 0
for _ = 1, n do
  local id, seq, target, create = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local nset = tonumber(ARGV[i + 4])
  local setFrom = i + 5
  i = setFrom + 2 * nset
  local ndel = tonumber(ARGV[i])
  local delFrom = i + 1
  i = delFrom + ndel
  local key = base .. 't:' .. id
  local version = redis.call('HGET', key, 'v')
  local ok
  if version then ok = tonumber(version) < seq else ok = (create == '1') end
  if ok then
    redis.call('HSET', key, 'v', seq, unpack(ARGV, setFrom, setFrom + 2 * nset - 1))
    if ndel > 0 then redis.call('HDEL', key, unpack(ARGV, delFrom, delFrom + ndel - 1)) end
    if target ~= 'keep' then
      for _, set in ipairs(SETS) do redis.call('ZREM', base .. set, id) end
      if target == 'pending' then
        local f = redis.call('HMGET', key, 'r', 'p', 'rs')
        local runAt = tonumber(f[1])
        if runAt and runAt > now then
          redis.call('ZADD', base .. 'delayed', runAt, id)
        else
          redis.call('ZADD', base .. 'ready', (9 - tonumber(f[2])) * TWO44 + tonumber(f[3]), id)
        end
      elseif target == 'inflight' then
        redis.call('ZADD', base .. 'inflight', tonumber(redis.call('HGET', key, 'l')), id)
      else
        redis.call('ZADD', base .. target, tonumber(redis.call('HGET', key, 'ua')), id)
      end
    end
    applied = applied + 1
  end
end
return applied
