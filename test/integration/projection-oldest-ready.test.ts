/**
 * `oldest-ready.lua` (the `codeq_queue_oldest_ready_age_seconds` gauge's read): when the
 * longest-waiting ready task became claimable, among the head of each priority's band, from
 * hand-written projection entries with known times.
 */
import { describe, expect, it } from 'vitest';
import { readyScore } from '../../src/projections/op-layout.js';
import { oldestReadySince } from '../../src/projections/ready-age.js';
import { useProjectionRedis } from '../support/projection-redis.js';

const p = useProjectionRedis('oldest-ready');

/** A ready task: its hash fields (`ua` updated, `ca` created, `r` due) and its ready-index entry. */
async function ready(
  command: string,
  id: string,
  priority: number,
  readySeq: number,
  fields: Record<string, number>,
) {
  const redis = p.redis();
  await redis.hset(p.keys.task(command, id), { s: 'pending', p: priority, rs: readySeq, ...fields });
  await redis.zadd(p.keys.ready(command), readyScore(priority, readySeq), id);
}

describe('oldest ready task per command', () => {
  it('takes the earliest claimable time among the heads of the priority bands', async () => {
    // Highest priority: the head (lowest readySeq) counts, not a later entry of the same band.
    await ready('A', 't1', 9, 10, { ca: 1000 });
    await ready('A', 't4', 9, 11, { ca: 50 });
    // Lowest priority, a readySeq far into the band: its update time (a nack, a requeue) counts.
    await ready('A', 't2', 0, 2 ** 40, { ca: 100, ua: 500 });
    // A due time after its last update (a backoff) counts instead.
    await ready('A', 't3', 5, 12, { ca: 2000, r: 300 });
    await ready('B', 'u1', 3, 7, { ca: 100, ua: 200, r: 5000 });
    const since = await oldestReadySince(p.redis(), p.keys, ['A', 'B', 'EMPTY']);
    expect(Object.fromEntries(since)).toEqual({ A: 500, B: 5000 });
  });

  it('answers an empty map for no commands', async () => {
    expect((await oldestReadySince(p.redis(), p.keys, [])).size).toBe(0);
  });
});
