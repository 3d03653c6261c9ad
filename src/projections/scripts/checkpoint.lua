-- Records the projector's progress: the last stream sequence applied, never moving backwards
-- (catch-ups and live applies may finish out of order).
-- KEYS[1]: the checkpoint key; ARGV[1]: the sequence.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
