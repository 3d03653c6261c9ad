import { describe, expect, it } from 'vitest';
import { decide, evolve, foldEvents } from '../../src/actors/task.decider.js';
import type { Decision, TaskIntent, TaskSnapshot } from '../../src/actors/task.types.js';
import type { StoredTaskEvent, TaskEventData, TaskEventType } from '../../src/events/task-event.schema.js';

const T0 = 1_700_000_000_000;
let seq = 0;
function e<T extends TaskEventType>(type: T, at: number, data: TaskEventData<T>): StoredTaskEvent {
  seq += 1;
  return { v: 1, type, taskId: 't1', command: 'build', at, actor: 'test', data, seq } as StoredTaskEvent;
}
const given = (...events: StoredTaskEvent[]): TaskSnapshot => foldEvents(events);
const when = (snapshot: TaskSnapshot, intent: TaskIntent, now: number): Decision =>
  decide(snapshot, intent, {
    taskId: 't1',
    command: 'build',
    actor: 'w1',
    now,
    backoff: { policy: 'fixed', baseSeconds: 1, maxSeconds: 1 },
  });
const enqueued = () => e('enqueued', T0, { payload: {}, priority: 0, maxAttempts: 5 });
const claimed = (at: number) => e('claimed', at, { workerId: 'w1', leaseUntil: at + 30_000, attempts: 1 });

describe('deadLetter (a worker rejects a task: do not retry)', () => {
  it('given a first delivery, when its owner dead-letters it, then dlq with cause rejected', () => {
    const snapshot = given(enqueued(), claimed(T0 + 10));
    const decision = when(snapshot, { type: 'deadLetter', workerId: 'w1', reason: 'bad input' }, T0 + 20);
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.events).toHaveLength(1);
    expect(decision.events[0]).toMatchObject({
      type: 'dlq',
      data: { cause: 'rejected', workerId: 'w1', reason: 'bad input' },
    });
    expect(evolve(snapshot, decision.events[0]!).status).toBe('deadLettered');
  });

  it('refuses another worker, an expired lease, and a task not in progress', () => {
    const snapshot = given(enqueued(), claimed(T0));
    expect(when(snapshot, { type: 'deadLetter', workerId: 'w2' }, T0 + 1)).toMatchObject({
      ok: false,
      code: 'NOT_OWNER',
    });
    expect(when(snapshot, { type: 'deadLetter', workerId: 'w1' }, T0 + 60_000)).toMatchObject({
      ok: false,
      code: 'LEASE_EXPIRED',
    });
    expect(when(given(enqueued()), { type: 'deadLetter', workerId: 'w1' }, T0)).toMatchObject({
      ok: false,
      code: 'WRONG_STATE',
    });
  });

  it('a history with a rejection by someone other than the owner is corrupt', () => {
    expect(() =>
      foldEvents([enqueued(), claimed(T0), e('dlq', T0 + 5, { cause: 'rejected', workerId: 'intruder' })]),
    ).toThrow(/CORRUPT|rejected|not accept/i);
  });
});
