-- When the longest-waiting ready task of one command became claimable, epoch ms (nil when nothing
-- is ready), for the `codeq_queue_oldest_ready_age_seconds` gauge. It looks at the task each
-- priority would hand out next (the head of each priority's band of the ready index, FIFO by the
-- sequence that made it ready): ten index reads and at most ten small HMGETs, whatever the backlog.
-- A task became claimable at the later of the event that made it pending (updated, else created)
-- and its due time (a backoff or a delayed enqueue).
-- Tasks with a group key wait in their group's ready set: the head of each of the next 20 groups in
-- the rotation is looked at too (not every group: a backlog over 10,000 keys stays cheap).
-- KEYS[1]: the command's key base ("<prefix>:{<command>}:")
--- @include "constants"
local base = KEYS[1]
local oldest = nil
local function consider(id)
  local f = redis.call('HMGET', base .. 't:' .. id, 'ua', 'ca', 'r')
  local since = tonumber(f[1] or f[2])
  if since then
    local due = tonumber(f[3])
    if due and due > since then since = due end
    if oldest == nil or since < oldest then oldest = since end
  end
end
local function heads(set)
  for band = 0, MAX_PRIORITY do
    -- %.0f: the band bounds reach 9 * 2^44, which tostring would round to 14 digits.
    local lo = string.format('%.0f', band * PRIORITY_STEP)
    local hi = string.format('(%.0f', (band + 1) * PRIORITY_STEP)
    local head = redis.call('ZRANGEBYSCORE', set, lo, hi, 'LIMIT', 0, 1)[1]
    if head then consider(head) end
  end
end
heads(base .. 'ready')
for _, g in ipairs(redis.call('ZRANGE', base .. 'gq', 0, 19)) do
  -- A group's own head is its best task; its oldest may sit in a lower priority band.
  heads(base .. 'gr:' .. g)
end
return oldest
