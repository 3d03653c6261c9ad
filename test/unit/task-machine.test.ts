import { describe, it, expect } from 'vitest';
import { createActor, getNextSnapshot } from 'xstate';
import { TASK_GUARDS, TASK_UPDATERS, taskMachine } from '../../src/actors/task.machine.js';
import type { TaskContext, TaskMachineEvent } from '../../src/actors/task.machine.js';
import { TASK_TRANSITIONS, step } from '../../src/actors/task.transitions.js';
import type { TaskStatus } from '../../src/actors/task.types.js';

const T0 = 1_000_000;
type Ev = TaskMachineEvent;
const ev = (type: Ev['type'], at: number, data: object): Ev => ({ type, at, actor: 'test', data }) as Ev;
const enqueued = (maxAttempts = 2, runAt?: number) =>
  ev('enqueued', T0, { payload: 1, priority: 0, maxAttempts, ...(runAt === undefined ? {} : { runAt }) });
const claimed = (at: number, workerId: string, attempts: number, leaseUntil = at + 100) =>
  ev('claimed', at, { workerId, leaseUntil, attempts });

/** Runs events through a real actor; returns its final state and context and which events it ignored. */
function run(...events: Ev[]): { value: string; context: TaskContext; ignored: string[] } {
  const actor = createActor(taskMachine).start();
  const ignored: string[] = [];
  for (const event of events) {
    const before = actor.getSnapshot();
    actor.send(event);
    if (actor.getSnapshot() === before) ignored.push(event.type);
  }
  const { value, context } = actor.getSnapshot();
  actor.stop();
  return { value: value as string, context, ignored };
}

describe('task machine (xstate itself)', () => {
  it('starts absent with no attempts', () => {
    expect(run()).toEqual({ value: 'absent', context: { attempts: 0, maxAttempts: 0 }, ignored: [] });
  });

  it('given enqueue, claim, heartbeat, complete: completed and final', () => {
    const r = run(
      enqueued(3),
      claimed(T0 + 1, 'w1', 1),
      ev('heartbeat', T0 + 50, { workerId: 'w1', leaseUntil: T0 + 500 }),
      ev('completed', T0 + 400, { workerId: 'w1', result: 1 }),
    );
    expect(r.value).toBe('completed');
    expect(r.ignored).toEqual([]);
    expect(r.context).toMatchObject({
      attempts: 1,
      maxAttempts: 3,
      workerId: undefined,
      leaseUntil: undefined,
    });
  });

  it('guards the claim on due time and on the next attempt number', () => {
    expect(run(enqueued(2, T0 + 10), claimed(T0 + 9, 'w1', 1)).ignored).toEqual(['claimed']);
    expect(run(enqueued(2, T0 + 10), claimed(T0 + 10, 'w1', 1)).value).toBe('inProgress');
    expect(run(enqueued(2), claimed(T0, 'w1', 2)).ignored).toEqual(['claimed']);
  });

  it('only the owner within its lease may heartbeat, nack, abandon, complete or fail', () => {
    const base = [enqueued(2), claimed(T0, 'w1', 1)];
    for (const type of ['heartbeat', 'abandoned', 'completed', 'failed'] as const) {
      const data = { workerId: 'w2', leaseUntil: T0 + 1000, result: 1, error: 'x' };
      expect(run(...base, ev(type, T0 + 1, data)).ignored).toEqual([type]);
      expect(run(...base, ev(type, T0 + 101, { ...data, workerId: 'w1' })).ignored).toEqual([type]);
      expect(run(...base, ev(type, T0 + 100, { ...data, workerId: 'w1' })).ignored).toEqual([]);
    }
  });

  it('nack and lease expiry retry while attempts are left, dlq only once exhausted', () => {
    const nack = ev('nacked', T0 + 1, { workerId: 'w1', delayMs: 5, runAt: T0 + 6 });
    expect(run(enqueued(2), claimed(T0, 'w1', 1), nack).context).toMatchObject({
      runAt: T0 + 6,
      attempts: 1,
    });
    expect(run(enqueued(1), claimed(T0, 'w1', 1), nack).ignored).toEqual(['nacked']);
    const dlqNack = ev('dlq', T0 + 1, { cause: 'nack', workerId: 'w1' });
    expect(run(enqueued(1), claimed(T0, 'w1', 1), dlqNack).value).toBe('deadLettered');
    expect(run(enqueued(2), claimed(T0, 'w1', 1), dlqNack).ignored).toEqual(['dlq']);
    const expired = ev('leaseExpired', T0 + 100, { workerId: 'w1', delayMs: 0, runAt: T0 + 100 });
    expect(run(enqueued(2), claimed(T0, 'w1', 1), expired).value).toBe('pending');
    expect(run(enqueued(2), claimed(T0, 'w1', 1), { ...expired, at: T0 + 99 }).ignored).toEqual([
      'leaseExpired',
    ]);
    const dlqExpiry = ev('dlq', T0 + 100, { cause: 'leaseExpired', workerId: 'w1' });
    expect(run(enqueued(1), claimed(T0, 'w1', 1), dlqExpiry).value).toBe('deadLettered');
    expect(run(enqueued(1), claimed(T0, 'w1', 1), { ...dlqExpiry, at: T0 + 99 }).ignored).toEqual(['dlq']);
  });

  it('requeue resets attempts; cancel from pending or in progress', () => {
    const dead = [enqueued(1), claimed(T0, 'w1', 1), ev('dlq', T0 + 1, { cause: 'nack', workerId: 'w1' })];
    const r = run(...dead, ev('requeued', T0 + 2, {}));
    expect(r.value).toBe('pending');
    expect(r.context.attempts).toBe(0);
    expect(run(...dead, ev('cancelled', T0 + 2, {})).ignored).toEqual(['cancelled']);
    expect(run(enqueued(), ev('cancelled', T0, {})).value).toBe('cancelled');
    const running = run(enqueued(), claimed(T0, 'w1', 1), ev('cancelled', T0 + 1, { operationId: 'op1' }));
    expect(running.value).toBe('cancelled');
    // The lease is gone: nothing the worker sends afterwards is taken.
    expect(running.context.workerId).toBeUndefined();
    const late = run(
      enqueued(),
      claimed(T0, 'w1', 1),
      ev('cancelled', T0 + 1, {}),
      ev('heartbeat', T0 + 2, { workerId: 'w1', leaseUntil: T0 + 50 }),
      ev('progressed', T0 + 2, { workerId: 'w1', progress: 5 }),
      ev('completed', T0 + 3, { workerId: 'w1', result: 1 }),
    );
    expect(late.value).toBe('cancelled');
    expect(late.ignored).toEqual(['heartbeat', 'progressed', 'completed']);
  });

  it('progress: only the lease holder within its lease, and the state and lease stay', () => {
    const base = [enqueued(), claimed(T0, 'w1', 1)];
    const r = run(...base, ev('progressed', T0 + 10, { workerId: 'w1', progress: 40, data: { step: 2 } }));
    expect(r.value).toBe('inProgress');
    expect(r.ignored).toEqual([]);
    expect(r.context.leaseUntil).toBe(T0 + 100);
    expect(run(...base, ev('progressed', T0 + 10, { workerId: 'w2', progress: 1 })).ignored).toEqual([
      'progressed',
    ]);
    expect(run(...base, ev('progressed', T0 + 101, { workerId: 'w1', progress: 1 })).ignored).toEqual([
      'progressed',
    ]);
    expect(run(enqueued(), ev('progressed', T0, { workerId: 'w1', progress: 1 })).ignored).toEqual([
      'progressed',
    ]);
  });

  it('terminal states accept nothing', () => {
    const done = [enqueued(1), claimed(T0, 'w1', 1), ev('failed', T0 + 1, { workerId: 'w1', error: 'x' })];
    const r = run(...done, ev('completed', T0 + 2, { workerId: 'w1', result: 1 }), ev('requeued', T0, {}));
    expect(r.value).toBe('failed');
    expect(r.ignored).toEqual(['completed', 'requeued']);
  });
});

describe('transition table derived from the machine', () => {
  it('has the machine states and the event types each accepts', () => {
    const accepted = Object.fromEntries(
      Object.entries(TASK_TRANSITIONS).map(([state, row]) => [state, Object.keys(row).sort()]),
    );
    expect(accepted).toEqual({
      // A snapshot (subject rollup) is a rolled-up task's first event, or a no-op on a live task.
      absent: ['enqueued', 'snapshot'],
      pending: ['cancelled', 'claimed', 'snapshot'],
      inProgress: [
        'abandoned',
        'cancelled',
        'completed',
        'dlq',
        'failed',
        'heartbeat',
        'leaseExpired',
        'nacked',
        'progressed',
        'rateLimited',
        'snapshot',
      ],
      // Terminal states record result callback outcomes (history only) and nothing else.
      completed: ['webhookDelivered', 'webhookGaveUp'],
      failed: ['webhookDelivered', 'webhookGaveUp'],
      deadLettered: ['deleted', 'requeued', 'webhookDelivered', 'webhookGaveUp'],
      cancelled: ['webhookDelivered', 'webhookGaveUp'],
    });
  });

  it('uses the very guard and updater functions registered with setup()', () => {
    const [nack] = TASK_TRANSITIONS.inProgress.nacked ?? [];
    expect(nack?.guards.map((g) => g.name)).toEqual(['attemptsLeft', 'isOwner', 'leaseActive']);
    expect(nack?.guards[1]?.check).toBe(TASK_GUARDS.isOwner);
    expect(nack?.updaters[0]?.update).toBe(TASK_UPDATERS.scheduleRetry);
    expect(nack?.target).toBe('pending');
    expect(TASK_TRANSITIONS.inProgress.heartbeat?.[0]?.target).toBeUndefined();
    expect(TASK_TRANSITIONS.inProgress.dlq?.map((t) => t.guards[0]?.name)).toEqual([
      'causeIsNack',
      'causeIsLeaseExpiry',
      'causeIsRejection',
    ]);
  });

  it('step agrees with getNextSnapshot on a sample', () => {
    const context: TaskContext = { attempts: 1, maxAttempts: 2, workerId: 'w1', leaseUntil: T0 + 100 };
    const event = ev('heartbeat', T0 + 1, { workerId: 'w1', leaseUntil: T0 + 900 });
    const xs = getNextSnapshot(
      taskMachine,
      taskMachine.resolveState({ value: 'inProgress', context }),
      event,
    );
    const fast = step('inProgress', context, event);
    expect(fast.ok && { value: fast.status as TaskStatus, context: fast.context }).toEqual({
      value: xs.value,
      context: xs.context,
    });
    expect(context.leaseUntil).toBe(T0 + 100);
  });
});
