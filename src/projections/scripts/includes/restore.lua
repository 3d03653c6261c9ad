-- Puts an existing task back into its state's index when it sits in none (rebuild only).
local function restore(id, key, state)
  if state == 'pending' or state == 'inProgress' then
    local oa = oldest(key)
    if oa and not redis.call('ZSCORE', base .. 'age', id) then add('age', oa, id) end
  end
  if not redis.call('ZSCORE', base .. 'created', id) then add('created', redis.call('HGET', key, 'ca'), id) end
  local g = redis.call('HGET', key, 'g')
  if state == 'pending' then
    if redis.call('ZSCORE', base .. (g and ('gr:' .. g) or 'ready'), id) or redis.call('ZSCORE', base .. 'delayed', id)
      or redis.call('ZSCORE', base .. 'reserved', id) then return end
    local f = redis.call('HMGET', key, 'r', 'p', 'rs')
    pend(id, f[1], f[2], f[3], nil, g)
  elseif state == 'inProgress' then
    if not redis.call('ZSCORE', base .. 'inflight', id) then
      add('inflight', redis.call('HGET', key, 'l'), id)
      if g then countLeased(g, 1) end
    end
  elseif state then
    local set = (state == 'deadLettered') and 'dlq' or 'done'
    if not redis.call('ZSCORE', base .. set, id) then
      local f = redis.call('HMGET', key, 'ua', 'ca')
      add(set, f[1] or f[2], id)
    end
  end
end
