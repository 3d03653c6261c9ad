/**
 * The effect of each event on a task's stored view: the one definition of what the projection's
 * task hash holds after an event. `apply.lua` is its Redis-side twin (property-tested to agree:
 * test/unit/projection-equals-fold.property.test.ts); the views the engine builds without
 * reading Redis back (a new task, a claimed task, a hand-off's hash) are derived from it.
 *
 * The lifecycle fields (state, attempts, lease, due time) come from the task machine, through the
 * decider's `evolve`: the view adds what the projection keeps besides (payload, result, times, the
 * ready sequence) and, for a finished task, its last lease holder.
 */
import { taskDecider } from '../actors/task.decider.js';
import { TERMINAL_STATUSES } from '../actors/task.types.js';
import type { TaskSnapshot, TaskStatus } from '../actors/task.types.js';
import type { StoredTaskEvent, TaskEventData } from '../events/task-event.schema.js';

/** The stored view of a task: its projection hash, decoded (see `FIELD` for the hash's names). */
export interface TaskRecord {
  /** Machine state (`absent` only for a hash that does not exist). */
  state: TaskStatus;
  /** Deliveries so far. */
  attempts: number;
  /** Deliveries allowed. */
  maxAttempts: number;
  /** 0..9, 9 claimed first. */
  priority: number;
  /** Lease holder while in progress; a finished task keeps its last one. */
  workerId?: string | undefined;
  /** Lease deadline while in progress, epoch ms; a finished task keeps its last one. */
  leaseUntil?: number | undefined;
  /** When a pending task becomes claimable, epoch ms (undefined: now). */
  runAt?: number | undefined;
  /** Stream sequence of the event that last made it ready: FIFO order among equal priorities. */
  readySeq: number;
  /** The producer's payload (null when none was given). */
  payload: unknown;
  /** The worker's result, once completed (null when none was given). */
  result?: unknown;
  /** Last error: failed result, nack reason, dead-letter or cancel reason; none once completed. */
  error?: string | undefined;
  /** Artifacts of the result. */
  artifacts?: TaskEventData<'completed'>['artifacts'];
  /** Result callback URL. */
  webhook?: string | undefined;
  /** Idempotency key given at creation. */
  idempotencyKey?: string | undefined;
  /** W3C traceparent given at creation. */
  traceParent?: string | undefined;
  /** W3C tracestate given at creation. */
  traceState?: string | undefined;
  /** Group key given at creation (fair claiming, per-group limits). */
  groupKey?: string | undefined;
  /** The last progress report of any attempt (kept after the task finished). */
  progress?: ProgressReport | undefined;
  /** Creation time, epoch ms. */
  createdAt: number;
  /** Time of the last event that changed the task (not a webhook outcome), epoch ms. */
  updatedAt: number;
  /** Time of the task's oldest event still in the log (its latest snapshot, else creation), epoch ms. */
  oldestEventAt: number;
  /** Stream sequence of the task's last event. */
  version: number;
}

/** A task's last progress report, as its view and its snapshot keep it. */
export interface ProgressReport {
  /** Percentage, 0..100. */
  value: number;
  /** The worker's JSON, if it gave one. */
  data?: unknown;
  /** When it was reported, epoch ms. */
  at: number;
}

/**
 * The report of a `progressed` event (or a snapshot's), always built here in one key order: the
 * projection stores it as JSON, and both sides of the projection property must write the same bytes.
 */
export function progressReport(value: number, data: unknown, at: number): ProgressReport {
  return data === undefined ? { value, at } : { value, data, at };
}

/** The error recorded for a dead-lettered task whose event names no reason, by cause. */
export const DEAD_LETTER_REASONS = {
  nack: 'nacked',
  leaseExpired: 'LEASE_EXPIRED',
  rejected: 'rejected',
} as const satisfies Record<TaskEventData<'dlq'>['cause'], string>;

/** The decision snapshot of a stored view. */
function snapshotOfRecord(record: TaskRecord): TaskSnapshot {
  return {
    status: record.state,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    workerId: record.workerId,
    leaseUntil: record.leaseUntil,
    runAt: record.runAt,
    version: record.version,
  };
}

/**
 * The stored view after `event`.
 *
 * @param record - the view before (undefined for a task not stored yet).
 * @param event - the next event of the task, from the log.
 * @throws CodeqError `CORRUPT_EVENT` when the task machine does not accept the event.
 */
export function evolveTaskRecord(record: TaskRecord | undefined, event: StoredTaskEvent): TaskRecord {
  const next = taskDecider.evolve(
    record === undefined ? taskDecider.initialState() : snapshotOfRecord(record),
    event,
  );
  const { seq, at } = event;
  let r: TaskRecord;
  if (event.type === 'enqueued') {
    const d = event.data;
    r = withLifecycle(undefined, next, seq);
    r.priority = d.priority;
    r.readySeq = seq;
    r.payload = d.payload ?? null;
    r.webhook = d.webhook;
    r.idempotencyKey = d.idempotencyKey;
    r.traceParent = d.traceParent;
    r.traceState = d.traceParent === undefined ? undefined : d.traceState;
    r.groupKey = d.groupKey;
    r.createdAt = r.updatedAt = r.oldestEventAt = at;
    return r;
  }
  if (event.type === 'snapshot' && record === undefined) {
    // The first event of a rolled-up task: it restores the whole view.
    const d = event.data;
    r = withLifecycle(undefined, next, seq);
    r.priority = d.priority;
    r.readySeq = d.readySeq;
    r.payload = d.payload ?? null;
    r.error = d.error;
    r.webhook = d.webhook;
    r.idempotencyKey = d.idempotencyKey;
    r.traceParent = d.traceParent;
    r.traceState = d.traceState;
    r.groupKey = d.groupKey;
    if (d.progress) r.progress = progressReport(d.progress.value, d.progress.data, d.progress.at);
    r.createdAt = d.createdAt;
    r.updatedAt = d.updatedAt;
    r.oldestEventAt = at;
    return r;
  }
  // Any other event was accepted by the machine, so the task exists.
  const before = record as TaskRecord;
  r = withLifecycle(before, next, seq);
  if (TERMINAL_STATUSES.has(next.status)) {
    // The machine forgets a finished task's lease; the view keeps who finished it (the API shows it).
    r.workerId = before.workerId;
    r.leaseUntil = before.leaseUntil;
    r.runAt = undefined;
  }
  switch (event.type) {
    case 'snapshot':
      r.oldestEventAt = at;
      break;
    case 'claimed':
    case 'heartbeat':
      r.updatedAt = at;
      break;
    case 'progressed':
      r.progress = progressReport(event.data.progress, event.data.data, at);
      r.updatedAt = at;
      break;
    case 'nacked':
      r.readySeq = seq;
      r.updatedAt = at;
      r.error = event.data.reason ?? before.error;
      break;
    case 'leaseExpired':
      r.readySeq = seq;
      r.updatedAt = at;
      r.error = DEAD_LETTER_REASONS.leaseExpired;
      break;
    case 'deleted':
      // The task is gone (state absent): the projection deletes its hash.
      r.updatedAt = at;
      break;
    case 'rateLimited':
    case 'abandoned':
    case 'requeued':
      r.readySeq = seq;
      r.updatedAt = at;
      break;
    case 'completed':
      // An earlier delivery's error (a nack, a lease that ran out, a dead-letter an admin
      // redrove) is not this task's outcome: a completed task shows none.
      r.error = undefined;
      r.result = event.data.result ?? null;
      r.artifacts = event.data.artifacts ?? before.artifacts;
      r.updatedAt = at;
      break;
    case 'failed':
      r.error = event.data.error;
      r.artifacts = event.data.artifacts ?? before.artifacts;
      r.updatedAt = at;
      break;
    case 'dlq':
      r.error = event.data.reason ?? DEAD_LETTER_REASONS[event.data.cause];
      r.updatedAt = at;
      break;
    case 'cancelled':
      r.error = event.data.reason ?? before.error;
      r.updatedAt = at;
      break;
    case 'webhookDelivered':
    case 'webhookGaveUp':
      // History only: the version moves; `updatedAt` stays, so retention counts from the result.
      break;
  }
  return r;
}

/**
 * A new record with `before`'s fields (or empty ones) and the machine's state after the event. One
 * literal with every field, in one order: every record has the same shape, which keeps this path
 * (run for every enqueued and claimed task) optimised, where object spreads of varying shapes were not.
 */
function withLifecycle(before: TaskRecord | undefined, next: TaskSnapshot, version: number): TaskRecord {
  return {
    state: next.status,
    attempts: next.attempts,
    maxAttempts: next.maxAttempts,
    priority: before ? before.priority : 0,
    workerId: next.workerId,
    leaseUntil: next.leaseUntil,
    runAt: next.runAt,
    readySeq: before ? before.readySeq : 0,
    payload: before ? before.payload : null,
    result: before?.result,
    error: before?.error,
    artifacts: before?.artifacts,
    webhook: before?.webhook,
    idempotencyKey: before?.idempotencyKey,
    traceParent: before?.traceParent,
    traceState: before?.traceState,
    groupKey: before?.groupKey,
    progress: before?.progress,
    createdAt: before ? before.createdAt : 0,
    updatedAt: before ? before.updatedAt : 0,
    oldestEventAt: before ? before.oldestEventAt : 0,
    version,
  };
}

/** Folds a task's history, oldest first, into its stored view (undefined for no events). */
export function foldTaskRecord(events: readonly StoredTaskEvent[]): TaskRecord | undefined {
  let record: TaskRecord | undefined;
  for (const event of events) record = evolveTaskRecord(record, event);
  return record;
}
