/**
 * Reads a task hash of the projection back into typed shapes: the snapshot a decision needs and
 * the view the API returns.
 */
import type { TaskSnapshot, TaskStatus } from '../actors/task.types.js';
import type { PublicTaskStatus, ResultRecord, TaskView } from '../contract/views.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import { FIELD as F } from './event.projection.js';
import { evolveTaskRecord, type TaskRecord } from './task-view.evolve.js';

/** A task hash as Redis returns it (field → string). */
export type TaskHash = Record<string, string>;

const STATUSES: ReadonlySet<string> = new Set([
  'pending',
  'inProgress',
  'completed',
  'failed',
  'deadLettered',
  'cancelled',
]);

/** Turns a flat `HGETALL` reply (as returned from Lua) into a hash object. */
export function hashFromFlat(flat: readonly string[]): TaskHash {
  const hash: TaskHash = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
  return hash;
}

function num(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function state(hash: TaskHash): TaskStatus {
  const s = hash[F.state];
  return s !== undefined && STATUSES.has(s) ? (s as TaskStatus) : 'absent';
}

/**
 * The stored view of a task hash, with what readers default filled in (attempts 0, updated and
 * oldest event time = created, payload null). An empty hash is an `absent` task.
 */
export function recordFromHash(hash: TaskHash): TaskRecord {
  const createdAt = num(hash[F.createdAt]) ?? 0;
  const record: TaskRecord = {
    state: state(hash),
    attempts: num(hash[F.attempts]) ?? 0,
    maxAttempts: num(hash[F.maxAttempts]) ?? 0,
    priority: num(hash[F.priority]) ?? 0,
    workerId: hash[F.worker],
    leaseUntil: num(hash[F.leaseUntil]),
    runAt: num(hash[F.runAt]),
    readySeq: num(hash[F.readySeq]) ?? 0,
    payload: parseJson(hash[F.payload]) ?? null,
    error: hash[F.error],
    webhook: hash[F.webhook],
    idempotencyKey: hash[F.idempotencyKey],
    traceParent: hash[F.traceParent],
    traceState: hash[F.traceState],
    groupKey: hash[F.groupKey],
    createdAt,
    updatedAt: num(hash[F.updatedAt]) ?? createdAt,
    oldestEventAt: num(hash[F.oldestEventAt]) ?? createdAt,
    version: num(hash[F.version]) ?? 0,
  };
  // Only a finished task has these: parsed only then.
  if (hash[F.result] !== undefined) record.result = parseJson(hash[F.result]);
  if (hash[F.artifacts] !== undefined)
    record.artifacts = parseJson(hash[F.artifacts]) as TaskRecord['artifacts'];
  if (hash[F.progress] !== undefined) record.progress = parseJson(hash[F.progress]) as TaskRecord['progress'];
  return record;
}

/**
 * The task hash of a stored view, as `apply.lua` writes it: what readers default is left out
 * (attempts 0, updated and oldest event time equal to created), as are absent optional fields.
 */
export function hashOfRecord(record: TaskRecord): TaskHash {
  const hash: TaskHash = {
    [F.version]: String(record.version),
    [F.state]: record.state,
    [F.maxAttempts]: String(record.maxAttempts),
    [F.priority]: String(record.priority),
    [F.readySeq]: String(record.readySeq),
    [F.payload]: JSON.stringify(record.payload ?? null),
    [F.createdAt]: String(record.createdAt),
  };
  if (record.attempts !== 0) hash[F.attempts] = String(record.attempts);
  if (record.updatedAt !== record.createdAt) hash[F.updatedAt] = String(record.updatedAt);
  if (record.oldestEventAt !== record.createdAt) hash[F.oldestEventAt] = String(record.oldestEventAt);
  if (record.workerId !== undefined) hash[F.worker] = record.workerId;
  if (record.leaseUntil !== undefined) hash[F.leaseUntil] = String(record.leaseUntil);
  if (record.runAt !== undefined) hash[F.runAt] = String(record.runAt);
  if (record.result !== undefined) hash[F.result] = JSON.stringify(record.result);
  if (record.error !== undefined) hash[F.error] = record.error;
  if (record.artifacts !== undefined) hash[F.artifacts] = JSON.stringify(record.artifacts);
  if (record.webhook !== undefined) hash[F.webhook] = record.webhook;
  if (record.idempotencyKey !== undefined) hash[F.idempotencyKey] = record.idempotencyKey;
  if (record.traceParent !== undefined) hash[F.traceParent] = record.traceParent;
  if (record.traceState !== undefined) hash[F.traceState] = record.traceState;
  if (record.groupKey !== undefined) hash[F.groupKey] = record.groupKey;
  if (record.progress !== undefined) hash[F.progress] = JSON.stringify(record.progress);
  return hash;
}

/**
 * The hash `apply.lua` writes for a task's `enqueued` event: what a claimer handed the task
 * straight from its enqueue decides on, without reading it back.
 */
export function hashOfEnqueued(event: StoredTaskEvent & { type: 'enqueued' }): TaskHash {
  return hashOfRecord(evolveTaskRecord(undefined, event));
}

/** The decision snapshot of a task hash (`absent` for an empty hash). */
export function snapshotFromHash(hash: TaskHash): TaskSnapshot {
  return {
    status: state(hash),
    attempts: num(hash[F.attempts]) ?? 0,
    maxAttempts: num(hash[F.maxAttempts]) ?? 0,
    workerId: hash[F.worker],
    leaseUntil: num(hash[F.leaseUntil]),
    runAt: num(hash[F.runAt]),
    version: num(hash[F.version]) ?? 0,
  };
}

/** Public status of a machine state. */
function publicStatus(status: TaskStatus): PublicTaskStatus {
  switch (status) {
    case 'inProgress':
      return 'IN_PROGRESS';
    case 'completed':
      return 'COMPLETED';
    case 'failed':
    case 'deadLettered':
      return 'FAILED';
    case 'cancelled':
      return 'CANCELLED';
    default:
      return 'PENDING';
  }
}

function parseJson(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** The API view of a stored task view. */
export function viewOfRecord(taskId: string, command: string, record: TaskRecord): TaskView {
  const s = record.state;
  return {
    id: taskId,
    command,
    payload: record.payload,
    priority: record.priority,
    webhook: record.webhook,
    status: publicStatus(s),
    state: s,
    workerId: record.workerId,
    leaseUntil: s === 'inProgress' ? record.leaseUntil : undefined,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    error: record.error,
    runAt: s === 'pending' ? record.runAt : undefined,
    idempotencyKey: record.idempotencyKey,
    traceParent: record.traceParent,
    traceState: record.traceState,
    groupKey: record.groupKey,
    progress: record.progress?.value,
    progressData: record.progress?.data,
    progressAt: record.progress?.at,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    version: record.version,
  };
}

/** The API view of a task hash. */
export function viewFromHash(taskId: string, command: string, hash: TaskHash): TaskView {
  return viewOfRecord(taskId, command, recordFromHash(hash));
}

/** The result record of a terminal task hash, or undefined while it has none. */
export function resultFromHash(taskId: string, hash: TaskHash): ResultRecord | undefined {
  const s = state(hash);
  if (s !== 'completed' && s !== 'failed' && s !== 'deadLettered') return undefined;
  const artifacts = parseJson(hash[F.artifacts]) as ResultRecord['artifacts'];
  return {
    taskId,
    status: s === 'completed' ? 'COMPLETED' : 'FAILED',
    result: s === 'completed' ? parseJson(hash[F.result]) : undefined,
    error: s === 'completed' ? undefined : hash[F.error],
    artifacts,
    completedAt: num(hash[F.updatedAt]) ?? num(hash[F.createdAt]) ?? 0,
  };
}
