/**
 * The fast path (transition table + shared guards/updaters) must agree with xstate's own
 * `transition()` on the real machine: same accept/refuse, same state, same context.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { initialTransition, transition } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import { candidateEvents, decide, evolve, foldEvents } from '../../src/actors/task.decider.js';
import { taskMachine } from '../../src/actors/task.machine.js';
import type { TaskMachineEvent } from '../../src/actors/task.machine.js';
import { step } from '../../src/actors/task.transitions.js';
import { ABSENT_SNAPSHOT } from '../../src/actors/task.types.js';
import type { DecisionContext, TaskIntent, TaskSnapshot, TaskStatus } from '../../src/actors/task.types.js';
import type { StoredTaskEvent, TaskEvent } from '../../src/events/task-event.schema.js';

type XSnapshot = SnapshotFrom<typeof taskMachine>;
const T0 = 1_000_000;
const OWNER = '$owner';

/** State and context without undefined fields, for comparing both sides. */
function view(status: string, context: object): Record<string, unknown> {
  const out: Record<string, unknown> = { status };
  for (const [k, v] of Object.entries(context))
    if (v !== undefined && k !== 'status' && k !== 'version') out[k] = v;
  return out;
}

const worker = fc.constantFrom(OWNER, OWNER, 'w1', 'w2');
const command: fc.Arbitrary<TaskIntent> = fc.oneof(
  fc.record({
    type: fc.constant('enqueue' as const),
    data: fc.record(
      {
        payload: fc.constant(null),
        priority: fc.integer({ min: 0, max: 9 }),
        maxAttempts: fc.integer({ min: 1, max: 3 }),
        runAt: fc.integer({ min: T0, max: T0 + 4000 }),
      },
      { requiredKeys: ['payload', 'priority', 'maxAttempts'] },
    ),
  }),
  fc.record({
    type: fc.constant('claim' as const),
    workerId: worker,
    leaseMs: fc.integer({ min: 0, max: 3000 }),
  }),
  fc.record({
    type: fc.constant('heartbeat' as const),
    workerId: worker,
    extendMs: fc.integer({ min: 0, max: 3000 }),
  }),
  fc.record(
    {
      type: fc.constant('nack' as const),
      workerId: worker,
      delayOverrideSeconds: fc.integer({ min: 0, max: 5 }),
      reason: fc.constant('r'),
    },
    { requiredKeys: ['type', 'workerId'] },
  ),
  fc.record({ type: fc.constant('abandon' as const), workerId: worker }),
  fc.record({ type: fc.constant('deadLetter' as const), workerId: worker }),
  fc.record({ type: fc.constant('complete' as const), workerId: worker, result: fc.constant(1) }),
  fc.record({ type: fc.constant('fail' as const), workerId: worker, error: fc.constant('e') }),
  fc.constant({ type: 'expireLease' as const }),
  fc.constant({ type: 'requeue' as const }),
  fc.constant({ type: 'cancel' as const }),
  fc.record({
    type: fc.constant('progress' as const),
    workerId: worker,
    progress: fc.integer({ min: 0, max: 100 }),
  }),
  fc.constant({
    type: 'recordWebhookDelivered' as const,
    data: { deliveryId: 't:1', attempts: 2, httpStatus: 204 },
  }),
  fc.constant({ type: 'recordWebhookGaveUp' as const, data: { deliveryId: 't:1', attempts: 5, error: 'e' } }),
);
const stepArb = fc.record({ command, advanceMs: fc.integer({ min: 0, max: 2500 }) });
const backoff = fc.record({
  policy: fc.constantFrom('fixed', 'linear', 'exponential', 'exp_full_jitter', 'exp_equal_jitter' as const),
  baseSeconds: fc.integer({ min: 0, max: 3 }),
  maxSeconds: fc.integer({ min: 0, max: 10 }),
});

function resolveOwner(cmd: TaskIntent, snapshot: TaskSnapshot): TaskIntent {
  if ('workerId' in cmd && cmd.workerId === OWNER) return { ...cmd, workerId: snapshot.workerId ?? 'w1' };
  return cmd;
}

describe('decider agrees with the xstate machine', () => {
  it('on random command sequences: accept/refuse, state and context', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 30 }),
        backoff,
        fc.integer({ min: 0, max: 999 }),
        (steps, settings, r) => {
          let fast: TaskSnapshot = ABSENT_SNAPSHOT;
          let xs: XSnapshot = initialTransition(taskMachine)[0];
          let now = T0;
          const log: StoredTaskEvent[] = [];
          for (const { command: raw, advanceMs } of steps) {
            now += advanceMs;
            const cmd = resolveOwner(raw, fast);
            const ctx: DecisionContext = {
              taskId: 't',
              command: 'c',
              actor: 'a',
              now,
              backoff: settings,
              random: () => r / 1000,
            };
            const decision = decide(fast, cmd, ctx);
            // xstate's verdict: the first candidate its transition() does not ignore.
            let accepted: { event: TaskEvent; next: XSnapshot } | undefined;
            for (const event of candidateEvents(fast, cmd, ctx)) {
              const [next] = transition(taskMachine, xs, event);
              if (next !== xs) {
                accepted = { event, next };
                break;
              }
            }
            expect(decision.ok).toBe(accepted !== undefined);
            if (decision.ok && accepted) {
              expect(decision.events).toEqual([accepted.event]);
              expect(view(decision.next.status, decision.next)).toEqual(
                view(accepted.next.value as string, accepted.next.context),
              );
              fast = decision.next;
              xs = accepted.next;
              log.push({ ...accepted.event, seq: log.length + 1 });
            } else if (!decision.ok && fast.status === 'absent') {
              expect(decision.code).toBe('NOT_FOUND');
            }
          }
          // Replay of what was appended gives the same snapshot.
          expect(view(foldEvents(log).status, foldEvents(log))).toEqual(view(fast.status, fast));
        },
      ),
      { numRuns: 1000 },
    );
  });

  const workerId = fc.constantFrom('w1', 'w2');
  const at = fc.integer({ min: T0, max: T0 + 3000 });
  const rawEvent: fc.Arbitrary<TaskMachineEvent> = fc
    .oneof(
      fc.record({
        type: fc.constant('enqueued' as const),
        data: fc.record(
          {
            payload: fc.constant(0),
            priority: fc.constant(0),
            maxAttempts: fc.integer({ min: 1, max: 3 }),
            runAt: at,
          },
          { requiredKeys: ['payload', 'priority', 'maxAttempts'] },
        ),
      }),
      fc.record({
        type: fc.constant('claimed' as const),
        data: fc.record({ workerId, leaseUntil: at, attempts: fc.integer({ min: 0, max: 4 }) }),
      }),
      fc.record({ type: fc.constant('heartbeat' as const), data: fc.record({ workerId, leaseUntil: at }) }),
      fc.record({
        type: fc.constant('progressed' as const),
        data: fc.record({ workerId, progress: fc.integer({ min: 0, max: 100 }) }),
      }),
      fc.record({
        type: fc.constant('nacked' as const),
        data: fc.record({ workerId, delayMs: fc.constant(0), runAt: at }),
      }),
      fc.record({ type: fc.constant('abandoned' as const), data: fc.record({ workerId }) }),
      fc.record({
        type: fc.constant('leaseExpired' as const),
        data: fc.record({ workerId, delayMs: fc.constant(0), runAt: at }),
      }),
      fc.record({
        type: fc.constant('completed' as const),
        data: fc.record({ workerId, result: fc.constant(0) }),
      }),
      fc.record({
        type: fc.constant('failed' as const),
        data: fc.record({ workerId, error: fc.constant('x') }),
      }),
      fc.record({
        type: fc.constant('dlq' as const),
        data: fc.record({
          cause: fc.constantFrom('nack' as const, 'leaseExpired' as const, 'rejected' as const),
          workerId,
        }),
      }),
      fc.record({
        type: fc.constant('snapshot' as const),
        data: fc.record(
          {
            status: fc.constantFrom('pending' as const, 'inProgress' as const),
            payload: fc.constant(null),
            priority: fc.constant(0),
            maxAttempts: fc.integer({ min: 1, max: 3 }),
            attempts: fc.integer({ min: 0, max: 3 }),
            readySeq: fc.constant(1),
            createdAt: fc.constant(0),
            updatedAt: fc.constant(0),
            runAt: at,
            workerId,
            leaseUntil: at,
          },
          {
            requiredKeys: [
              'status',
              'payload',
              'priority',
              'maxAttempts',
              'attempts',
              'readySeq',
              'createdAt',
              'updatedAt',
            ],
          },
        ),
      }),
      fc.constant({ type: 'requeued' as const, data: {} }),
      fc.constant({ type: 'cancelled' as const, data: {} }),
      fc.constant({
        type: 'webhookDelivered' as const,
        data: { deliveryId: 't:1', attempts: 1, httpStatus: 200 },
      }),
      fc.constant({ type: 'webhookGaveUp' as const, data: { deliveryId: 't:1', attempts: 5, error: 'x' } }),
    )
    .chain((partial) => at.map((when) => ({ ...partial, at: when, actor: 'a' }) as TaskMachineEvent));

  it('on random raw event histories: evolve accepts exactly what xstate accepts', () => {
    fc.assert(
      fc.property(fc.array(rawEvent, { maxLength: 25 }), (events) => {
        let status: TaskStatus = 'absent';
        let fastSnapshot: TaskSnapshot = ABSENT_SNAPSHOT;
        let xs: XSnapshot = initialTransition(taskMachine)[0];
        for (const event of events) {
          const [next] = transition(taskMachine, xs, event);
          const fast = step(status, fastSnapshot, event);
          expect(fast.ok).toBe(next !== xs);
          const full = { v: 1, taskId: 't', command: 'c', ...event } as TaskEvent;
          if (fast.ok) {
            expect(view(fast.status, fast.context)).toEqual(view(next.value as string, next.context));
            fastSnapshot = evolve(fastSnapshot, full);
            status = fastSnapshot.status;
            xs = next;
          } else {
            expect(() => evolve(fastSnapshot, full)).toThrow(/rejected/);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
