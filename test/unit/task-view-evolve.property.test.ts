/**
 * The stored view's evolve (`task-view.evolve.ts`) against the decider's fold: the lifecycle fields
 * agree after every event of random valid histories, the hash encoding round-trips, and a rolled-up
 * history (a snapshot and what follows) folds to the same view as the whole one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evolve, taskDecider } from '../../src/actors/task.decider.js';
import { ENTERS_PENDING } from '../../src/actors/task.transitions.js';
import { TERMINAL_STATUSES } from '../../src/actors/task.types.js';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { hashOfEnqueued, hashOfRecord, recordFromHash } from '../../src/projections/task-record.js';
import { evolveTaskRecord, foldTaskRecord, type TaskRecord } from '../../src/projections/task-view.evolve.js';
import { historyOf, historyPlan, type HistoryPlan } from '../support/task-histories.js';

describe('the task view evolve', () => {
  it('agrees with the decider fold on the lifecycle fields after every event', () => {
    fc.assert(
      fc.property(historyPlan(), (plan) => {
        const { events } = historyOf(plan, 't', 'c');
        let snapshot = taskDecider.initialState();
        let record: TaskRecord | undefined;
        for (const event of events) {
          snapshot = evolve(snapshot, event);
          record = evolveTaskRecord(record, event);
          expect(record.state).toBe(snapshot.status);
          expect(record.attempts).toBe(snapshot.attempts);
          expect(record.maxAttempts).toBe(snapshot.maxAttempts);
          expect(record.version).toBe(snapshot.version);
          // An error of an earlier delivery (a nack, a dead-letter redriven) is not a completed task's.
          if (record.state === 'completed') expect(record.error).toBeUndefined();
          if (TERMINAL_STATUSES.has(record.state)) {
            // A finished task keeps its last lease holder for the API; it has no due time.
            expect(record.runAt).toBeUndefined();
          } else {
            expect([record.workerId, record.leaseUntil, record.runAt]).toEqual([
              snapshot.workerId,
              snapshot.leaseUntil,
              snapshot.runAt,
            ]);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('shows no error for a task completed after nack → DLQ → redrive, and the DLQ reason before', () => {
    const step = (intent: HistoryPlan['steps'][number]['intent']) => ({ intent, advanceMs: 0, seqGap: 0 });
    const plan: HistoryPlan = {
      enqueue: { type: 'enqueue', data: { payload: null, priority: 0, maxAttempts: 1 } },
      steps: [
        step({ type: 'claim', workerId: 'w1', leaseMs: 60_000 }),
        step({ type: 'nack', workerId: 'w1', reason: 'boom' }),
        step({ type: 'requeue' }),
        step({ type: 'claim', workerId: 'w1', leaseMs: 60_000 }),
        step({ type: 'complete', workerId: 'w1', result: { ok: true } }),
      ],
      backoff: { policy: 'fixed', baseSeconds: 0, maxSeconds: 0 },
      random: 0,
    };
    const { events } = historyOf(plan, 't', 'c');
    expect(events.map((e) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'dlq',
      'requeued',
      'claimed',
      'completed',
    ]);
    expect(foldTaskRecord(events.slice(0, -1))?.error).toBe('boom');
    const done = foldTaskRecord(events)!;
    expect(done.state).toBe('completed');
    expect(done.error).toBeUndefined();
  });

  it('encodes to the task hash and back without loss', () => {
    fc.assert(
      fc.property(historyPlan(), (plan) => {
        const { events } = historyOf(plan, 't', 'c');
        let record: TaskRecord | undefined;
        for (const event of events) {
          record = evolveTaskRecord(record, event);
          expect(recordFromHash(hashOfRecord(record))).toEqual(record);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('folds a rolled-up history (from any snapshot on) to the same view as the whole history', () => {
    fc.assert(
      fc.property(historyPlan(), (plan) => {
        const { events } = historyOf(plan, 't', 'c');
        const whole = foldTaskRecord(events);
        events.forEach((event, i) => {
          if (event.type === 'snapshot') expect(foldTaskRecord(events.slice(i))).toEqual(whole);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('gives an enqueued task the hash apply.lua writes for it (what readers default left out)', () => {
    const event = {
      v: 1,
      type: 'enqueued',
      taskId: 't',
      command: 'c',
      at: 1_000,
      actor: 'p',
      seq: 42,
      data: { payload: { a: 1 }, priority: 3, maxAttempts: 5, runAt: 2_000, idempotencyKey: 'k' },
    } as StoredTaskEvent & { type: 'enqueued' };
    expect(hashOfEnqueued(event)).toEqual({
      v: '42',
      s: 'pending',
      m: '5',
      p: '3',
      rs: '42',
      pl: '{"a":1}',
      ca: '1000',
      r: '2000',
      ik: 'k',
    });
  });

  it('wakes claimers after exactly the events that always make a task pending', () => {
    expect([...ENTERS_PENDING].sort()).toEqual([
      'abandoned',
      'enqueued',
      'leaseExpired',
      'nacked',
      'rateLimited',
      'requeued',
    ]);
  });
});
