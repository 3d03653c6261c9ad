/**
 * Reads a task hash of the projection back into typed shapes: the snapshot a decision needs and
 * the view the API returns.
 */
import type { TaskSnapshot, TaskStatus } from '../actors/task.types.js';
import type { PublicTaskStatus, ResultRecord, TaskView } from '../engine/engine.types.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import { FIELD as F } from './event.projection.js';

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
 * The hash `apply.lua` writes for a task's `enqueued` event (keep the two in step): what a claimer
 * handed the task straight from its enqueue decides on, without reading it back.
 */
export function hashOfEnqueued(event: StoredTaskEvent & { type: 'enqueued' }): TaskHash {
  const d = event.data;
  const hash: TaskHash = {
    [F.version]: String(event.seq),
    [F.state]: 'pending',
    [F.maxAttempts]: String(d.maxAttempts),
    [F.priority]: String(d.priority),
    [F.readySeq]: String(event.seq),
    [F.payload]: JSON.stringify(d.payload ?? null),
    [F.createdAt]: String(event.at),
  };
  if (d.runAt !== undefined) hash[F.runAt] = String(d.runAt);
  if (d.webhook !== undefined) hash[F.webhook] = d.webhook;
  if (d.idempotencyKey !== undefined) hash[F.idempotencyKey] = d.idempotencyKey;
  return hash;
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
export function publicStatus(status: TaskStatus): PublicTaskStatus {
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

/** The API view of a task hash. */
export function viewFromHash(taskId: string, command: string, hash: TaskHash): TaskView {
  const s = state(hash);
  const inProgress = s === 'inProgress';
  return {
    id: taskId,
    command,
    payload: parseJson(hash[F.payload]) ?? null,
    priority: num(hash[F.priority]) ?? 0,
    webhook: hash[F.webhook],
    status: publicStatus(s),
    state: s,
    workerId: hash[F.worker],
    leaseUntil: inProgress ? num(hash[F.leaseUntil]) : undefined,
    attempts: num(hash[F.attempts]) ?? 0,
    maxAttempts: num(hash[F.maxAttempts]) ?? 0,
    error: hash[F.error],
    runAt: s === 'pending' ? num(hash[F.runAt]) : undefined,
    idempotencyKey: hash[F.idempotencyKey],
    createdAt: num(hash[F.createdAt]) ?? 0,
    updatedAt: num(hash[F.updatedAt]) ?? num(hash[F.createdAt]) ?? 0,
    version: num(hash[F.version]) ?? 0,
  };
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
