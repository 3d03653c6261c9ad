-- One step of a projection flush (before a rebuild): scans from a cursor and deletes the keys of
-- this deployment found, except its leader locks, without sending them to the client and back.
-- KEYS: none (declared with no keys). ARGV[1]: SCAN cursor; ARGV[2]: MATCH pattern ("<prefix>:*"); ARGV[3]: COUNT;
-- ARGV[4]: prefix of the keys to keep (the leader locks, "<prefix>:lock:").
-- Returns { next cursor, number of keys deleted }.
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]))
local keep = ARGV[4]
local doomed = {}
for _, key in ipairs(reply[2]) do
  if string.sub(key, 1, #keep) ~= keep then doomed[#doomed + 1] = key end
end
local deleted = 0
-- UNLINK in slices: Lua's unpack has a limit on arguments.
for i = 1, #doomed, 1000 do
  deleted = deleted + redis.call('UNLINK', unpack(doomed, i, math.min(i + 999, #doomed)))
end
return { reply[1], deleted }
