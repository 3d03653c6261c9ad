/**
 * The decider: turns an intent (what a caller wants done to a task) into the event(s) the task machine accepts, and folds events into
 * snapshots. It holds no lifecycle rule of its own: it only builds candidate events from intents
 * (data shapes, times, backoff) and asks the machine's rules, through the derived transition table
 * of `task.transitions.ts`, which candidate is acceptable. Where an intent may lead to different
 * events (a nack retries or dead-letters), it offers all of them in order and the machine picks.
 */
import { CodeqError } from '../errors.js';
import { EVENT_SCHEMA_VERSION } from '../events/task-event.schema.js';
import type {
  StoredTaskEvent,
  TaskEvent,
  TaskEventData,
  TaskEventType,
} from '../events/task-event.schema.js';
import { backoffDelaySeconds } from './backoff.js';
import type { TaskContext } from './task.machine.js';
import { step } from './task.transitions.js';
import type { StepResult } from './task.transitions.js';
import { ABSENT_SNAPSHOT } from './task.types.js';
import type { Decision, DecisionContext, TaskIntent, TaskSnapshot, TaskStatus } from './task.types.js';

/** An event of type `type` stamped with the context's ids and time (a literal: spreads cost on the hot path). */
function make<T extends TaskEventType>(ctx: DecisionContext, type: T, data: TaskEventData<T>): TaskEvent {
  return {
    v: EVENT_SCHEMA_VERSION,
    type,
    taskId: ctx.taskId,
    command: ctx.command,
    at: ctx.now,
    actor: ctx.actor,
    data,
  } as TaskEvent;
}

/** Copies `value` without its `undefined` properties: optional event fields are omitted, never undefined. */
function defined<T extends object>(value: T): T {
  const out = {} as T;
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] !== undefined) out[key] = value[key];
  }
  return out;
}

/** The retry delay for a nack or lease expiry, in ms: the override (capped at max) or the backoff. */
function retryDelayMs(snapshot: TaskSnapshot, ctx: DecisionContext, overrideSeconds?: number): number {
  const seconds =
    overrideSeconds === undefined
      ? backoffDelaySeconds(ctx.backoff, snapshot.attempts, ctx.random ?? Math.random)
      : Math.max(0, Math.min(overrideSeconds, ctx.backoff.maxSeconds));
  return Math.round(seconds * 1000);
}

/**
 * The events an intent could become, in order of preference; the machine accepts at most one.
 * Exported for the property test, which feeds the same candidates to xstate itself.
 *
 * @param snapshot - the task's current snapshot (read for attempts and the lease holder).
 * @param intent - the intent.
 * @param ctx - time (`now`, epoch ms), ids, backoff settings and randomness.
 */
export function candidateEvents(
  snapshot: TaskSnapshot,
  intent: TaskIntent,
  ctx: DecisionContext,
): TaskEvent[] {
  const now = ctx.now;
  switch (intent.type) {
    case 'enqueue':
      return [make(ctx, 'enqueued', defined(intent.data))];
    case 'claim':
      return [
        make(ctx, 'claimed', {
          workerId: intent.workerId,
          leaseUntil: now + intent.leaseMs,
          attempts: snapshot.attempts + 1,
        }),
      ];
    case 'heartbeat':
      return [make(ctx, 'heartbeat', { workerId: intent.workerId, leaseUntil: now + intent.extendMs })];
    case 'nack': {
      const delayMs = retryDelayMs(snapshot, ctx, intent.delayOverrideSeconds);
      const retry: TaskEventData<'nacked'> = { workerId: intent.workerId, delayMs, runAt: now + delayMs };
      const dead: TaskEventData<'dlq'> = { cause: 'nack', workerId: intent.workerId };
      if (intent.reason !== undefined) retry.reason = dead.reason = intent.reason;
      return [make(ctx, 'nacked', retry), make(ctx, 'dlq', dead)];
    }
    case 'rateLimited': {
      const delayMs = retryDelayMs(snapshot, ctx, intent.retryAfterSeconds);
      return [
        make(ctx, 'rateLimited', {
          workerId: intent.workerId,
          delayMs,
          runAt: now + delayMs,
          attempts: Math.max(0, snapshot.attempts - 1),
        }),
      ];
    }
    case 'snapshot':
      return [make(ctx, 'snapshot', intent.data)];
    case 'deadLetter': {
      const dead: TaskEventData<'dlq'> = { cause: 'rejected', workerId: intent.workerId };
      if (intent.reason !== undefined) dead.reason = intent.reason;
      return [make(ctx, 'dlq', dead)];
    }
    case 'expireLease': {
      // The previous holder is named in the event; a task without one is refused by the machine anyway.
      const workerId = snapshot.workerId ?? '';
      const delayMs = retryDelayMs(snapshot, ctx);
      return [
        make(ctx, 'leaseExpired', { workerId, delayMs, runAt: now + delayMs }),
        make(ctx, 'dlq', { cause: 'leaseExpired', workerId, reason: 'LEASE_EXPIRED' }),
      ];
    }
    case 'abandon':
      return [make(ctx, 'abandoned', { workerId: intent.workerId })];
    case 'complete': {
      const data: TaskEventData<'completed'> = { workerId: intent.workerId, result: intent.result };
      if (intent.artifacts !== undefined) data.artifacts = intent.artifacts;
      return [make(ctx, 'completed', data)];
    }
    case 'fail': {
      const data: TaskEventData<'failed'> = { workerId: intent.workerId, error: intent.error };
      if (intent.artifacts !== undefined) data.artifacts = intent.artifacts;
      return [make(ctx, 'failed', data)];
    }
    case 'requeue':
      return [make(ctx, 'requeued', {})];
    case 'delete':
      return [make(ctx, 'deleted', intent.reason === undefined ? {} : { reason: intent.reason })];
    case 'progress': {
      const data: TaskEventData<'progressed'> = { workerId: intent.workerId, progress: intent.progress };
      if (intent.data !== undefined) data.data = intent.data;
      return [make(ctx, 'progressed', data)];
    }
    case 'cancel': {
      const data: TaskEventData<'cancelled'> = {};
      if (intent.reason !== undefined) data.reason = intent.reason;
      if (intent.operationId !== undefined) data.operationId = intent.operationId;
      return [make(ctx, 'cancelled', data)];
    }
    case 'recordWebhookDelivered':
      return [make(ctx, 'webhookDelivered', intent.data)];
    case 'recordWebhookGaveUp':
      return [make(ctx, 'webhookGaveUp', intent.data)];
    default: {
      const unknown: never = intent;
      throw new CodeqError('INVALID_INPUT', `unknown intent '${(unknown as { type: string }).type}'`);
    }
  }
}

/** A snapshot from a state and context, without undefined optional fields (they would bloat the projection). */
function toSnapshot(status: TaskStatus, context: TaskContext, version: number): TaskSnapshot {
  const snapshot: TaskSnapshot = {
    status,
    attempts: context.attempts,
    maxAttempts: context.maxAttempts,
    version,
  };
  if (context.workerId !== undefined) snapshot.workerId = context.workerId;
  if (context.leaseUntil !== undefined) snapshot.leaseUntil = context.leaseUntil;
  if (context.runAt !== undefined) snapshot.runAt = context.runAt;
  return snapshot;
}

/**
 * Decides an intent against a task's snapshot: the events to append, or why not. Pure and fast
 * (figures: docs/benchmarks.md, "Decision micro-benchmark"): no I/O, time and randomness come from
 * `ctx`.
 *
 * Refusals, first match wins: `NOT_FOUND` (no such task), `WRONG_STATE` (the state takes no such
 * event, e.g. `not-in-progress`, `not pending`, `not dead-lettered`, or `not due` for a claim
 * before `runAt`), `TASK_CANCELLED` (a cancelled task takes no intent but a webhook outcome),
 * `NOT_OWNER`, `LEASE_EXPIRED`.
 *
 * @param snapshot - the task's current snapshot (`ABSENT_SNAPSHOT` for a new task).
 * @param intent - what the caller wants.
 * @param ctx - ids for the event envelope, `now` (epoch ms), backoff settings, `random` (default `Math.random`).
 * @returns on success the events (each `at` = `ctx.now`) and the snapshot after them, whose
 *   `version` is still the input's: the caller sets it from the append's stream sequence.
 */
export function decide(snapshot: TaskSnapshot, intent: TaskIntent, ctx: DecisionContext): Decision {
  let refusal: Extract<StepResult, { ok: false }> | undefined;
  for (const event of candidateEvents(snapshot, intent, ctx)) {
    const result = step(snapshot.status, snapshot, event);
    if (result.ok) {
      return { ok: true, events: [event], next: toSnapshot(result.status, result.context, snapshot.version) };
    }
    // Alternatives fail for different reasons; report the most telling one (first on a tie).
    if (refusal === undefined || result.rank > refusal.rank) refusal = result;
  }
  if (refusal === undefined) throw new CodeqError('INTERNAL', `intent '${intent.type}' produced no event`);
  return { ok: false, code: refusal.code, message: refusal.message };
}

/**
 * Applies one event read from (or about to be written to) the log.
 *
 * @param snapshot - the snapshot before the event.
 * @param event - the event; with a `seq` (a `StoredTaskEvent`), it becomes the new `version`.
 * @throws CodeqError `CORRUPT_EVENT` when the machine does not accept the event in this state.
 */
export function evolve(snapshot: TaskSnapshot, event: TaskEvent | StoredTaskEvent): TaskSnapshot {
  const result = step(snapshot.status, snapshot, event);
  const version = 'seq' in event ? event.seq : snapshot.version;
  if (!result.ok) {
    const at = 'seq' in event ? ` (seq ${event.seq})` : '';
    throw new CodeqError(
      'CORRUPT_EVENT',
      `task ${event.taskId}: '${event.type}' event${at} rejected in state '${snapshot.status}': ${result.message}`,
      {
        details: {
          taskId: event.taskId,
          eventType: event.type,
          status: snapshot.status,
          reason: result.code,
        },
      },
    );
  }
  return toSnapshot(result.status, result.context, version);
}

/**
 * Folds a task's whole history, oldest first, from {@link ABSENT_SNAPSHOT}: replay, and an audit
 * (a history the machine rejects is corrupt).
 *
 * @throws CodeqError `CORRUPT_EVENT` at the first event the machine rejects.
 */
export function foldEvents(events: readonly StoredTaskEvent[]): TaskSnapshot {
  let snapshot = ABSENT_SNAPSHOT;
  for (const event of events) snapshot = evolve(snapshot, event);
  return snapshot;
}

/**
 * The task's decider as one value, in the shape event-sourcing libraries use (Emmett's
 * `{ decide, evolve, initialState }`): what an intent becomes, what an event does to the decision
 * snapshot, and the snapshot before the first event. Views that hold more than a decision needs
 * (the projection's task record, `task-view.evolve.ts`) build on its `evolve`.
 */
export const taskDecider: {
  /** See {@link decide}. */
  readonly decide: typeof decide;
  /** See {@link evolve}. */
  readonly evolve: typeof evolve;
  /** {@link ABSENT_SNAPSHOT}: a task before its first event. */
  readonly initialState: () => TaskSnapshot;
} = Object.freeze({ decide, evolve, initialState: () => ABSENT_SNAPSHOT });
