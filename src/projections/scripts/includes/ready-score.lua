-- A ready task's score (op-layout.ts readyScore): priority first (9 claimed first), then FIFO by
-- the sequence that made it ready. Exact below 2^53. Takes numbers or decimal strings.
--- @include "constants"
local function readyScore(priority, readySeq)
  return (MAX_PRIORITY - tonumber(priority)) * PRIORITY_STEP + tonumber(readySeq)
end
