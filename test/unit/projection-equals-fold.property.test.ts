/**
 * The projection equals the fold: for random valid task histories (the decider driven by random
 * commands), the task `apply.lua` leaves in a real Redis, read back, is the TypeScript view evolve's
 * fold of the same events, field by field, and sits in exactly the index its state calls for, with
 * the score the fold gives. Batches are split at random (apply.lua defers index writes within one
 * call), a replay changes nothing, and a rolled-up history (from its last snapshot on, as a rebuild
 * reads it) restores the same task.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { applyEvents } from '../../src/projections/apply-events.js';
import { FIELD } from '../../src/projections/event.projection.js';
import { readyScore } from '../../src/projections/op-layout.js';
import { recordFromHash } from '../../src/projections/task-record.js';
import { foldTaskRecord, type TaskRecord } from '../../src/projections/task-view.evolve.js';
import { usePrivateRedis, useProjectionRedis } from '../support/projection-redis.js';
import { historyOf, historyPlan } from '../support/task-histories.js';

// A unit test with its own redis-server: the Lua is the code under test, and Redis runs it.
const { keys, redis } = useProjectionRedis('FOLD', usePrivateRedis());
const COMMAND = 'fold';
const INDEXES = ['ready', 'delayed', 'reserved', 'inflight', 'done', 'dlq', 'age'] as const;
const HASH_FIELDS: ReadonlySet<string> = new Set(Object.values(FIELD));
let nextTask = 0;

/** Applies `events` in batches of `chunk`, as the projector or the write path would. */
async function applyInChunks(
  events: readonly StoredTaskEvent[],
  chunk: number,
  now: number,
): Promise<number> {
  let applied = 0;
  for (let i = 0; i < events.length; i += chunk) {
    applied += await applyEvents(redis(), keys, 86_400_000, events.slice(i, i + chunk), now);
  }
  return applied;
}

/** The index entries (index → score) the fold says the task has after an apply at `now`. */
function expectedIndexes(record: TaskRecord, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  switch (record.state) {
    case 'pending':
      if (record.runAt !== undefined && record.runAt > now) out.delayed = String(record.runAt);
      else out.ready = String(readyScore(record.priority, record.readySeq));
      out.age = String(record.oldestEventAt);
      break;
    case 'inProgress':
      out.inflight = String(record.leaseUntil);
      out.age = String(record.oldestEventAt);
      break;
    case 'deadLettered':
      out.dlq = String(record.updatedAt);
      break;
    default:
      out.done = String(record.updatedAt);
  }
  return out;
}

/** The task as Redis holds it: its hash, decoded, and its index entries. */
async function readBack(
  taskId: string,
): Promise<{ record: TaskRecord; fields: string[]; indexes: Record<string, string> }> {
  const hash = await redis().hgetall(keys.task(COMMAND, taskId));
  const indexes: Record<string, string> = {};
  const base = keys.commandBase(COMMAND);
  for (const index of INDEXES) {
    // A grouped task is ready in its group's set, which stands for `ready` here.
    const key = index === 'ready' && hash.g !== undefined ? `gr:${hash.g}` : index;
    const score = await redis().zscore(`${base}${key}`, taskId);
    if (score !== null) indexes[index] = score;
  }
  return { record: recordFromHash(hash), fields: Object.keys(hash).sort(), indexes };
}

describe('the projection equals the fold', () => {
  it('for random histories: the task read back from Redis is the view evolve fold, in the right index', async () => {
    await fc.assert(
      fc.asyncProperty(historyPlan(), fc.integer({ min: 1, max: 6 }), async (plan, chunk) => {
        const taskId = `t${nextTask++}`;
        const history = historyOf(plan, taskId, COMMAND);
        const now = history.now;
        // A group of its own per task, so the group's counters are this task's alone.
        const events = history.events.map((e) =>
          (e.type === 'enqueued' || e.type === 'snapshot') && e.data.groupKey !== undefined
            ? ({ ...e, data: { ...e.data, groupKey: `${e.data.groupKey}.${taskId}` } } as StoredTaskEvent)
            : e,
        );
        const fold = foldTaskRecord(events) as TaskRecord;

        expect(await applyInChunks(events, chunk, now)).toBe(events.length);
        const stored = await readBack(taskId);
        expect(stored.record).toEqual(fold);
        expect(stored.fields.filter((f) => !HASH_FIELDS.has(f))).toEqual([]);
        expect(stored.indexes).toEqual(expectedIndexes(fold, now));
        if (fold.groupKey !== undefined) {
          // Its group counts it as ready or leased exactly when it is (the limits rely on this).
          const base = keys.commandBase(COMMAND);
          const [ready, leased] = await Promise.all([
            redis().hget(`${base}grn`, fold.groupKey),
            redis().hget(`${base}gc`, fold.groupKey),
          ]);
          expect(Number(ready ?? 0)).toBe(stored.indexes.ready === undefined ? 0 : 1);
          expect(Number(leased ?? 0)).toBe(fold.state === 'inProgress' ? 1 : 0);
        }

        // A replay (the projector catching up over a live apply) changes nothing.
        expect(await applyInChunks(events, events.length, now)).toBe(0);
        expect(await readBack(taskId)).toEqual(stored);

        // After a rollup the log holds the last snapshot and what follows: a rebuild restores the same task.
        const last = events.findLastIndex((e) => e.type === 'snapshot');
        if (last >= 0) {
          const rolledUpId = `${taskId}r`;
          const rolledUp = events.slice(last).map((e) => ({ ...e, taskId: rolledUpId }));
          await applyInChunks(rolledUp, chunk, now);
          // The same task, though not the same fields: a restore writes what readers would default.
          const restored = await readBack(rolledUpId);
          expect([restored.record, restored.indexes]).toEqual([stored.record, stored.indexes]);
        }
      }),
      { numRuns: 150 },
    );
  });
});
