import { describe, it, expect } from 'vitest';
import { decide, evolve, foldEvents } from '../../src/actors/task.decider.js';
import { ABSENT_SNAPSHOT } from '../../src/actors/task.types.js';
import type { BackoffSettings, Decision, TaskIntent, TaskSnapshot } from '../../src/actors/task.types.js';
import { EVENT_SCHEMA_VERSION } from '../../src/events/task-event.schema.js';
import type {
  StoredTaskEvent,
  TaskEvent,
  TaskEventData,
  TaskEventType,
} from '../../src/events/task-event.schema.js';
import { isCodeqError } from '../../src/errors.js';

const T0 = 1_700_000_000_000;
const LEASE = 30_000;
const FIXED_10S: BackoffSettings = { policy: 'fixed', baseSeconds: 10, maxSeconds: 60 };

let seq = 0;
/** A stored event as the log would hold it. */
function e<T extends TaskEventType>(type: T, at: number, data: TaskEventData<T>): StoredTaskEvent {
  seq += 1;
  return { v: 1, type, taskId: 't1', command: 'build', at, actor: 'test', data, seq } as StoredTaskEvent;
}
const enqueued = (at = T0, maxAttempts = 3, runAt?: number) =>
  e('enqueued', at, {
    payload: { n: 1 },
    priority: 5,
    maxAttempts,
    ...(runAt === undefined ? {} : { runAt }),
  });
const claimed = (at: number, workerId: string, attempts: number) =>
  e('claimed', at, { workerId, leaseUntil: at + LEASE, attempts });
const nacked = (at: number, workerId: string, delayMs = 10_000) =>
  e('nacked', at, { workerId, delayMs, runAt: at + delayMs });

function given(...events: StoredTaskEvent[]): TaskSnapshot {
  return foldEvents(events);
}
function when(snapshot: TaskSnapshot, intent: TaskIntent, now: number, backoff = FIXED_10S): Decision {
  return decide(snapshot, intent, {
    taskId: 't1',
    command: 'build',
    actor: 'w-actor',
    now,
    backoff,
    random: () => 0,
  });
}
/** The events of an accepted decision, without the envelope. */
function thenEvents(decision: Decision): Pick<TaskEvent, 'type' | 'data'>[] {
  if (!decision.ok) throw new Error(`refused: ${decision.code} ${decision.message}`);
  return decision.events.map(({ type, data }) => ({ type, data }) as Pick<TaskEvent, 'type' | 'data'>);
}
function thenRefused(decision: Decision): { code: string; message: string } {
  if (decision.ok) throw new Error(`accepted: ${JSON.stringify(decision.events)}`);
  return { code: decision.code, message: decision.message };
}

describe('decide: full lifecycle', () => {
  it('enqueue, claim, heartbeat, complete', () => {
    const d1 = when(
      ABSENT_SNAPSHOT,
      { type: 'enqueue', data: { payload: 'x', priority: 1, maxAttempts: 3 } },
      T0,
    );
    expect(d1.ok && d1.events[0]).toEqual({
      v: EVENT_SCHEMA_VERSION,
      type: 'enqueued',
      taskId: 't1',
      command: 'build',
      at: T0,
      actor: 'w-actor',
      data: { payload: 'x', priority: 1, maxAttempts: 3 },
    });
    const pending = d1.ok ? d1.next : ABSENT_SNAPSHOT;
    expect(pending).toEqual({ status: 'pending', attempts: 0, maxAttempts: 3, version: 0 });

    const d2 = when(pending, { type: 'claim', workerId: 'w1', leaseMs: LEASE }, T0 + 1);
    expect(thenEvents(d2)).toEqual([
      { type: 'claimed', data: { workerId: 'w1', leaseUntil: T0 + 1 + LEASE, attempts: 1 } },
    ]);
    const running = d2.ok ? d2.next : pending;
    expect(running).toMatchObject({
      status: 'inProgress',
      attempts: 1,
      workerId: 'w1',
      leaseUntil: T0 + 1 + LEASE,
    });

    const d3 = when(running, { type: 'heartbeat', workerId: 'w1', extendMs: 60_000 }, T0 + 2);
    expect(thenEvents(d3)).toEqual([
      { type: 'heartbeat', data: { workerId: 'w1', leaseUntil: T0 + 2 + 60_000 } },
    ]);
    const extended = d3.ok ? d3.next : running;
    expect(extended.leaseUntil).toBe(T0 + 60_002);

    const d4 = when(extended, { type: 'complete', workerId: 'w1', result: { ok: 1 } }, T0 + 40_000);
    expect(thenEvents(d4)).toEqual([{ type: 'completed', data: { workerId: 'w1', result: { ok: 1 } } }]);
    expect(d4.ok && d4.next).toEqual({ status: 'completed', attempts: 1, maxAttempts: 3, version: 0 });
  });

  it('omits optional fields that were not given', () => {
    const s = given(enqueued(), claimed(T0, 'w1', 1));
    const nack = thenEvents(when(s, { type: 'nack', workerId: 'w1', reason: undefined }, T0 + 1));
    expect(Object.keys(nack[0]!.data)).toEqual(['workerId', 'delayMs', 'runAt']);
    const fail = thenEvents(
      when(s, { type: 'fail', workerId: 'w1', error: 'boom', artifacts: undefined }, T0 + 1),
    );
    expect(fail).toEqual([{ type: 'failed', data: { workerId: 'w1', error: 'boom' } }]);
    const enq = thenEvents(
      when(
        ABSENT_SNAPSHOT,
        { type: 'enqueue', data: { payload: 1, priority: 0, maxAttempts: 1, runAt: undefined } },
        T0,
      ),
    );
    expect('runAt' in enq[0]!.data).toBe(false);
    expect(thenEvents(when(given(enqueued()), { type: 'cancel' }, T0))).toEqual([
      { type: 'cancelled', data: {} },
    ]);
  });

  it('fail with artifacts is terminal', () => {
    const s = given(enqueued(), claimed(T0, 'w1', 1));
    const artifacts = [{ name: 'log.txt', url: 'https://x/log' }];
    const d = when(s, { type: 'fail', workerId: 'w1', error: 'bad input', artifacts }, T0 + 5);
    expect(thenEvents(d)).toEqual([
      { type: 'failed', data: { workerId: 'w1', error: 'bad input', artifacts } },
    ]);
    expect(d.ok && d.next.status).toBe('failed');
  });
});

describe('decide: refusals', () => {
  it('NOT_FOUND for any intent on an absent task', () => {
    for (const intent of [
      { type: 'claim', workerId: 'w', leaseMs: 1 },
      { type: 'complete', workerId: 'w', result: null },
      { type: 'cancel' },
      { type: 'requeue' },
      { type: 'expireLease' },
    ] as TaskIntent[]) {
      expect(thenRefused(when(ABSENT_SNAPSHOT, intent, T0)).code).toBe('NOT_FOUND');
    }
  });

  it('WRONG_STATE with codeQ wording', () => {
    const pending = given(enqueued());
    expect(thenRefused(when(pending, { type: 'complete', workerId: 'w', result: 1 }, T0))).toEqual({
      code: 'WRONG_STATE',
      message: 'not-in-progress',
    });
    expect(thenRefused(when(pending, { type: 'nack', workerId: 'w' }, T0)).message).toBe('not-in-progress');
    expect(thenRefused(when(pending, { type: 'requeue' }, T0))).toEqual({
      code: 'WRONG_STATE',
      message: 'not dead-lettered',
    });
    const running = given(enqueued(), claimed(T0, 'w1', 1));
    expect(thenRefused(when(running, { type: 'claim', workerId: 'w2', leaseMs: 1 }, T0)).message).toBe(
      'not pending',
    );
    expect(
      thenRefused(when(pending, { type: 'enqueue', data: { payload: 1, priority: 0, maxAttempts: 1 } }, T0))
        .code,
    ).toBe('WRONG_STATE');
  });

  it('WRONG_STATE wins over ownership, NOT_OWNER over an expired lease', () => {
    const done = given(
      enqueued(),
      claimed(T0, 'w1', 1),
      e('completed', T0 + 1, { workerId: 'w1', result: 1 }),
    );
    expect(thenRefused(when(done, { type: 'complete', workerId: 'w2', result: 1 }, T0 + 2)).code).toBe(
      'WRONG_STATE',
    );
    const running = given(enqueued(), claimed(T0, 'w1', 1));
    const late = T0 + LEASE + 1;
    expect(thenRefused(when(running, { type: 'complete', workerId: 'w2', result: 1 }, late)).code).toBe(
      'NOT_OWNER',
    );
    expect(thenRefused(when(running, { type: 'heartbeat', workerId: 'w2', extendMs: 1 }, T0)).code).toBe(
      'NOT_OWNER',
    );
    expect(thenRefused(when(running, { type: 'abandon', workerId: 'w2' }, T0)).code).toBe('NOT_OWNER');
  });

  it('LEASE_EXPIRED after the deadline, accepted exactly at it', () => {
    const running = given(enqueued(), claimed(T0, 'w1', 1));
    const deadline = T0 + LEASE;
    expect(when(running, { type: 'heartbeat', workerId: 'w1', extendMs: 1000 }, deadline).ok).toBe(true);
    for (const intent of [
      { type: 'heartbeat', workerId: 'w1', extendMs: 1000 },
      { type: 'complete', workerId: 'w1', result: 1 },
      { type: 'fail', workerId: 'w1', error: 'x' },
      { type: 'nack', workerId: 'w1' },
      { type: 'abandon', workerId: 'w1' },
    ] as TaskIntent[]) {
      expect(thenRefused(when(running, intent, deadline + 1))).toEqual({
        code: 'LEASE_EXPIRED',
        message: 'lease expired',
      });
    }
  });

  it('expireLease is refused while the lease runs', () => {
    const running = given(enqueued(), claimed(T0, 'w1', 1));
    expect(thenRefused(when(running, { type: 'expireLease' }, T0 + LEASE - 1))).toEqual({
      code: 'WRONG_STATE',
      message: 'lease still active',
    });
  });
});

describe('decide: retries and the DLQ', () => {
  it('nack retries with backoff until the maxAttempts-th delivery, then dead-letters', () => {
    let s = given(enqueued(T0, 3));
    let now = T0;
    for (let delivery = 1; delivery <= 3; delivery++) {
      const claim = when(s, { type: 'claim', workerId: 'w1', leaseMs: LEASE }, now);
      expect(claim.ok && claim.next.attempts).toBe(delivery);
      s = claim.ok ? claim.next : s;
      const nack = when(s, { type: 'nack', workerId: 'w1', reason: 'flaky' }, now + 1);
      if (delivery < 3) {
        expect(thenEvents(nack)).toEqual([
          { type: 'nacked', data: { workerId: 'w1', reason: 'flaky', delayMs: 10_000, runAt: now + 10_001 } },
        ]);
        expect(nack.ok && nack.next).toMatchObject({ status: 'pending', runAt: now + 10_001 });
        now += 10_001;
      } else {
        expect(thenEvents(nack)).toEqual([
          { type: 'dlq', data: { cause: 'nack', workerId: 'w1', reason: 'flaky' } },
        ]);
        expect(nack.ok && nack.next).toEqual({
          status: 'deadLettered',
          attempts: 3,
          maxAttempts: 3,
          version: s.version,
        });
      }
      s = nack.ok ? nack.next : s;
    }
  });

  it('lease expiry retries like a nack, then dead-letters after maxAttempts deliveries', () => {
    const first = given(enqueued(T0, 2), claimed(T0, 'w1', 1));
    const d1 = when(first, { type: 'expireLease' }, T0 + LEASE);
    expect(thenEvents(d1)).toEqual([
      { type: 'leaseExpired', data: { workerId: 'w1', delayMs: 10_000, runAt: T0 + LEASE + 10_000 } },
    ]);
    const second = given(
      enqueued(T0, 2),
      claimed(T0, 'w1', 1),
      e('leaseExpired', T0 + LEASE, { workerId: 'w1', delayMs: 0, runAt: T0 + LEASE }),
      claimed(T0 + LEASE, 'w2', 2),
    );
    const d2 = when(second, { type: 'expireLease' }, T0 + 2 * LEASE + 5);
    expect(thenEvents(d2)).toEqual([
      { type: 'dlq', data: { cause: 'leaseExpired', workerId: 'w2', reason: 'LEASE_EXPIRED' } },
    ]);
  });

  it('a nack delay override wins, capped at the max', () => {
    const s = given(enqueued(), claimed(T0, 'w1', 1));
    expect(
      thenEvents(when(s, { type: 'nack', workerId: 'w1', delayOverrideSeconds: 2 }, T0))[0]!.data,
    ).toMatchObject({
      delayMs: 2000,
      runAt: T0 + 2000,
    });
    expect(
      thenEvents(when(s, { type: 'nack', workerId: 'w1', delayOverrideSeconds: 999 }, T0))[0]!.data,
    ).toMatchObject({
      delayMs: 60_000,
    });
  });

  it('uses the backoff policy with a = attempts so far', () => {
    const s = given(enqueued(T0, 9), claimed(T0, 'w1', 1), nacked(T0, 'w1', 0), claimed(T0 + 1, 'w1', 2));
    const exp = { policy: 'exponential', baseSeconds: 5, maxSeconds: 900 } as const;
    expect(thenEvents(when(s, { type: 'nack', workerId: 'w1' }, T0 + 2, exp))[0]!.data).toMatchObject({
      delayMs: 20_000,
    });
  });

  it('abandon keeps attempts and makes the task claimable at once', () => {
    const s = given(enqueued(), claimed(T0, 'w1', 1));
    const d = when(s, { type: 'abandon', workerId: 'w1' }, T0 + 5);
    expect(thenEvents(d)).toEqual([{ type: 'abandoned', data: { workerId: 'w1' } }]);
    expect(d.ok && d.next).toEqual({ status: 'pending', attempts: 1, maxAttempts: 3, version: s.version });
    const again = d.ok ? when(d.next, { type: 'claim', workerId: 'w2', leaseMs: LEASE }, T0 + 6) : d;
    expect(thenEvents(again)[0]!.data).toMatchObject({ workerId: 'w2', attempts: 2 });
  });

  it('requeue resets attempts of a dead-lettered task only', () => {
    const dead = given(
      enqueued(T0, 1),
      claimed(T0, 'w1', 1),
      e('dlq', T0 + 1, { cause: 'nack', workerId: 'w1' }),
    );
    const d = when(dead, { type: 'requeue' }, T0 + 2);
    expect(thenEvents(d)).toEqual([{ type: 'requeued', data: {} }]);
    expect(d.ok && d.next).toEqual({ status: 'pending', attempts: 0, maxAttempts: 1, version: dead.version });
    expect(thenRefused(when(given(enqueued()), { type: 'requeue' }, T0)).code).toBe('WRONG_STATE');
  });

  it('delete: a dead-lettered task only, leaving it absent (the event is the audit)', () => {
    const dead = given(
      enqueued(T0, 1),
      claimed(T0, 'w1', 1),
      e('dlq', T0 + 1, { cause: 'nack', workerId: 'w1' }),
    );
    const d = when(dead, { type: 'delete', reason: 'poison' }, T0 + 2);
    expect(thenEvents(d)).toEqual([{ type: 'deleted', data: { reason: 'poison' } }]);
    expect(d.ok && d.next.status).toBe('absent');
    expect(thenEvents(when(dead, { type: 'delete' }, T0 + 2))).toEqual([{ type: 'deleted', data: {} }]);
    for (const live of [given(enqueued()), given(enqueued(T0, 1), claimed(T0, 'w1', 1))])
      expect(thenRefused(when(live, { type: 'delete' }, T0)).code).toBe('WRONG_STATE');
    // Deleted, it is gone: deleting again is refused like any intent on an absent task.
    if (d.ok) expect(thenRefused(when(d.next, { type: 'delete' }, T0 + 3)).code).toBe('NOT_FOUND');
  });

  it('cancel a pending or a running task, not a finished one', () => {
    expect(thenEvents(when(given(enqueued()), { type: 'cancel', reason: 'dup' }, T0))).toEqual([
      { type: 'cancelled', data: { reason: 'dup' } },
    ]);
    const dead = given(
      enqueued(T0, 1),
      claimed(T0, 'w1', 1),
      e('dlq', T0 + 1, { cause: 'nack', workerId: 'w1' }),
    );
    expect(thenRefused(when(dead, { type: 'cancel' }, T0)).message).toBe('not pending and not-in-progress');
  });

  it('cancel of a running task: it ends cancelled, and its worker is told so from then on', () => {
    const running = given(enqueued(), claimed(T0, 'w1', 1));
    const d = when(running, { type: 'cancel', reason: 'stop', operationId: 'op-1' }, T0 + 5);
    expect(thenEvents(d)).toEqual([{ type: 'cancelled', data: { reason: 'stop', operationId: 'op-1' } }]);
    expect(d.ok && d.next).toEqual({
      status: 'cancelled',
      attempts: 1,
      maxAttempts: 3,
      version: running.version,
    });
    const cancelled = given(enqueued(), claimed(T0, 'w1', 1), e('cancelled', T0 + 5, {}));
    const refusal = { code: 'TASK_CANCELLED', message: 'cancelled' };
    for (const intent of [
      { type: 'heartbeat', workerId: 'w1', extendMs: 1000 },
      { type: 'progress', workerId: 'w1', progress: 50 },
      { type: 'complete', workerId: 'w1', result: 1 },
      { type: 'fail', workerId: 'w1', error: 'x' },
      { type: 'nack', workerId: 'w1' },
      { type: 'abandon', workerId: 'w1' },
      { type: 'cancel' },
    ] as TaskIntent[]) {
      expect(thenRefused(when(cancelled, intent, T0 + 6))).toEqual(refusal);
    }
  });

  it('progress: the lease holder within its lease; the lease does not move', () => {
    const running = given(enqueued(), claimed(T0, 'w1', 1));
    const d = when(
      running,
      { type: 'progress', workerId: 'w1', progress: 12.5, data: { step: 'b' } },
      T0 + 1,
    );
    expect(thenEvents(d)).toEqual([
      { type: 'progressed', data: { workerId: 'w1', progress: 12.5, data: { step: 'b' } } },
    ]);
    expect(d.ok && d.next).toEqual(running);
    expect(thenEvents(when(running, { type: 'progress', workerId: 'w1', progress: 0 }, T0 + 1))).toEqual([
      { type: 'progressed', data: { workerId: 'w1', progress: 0 } },
    ]);
    expect(thenRefused(when(running, { type: 'progress', workerId: 'w2', progress: 1 }, T0 + 1)).code).toBe(
      'NOT_OWNER',
    );
    expect(
      thenRefused(when(running, { type: 'progress', workerId: 'w1', progress: 1 }, T0 + LEASE + 1)).code,
    ).toBe('LEASE_EXPIRED');
    expect(
      thenRefused(when(given(enqueued()), { type: 'progress', workerId: 'w1', progress: 1 }, T0)),
    ).toEqual({
      code: 'WRONG_STATE',
      message: 'not-in-progress',
    });
  });

  it('claim not before runAt', () => {
    const delayed = given(enqueued(T0, 3, T0 + 5000));
    expect(thenRefused(when(delayed, { type: 'claim', workerId: 'w1', leaseMs: LEASE }, T0 + 4999))).toEqual({
      code: 'WRONG_STATE',
      message: 'not due',
    });
    expect(when(delayed, { type: 'claim', workerId: 'w1', leaseMs: LEASE }, T0 + 5000).ok).toBe(true);
  });
});

describe('evolve / foldEvents', () => {
  it('tracks the version from seq', () => {
    const events = [enqueued(), claimed(T0, 'w1', 1)];
    expect(foldEvents(events).version).toBe(events[1]!.seq);
    const pending = given(enqueued());
    const { seq: _seq, ...unstored } = claimed(T0, 'w1', 1);
    expect(evolve(pending, unstored as TaskEvent).version).toBe(pending.version);
  });

  const corrupt: Record<string, () => StoredTaskEvent[]> = {
    'completed without claim': () => [enqueued(), e('completed', T0, { workerId: 'w1', result: 1 })],
    'two terminal events': () => [
      enqueued(),
      claimed(T0, 'w1', 1),
      e('completed', T0 + 1, { workerId: 'w1', result: 1 }),
      e('failed', T0 + 2, { workerId: 'w1', error: 'x' }),
    ],
    'claimed twice without release': () => [enqueued(), claimed(T0, 'w1', 1), claimed(T0 + 1, 'w2', 2)],
    'events before enqueued': () => [claimed(T0, 'w1', 1)],
    'enqueued twice': () => [enqueued(), enqueued()],
    'attempts skipped': () => [enqueued(), claimed(T0, 'w1', 2)],
    'dlq with attempts left': () => [
      enqueued(),
      claimed(T0, 'w1', 1),
      e('dlq', T0, { cause: 'nack', workerId: 'w1' }),
    ],
    'nack by a stranger': () => [enqueued(), claimed(T0, 'w1', 1), nacked(T0 + 1, 'w2')],
    'claimed before runAt': () => [enqueued(T0, 3, T0 + 100), claimed(T0 + 99, 'w1', 1)],
  };
  for (const [name, history] of Object.entries(corrupt)) {
    it(`rejects a corrupt history: ${name}`, () => {
      let error: unknown;
      try {
        foldEvents(history());
      } catch (err) {
        error = err;
      }
      expect(isCodeqError(error, 'CORRUPT_EVENT')).toBe(true);
    });
  }
});

describe('rateLimited: a give-back that spends no attempt', () => {
  it('is accepted at the last attempt, gives the delivery back and waits retryAfterSeconds', () => {
    const lastAttempt = given(enqueued(T0, 1), claimed(T0, 'w1', 1));
    expect(
      thenEvents(when(lastAttempt, { type: 'rateLimited', workerId: 'w1', retryAfterSeconds: 2 }, T0 + 10)),
    ).toEqual([
      { type: 'rateLimited', data: { workerId: 'w1', delayMs: 2000, runAt: T0 + 2010, attempts: 0 } },
    ]);
    // Without retryAfterSeconds the backoff decides; a nack at the same point would dead-letter.
    expect(
      thenEvents(when(lastAttempt, { type: 'rateLimited', workerId: 'w1' }, T0 + 10))[0]!.data,
    ).toMatchObject({
      delayMs: 10_000,
      attempts: 0,
    });
    expect(thenEvents(when(lastAttempt, { type: 'nack', workerId: 'w1' }, T0 + 10))[0]!.type).toBe('dlq');
    // Another worker, or a lapsed lease, may not.
    expect(thenRefused(when(lastAttempt, { type: 'rateLimited', workerId: 'w2' }, T0 + 10)).code).toBe(
      'NOT_OWNER',
    );
    expect(thenRefused(when(lastAttempt, { type: 'rateLimited', workerId: 'w1' }, T0 + LEASE + 1)).code).toBe(
      'LEASE_EXPIRED',
    );
  });
});
