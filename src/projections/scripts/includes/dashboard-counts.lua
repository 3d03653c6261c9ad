-- The dashboard's figures, derived from the events like the rest of the projection (a rebuild's
-- replay writes them again): per-minute counts of enqueued ('e'), completed ('d') and failed ('f':
-- failed or dead-lettered) tasks in `mc:<minute>` hashes that expire two hours after their minute,
-- and the workers seen in `wk` (score: the last event of theirs). Gathered in tables and written
-- once per script call, so a batch of events costs a few calls whatever its size; events older
-- than two hours (a rebuild's replay of old history) are not counted.
-- Needs `base`, `now` and `add` (apply.lua).
local MINUTE_MS, KEEP_MS = 60000, 7200000
local minuteCounts, workersSeen = {}, {}
local function countMinute(field, at)
  local t = tonumber(at)
  if t < now - KEEP_MS then return end
  local m = math.floor(t / MINUTE_MS)
  local c = minuteCounts[m]
  if not c then c = {}; minuteCounts[m] = c end
  c[field] = (c[field] or 0) + 1
end
-- A worker's last event time; `worker` may be false (a task without a holder).
local function seenWorker(worker, at)
  if not worker or worker == NULL then return end
  local last = workersSeen[worker]
  if not last or tonumber(at) > tonumber(last) then workersSeen[worker] = at end
end
local function writeDashboardCounts()
  for m, c in pairs(minuteCounts) do
    local key = base .. 'mc:' .. string.format('%d', m)
    local first = false
    for field, n in pairs(c) do
      -- The hash's expiry is set by the write that creates a field (at most three per minute).
      if redis.call('HINCRBY', key, field, n) == n then first = true end
    end
    if first then redis.call('PEXPIREAT', key, string.format('%d', m * MINUTE_MS + KEEP_MS + MINUTE_MS)) end
  end
  local args = {}
  for worker, at in pairs(workersSeen) do
    args[#args + 1] = at
    args[#args + 1] = worker
  end
  -- GT: a replayed older event does not move a worker back.
  if #args > 0 then redis.call('ZADD', base .. 'wk', 'GT', unpack(args)) end
end
