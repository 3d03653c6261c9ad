/**
 * Random valid task histories for property tests: random intents driven through the decider, as
 * the engine does (refused intents leave no event), stamped with increasing stream sequences. A
 * `takeSnapshot` step snapshots a live task the way the engine does (`snapshotData` of its hash).
 */
import fc from 'fast-check';
import { taskDecider } from '../../src/actors/task.decider.js';
import type {
  BackoffSettings,
  DecisionContext,
  TaskIntent,
  TaskSnapshot,
} from '../../src/actors/task.types.js';
import { snapshotData } from '../../src/engine/snapshots.js';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { hashOfRecord } from '../../src/projections/task-record.js';
import { evolveTaskRecord, type TaskRecord } from '../../src/projections/task-view.evolve.js';

/** Time of a history's first event, epoch ms. */
export const HISTORY_T0 = 1_800_000_000_000;
/** Stands for the current lease holder in a generated intent. */
const OWNER = '$owner';

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const json: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  text,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.record({ a: fc.integer(), s: text }),
);
const worker = fc.constantFrom(OWNER, OWNER, OWNER, 'w1', 'w2');
const artifacts = fc.array(
  fc.record(
    {
      name: fc.constantFrom('log', 'out.txt'),
      url: fc.constant('https://x.test/a'),
      size: fc.constantFrom(0, 12),
      sha256: fc.constant('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'),
    },
    { requiredKeys: ['name', 'url'] },
  ),
  {
    minLength: 1,
    maxLength: 2,
  },
);

/** A history's first intent: an enqueue with every optional field sometimes given. */
export const enqueueCommand: fc.Arbitrary<TaskIntent> = fc.record({
  type: fc.constant('enqueue' as const),
  data: fc.record(
    {
      payload: json,
      priority: fc.integer({ min: 0, max: 9 }),
      maxAttempts: fc.integer({ min: 1, max: 3 }),
      runAt: fc.constantFrom(HISTORY_T0, HISTORY_T0 + 700, HISTORY_T0 + 3000),
      webhook: fc.constant('https://hooks.test/done'),
      idempotencyKey: fc.constantFrom('k1', 'k2'),
      traceParent: fc.constant('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
      traceState: fc.constantFrom('congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'),
      groupKey: fc.constantFrom('tenant-a', 'tenant:b'),
    },
    { requiredKeys: ['payload', 'priority', 'maxAttempts'] },
  ),
});

/** An intent after the enqueue (`takeSnapshot`: snapshot the task as the engine would). */
export type HistoryIntent = TaskIntent | { type: 'takeSnapshot' };

const laterIntent: fc.Arbitrary<HistoryIntent> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('claim' as const),
      workerId: worker,
      leaseMs: fc.constantFrom(0, 1000, 3000, 60_000),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('heartbeat' as const),
      workerId: worker,
      extendMs: fc.constantFrom(0, 1000, 60_000),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        type: fc.constant('nack' as const),
        workerId: worker,
        delayOverrideSeconds: fc.constantFrom(0, 1, 5),
        reason: text,
      },
      { requiredKeys: ['type', 'workerId'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('abandon' as const), workerId: worker }) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        type: fc.constant('rateLimited' as const),
        workerId: worker,
        retryAfterSeconds: fc.constantFrom(0, 2),
      },
      { requiredKeys: ['type', 'workerId'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { type: fc.constant('deadLetter' as const), workerId: worker, reason: text },
      { requiredKeys: ['type', 'workerId'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { type: fc.constant('complete' as const), workerId: worker, result: json, artifacts },
      { requiredKeys: ['type', 'workerId', 'result'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { type: fc.constant('fail' as const), workerId: worker, error: text, artifacts },
      { requiredKeys: ['type', 'workerId', 'error'] },
    ),
  },
  { weight: 2, arbitrary: fc.constant({ type: 'expireLease' as const }) },
  { weight: 3, arbitrary: fc.constant({ type: 'requeue' as const }) },
  {
    weight: 1,
    arbitrary: fc.record(
      { type: fc.constant('cancel' as const), reason: text, operationId: fc.constantFrom('op-1', 'op-2') },
      { requiredKeys: ['type'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        type: fc.constant('progress' as const),
        workerId: worker,
        progress: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(0.5, 33.3, 99.99)),
        data: json,
      },
      { requiredKeys: ['type', 'workerId', 'progress'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      type: 'recordWebhookDelivered' as const,
      data: { deliveryId: 't:1', attempts: 2, httpStatus: 204 },
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      type: 'recordWebhookGaveUp' as const,
      data: { deliveryId: 't:1', attempts: 5, error: 'e' },
    }),
  },
  { weight: 2, arbitrary: fc.constant({ type: 'takeSnapshot' as const }) },
);

/** One step of a history: an intent, the time before it, and the gap in stream sequence before its event. */
export interface HistoryStep {
  /** The intent. */
  intent: HistoryIntent;
  /** Time passed before the intent, ms. */
  advanceMs: number;
  /** Sequences other tasks took before this event. */
  seqGap: number;
}

/** What a history is generated from. */
export interface HistoryPlan {
  /** The enqueue. */
  enqueue: TaskIntent;
  /** What follows it. */
  steps: HistoryStep[];
  /** Backoff settings of the decisions. */
  backoff: BackoffSettings;
  /** The decisions' `random()` value, in [0, 1). */
  random: number;
}

/** Plans of histories of 10 to `maxSteps` intents after the enqueue (many are refused). */
export function historyPlan(maxSteps = 40): fc.Arbitrary<HistoryPlan> {
  return fc.record({
    enqueue: enqueueCommand,
    steps: fc.array(
      fc.record({
        intent: laterIntent,
        advanceMs: fc.constantFrom(0, 300, 1000, 2500),
        seqGap: fc.constantFrom(0, 0, 1, 7),
      }),
      { minLength: 10, maxLength: maxSteps, size: 'max' },
    ),
    backoff: fc.record({
      policy: fc.constantFrom(
        'fixed',
        'linear',
        'exponential',
        'exp_full_jitter',
        'exp_equal_jitter' as const,
      ),
      baseSeconds: fc.integer({ min: 0, max: 3 }),
      maxSeconds: fc.integer({ min: 0, max: 10 }),
    }),
    random: fc.integer({ min: 0, max: 999 }).map((r) => r / 1000),
  });
}

/**
 * The events the plan's intents become for task `taskId` of `command`, oldest first, and the time
 * after the last one (epoch ms).
 */
export function historyOf(
  plan: HistoryPlan,
  taskId: string,
  command: string,
): { events: StoredTaskEvent[]; now: number } {
  const events: StoredTaskEvent[] = [];
  let snapshot: TaskSnapshot = taskDecider.initialState();
  let record: TaskRecord | undefined;
  let now = HISTORY_T0;
  let seq = 0;
  const steps: HistoryStep[] = [{ intent: plan.enqueue, advanceMs: 0, seqGap: 0 }, ...plan.steps];
  for (const step of steps) {
    now += step.advanceMs;
    let cmd: TaskIntent;
    if (step.intent.type === 'takeSnapshot') {
      const data = record && snapshotData({ id: taskId, command, hash: hashOfRecord(record) });
      if (!data) continue;
      cmd = { type: 'snapshot', data };
    } else if ('workerId' in step.intent && step.intent.workerId === OWNER) {
      cmd = { ...step.intent, workerId: snapshot.workerId ?? 'w1' };
    } else {
      cmd = step.intent;
    }
    const ctx: DecisionContext = {
      taskId,
      command,
      actor: 'a',
      now,
      backoff: plan.backoff,
      random: () => plan.random,
    };
    const decision = taskDecider.decide(snapshot, cmd, ctx);
    if (!decision.ok) continue;
    for (const event of decision.events) {
      seq += 1 + step.seqGap;
      const stored = { ...event, seq } as StoredTaskEvent;
      events.push(stored);
      snapshot = taskDecider.evolve(snapshot, stored);
      record = evolveTaskRecord(record, stored);
    }
  }
  return { events, now };
}
