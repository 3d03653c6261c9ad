/**
 * apply.lua at the edges: its failure path (Redis does not roll a script back, so when an op fails
 * halfway the ops before it stay applied; their deferred index writes must still go out, or those
 * tasks would sit in no index while their version says they were applied), and an `enqueued` op that
 * meets an existing hash (already applied, a rebuild's reindex, an older hash of the same id).
 */
import { describe, expect, it } from 'vitest';
import { OP_FIELDS, readyScore } from '../../src/projections/op-layout.js';
import { useProjectionRedis } from '../support/projection-redis.js';

const { keys, redis } = useProjectionRedis('APPLY');
const now = Date.now();

/** The op of an `enqueued` event as event.projection.ts builds it (laid out by op-layout.ts). */
const enqueued = (id: string, seq: number, payload = '{}', runAt: string | null = null) => {
  const values: Record<string, string | null> = {
    priority: '0',
    maxAttempts: '3',
    payload,
    runAt,
    readyScore: String(readyScore(0, seq)),
  };
  const fields = OP_FIELDS.E.filter((f) => f !== 'reservedUntil');
  return [id, String(seq), 'E', String(now), ...fields.map((f) => values[f] ?? null)];
};
const apply = (command: string, reindex: 0 | 1, ops: unknown[]) =>
  redis().codeqApply(keys.commandBase(command), now, reindex, JSON.stringify(ops));

describe('apply.lua when an op fails halfway', () => {
  it('keeps the index entries of the ops applied before the failure', async () => {
    // The second op's due time is not a number: the script fails on it, after applying the first.
    await expect(
      apply('c', 0, [enqueued('ok', 1), enqueued('bad', 2, '{}', 'not-a-time')]),
    ).rejects.toThrow();
    expect(await redis().hget(keys.task('c', 'ok'), 'v')).toBe('1');
    expect(await redis().zrange(keys.ready('c'), '0', '-1')).toEqual(['ok']);
    expect(await redis().zscore(keys.age('c'), 'ok')).toBe(String(now));
  });
});

describe('apply.lua: an enqueued op over an existing hash', () => {
  it('skips an enqueue already applied and leaves the task as it is', async () => {
    expect(await apply('skip', 0, [enqueued('t1', 5, '{"first":1}')])).toBe(1);
    // A claim moved it on (seq 6); the same enqueue again (a catch-up overlapping a live apply).
    expect(await apply('skip', 0, [['t1', '6', 'C', String(now), '1', 'w', String(now + 60_000)]])).toBe(1);
    expect(await apply('skip', 0, [enqueued('t1', 5, '{"again":1}')])).toBe(0);
    expect(await redis().hmget(keys.task('skip', 't1'), 'v', 's', 'pl')).toEqual([
      '6',
      'inProgress',
      '{"first":1}',
    ]);
    expect(await redis().zrange(keys.ready('skip'), '0', '-1')).toEqual([]);
    expect(await redis().zrange(keys.inflight('skip'), '0', '-1')).toEqual(['t1']);
  });

  it("with reindex, puts back a skipped task's missing index entries (a rebuild racing a live writer)", async () => {
    expect(await apply('re', 0, [enqueued('t2', 7)])).toBe(1);
    // The flush's scan removed the index entries but not the hash (re-created behind it).
    await redis().del(keys.ready('re'), keys.age('re'));
    expect(await apply('re', 0, [enqueued('t2', 7)])).toBe(0);
    expect(await redis().zrange(keys.ready('re'), '0', '-1')).toEqual([]);
    expect(await apply('re', 1, [enqueued('t2', 7)])).toBe(0);
    expect(await redis().zrange(keys.ready('re'), '0', '-1', 'WITHSCORES')).toEqual([
      't2',
      String(readyScore(0, 7)),
    ]);
    expect(await redis().zscore(keys.age('re'), 't2')).toBe(String(now));
  });

  it('replaces an older hash of the same id and takes it out of its old index', async () => {
    expect(await apply('old', 0, [enqueued('t3', 2, '{"old":1}')])).toBe(1);
    expect(await apply('old', 0, [['t3', '3', 'C', String(now), '1', 'w', String(now + 60_000)]])).toBe(1);
    expect(await apply('old', 0, [enqueued('t3', 9, '{"new":1}')])).toBe(1);
    expect(await redis().hgetall(keys.task('old', 't3'))).toEqual({
      v: '9',
      s: 'pending',
      m: '3',
      p: '0',
      rs: '9',
      pl: '{"new":1}',
      ca: String(now),
    });
    expect(await redis().zrange(keys.inflight('old'), '0', '-1')).toEqual([]);
    expect(await redis().zrange(keys.ready('old'), '0', '-1')).toEqual(['t3']);
  });
});
