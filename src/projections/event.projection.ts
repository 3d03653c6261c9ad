/**
 * How each event changes a task's projection, as the compact op `apply.lua` executes:
 * `[taskId, seq, code, at, ...values]`. Pure. Events carry absolute values (lease deadline,
 * attempts, due time), so applying them in stream order reproduces the live projection. A batch
 * travels as one JSON argument: one string to encode instead of a dozen arguments per event.
 */
import type { StoredTaskEvent } from '../events/task-event.schema.js';

/**
 * Hash field names (short: a task hash is kept per task at full speed).
 * s state · a attempts · m maxAttempts · p priority · w worker · l lease deadline · r due time ·
 * rs sequence that made it ready (FIFO order) · pl payload JSON · res result JSON · err error ·
 * art artifacts JSON · wh webhook · ik idempotency key · ca created · ua updated · v version ·
 * oa time of the task's oldest event still in the log (its enqueue, or its latest snapshot).
 */
export const FIELD = {
  state: 's',
  attempts: 'a',
  maxAttempts: 'm',
  priority: 'p',
  worker: 'w',
  leaseUntil: 'l',
  runAt: 'r',
  readySeq: 'rs',
  payload: 'pl',
  result: 'res',
  error: 'err',
  artifacts: 'art',
  webhook: 'wh',
  idempotencyKey: 'ik',
  createdAt: 'ca',
  oldestEventAt: 'oa',
  updatedAt: 'ua',
  version: 'v',
} as const;

/** The error shown for a dead-lettered task whose event names no reason. */
const DLQ_REASONS = { nack: 'nacked', leaseExpired: 'LEASE_EXPIRED', rejected: 'rejected' } as const;

/** One event as `apply.lua` takes it. */
export type ProjectionOp = (string | number | null)[];

/** Maps one stored event to its op (see `scripts/apply.lua` for each code's effect). */
export function projectEvent(event: StoredTaskEvent): ProjectionOp {
  const { taskId: id, seq, at } = event;
  switch (event.type) {
    case 'enqueued': {
      const d = event.data;
      return [
        id,
        seq,
        'E',
        at,
        d.priority,
        d.maxAttempts,
        JSON.stringify(d.payload ?? null),
        d.runAt ?? null,
        d.webhook ?? null,
        d.idempotencyKey ?? null,
      ];
    }
    case 'claimed':
      return [id, seq, 'C', at, event.data.attempts, event.data.workerId, event.data.leaseUntil];
    case 'heartbeat':
      return [id, seq, 'H', at, event.data.leaseUntil];
    case 'nacked':
      return [id, seq, 'N', at, event.data.runAt, event.data.reason ?? null];
    case 'leaseExpired':
      return [id, seq, 'L', at, event.data.runAt];
    case 'abandoned':
      return [id, seq, 'A', at];
    case 'requeued':
      return [id, seq, 'R', at];
    case 'completed':
      return [id, seq, 'D', at, JSON.stringify(event.data.result ?? null), artifacts(event.data.artifacts)];
    case 'failed':
      return [id, seq, 'F', at, event.data.error, artifacts(event.data.artifacts)];
    case 'dlq':
      return [id, seq, 'Q', at, event.data.reason ?? DLQ_REASONS[event.data.cause]];
    case 'cancelled':
      return [id, seq, 'X', at, event.data.reason ?? null];
    case 'snapshot': {
      const d = event.data;
      return [
        id,
        seq,
        'S',
        at,
        d.status,
        JSON.stringify(d.payload ?? null),
        d.priority,
        d.maxAttempts,
        d.attempts,
        d.readySeq,
        d.createdAt,
        d.updatedAt,
        d.runAt ?? null,
        d.workerId ?? null,
        d.leaseUntil ?? null,
        d.webhook ?? null,
        d.idempotencyKey ?? null,
        d.error ?? null,
      ];
    }
    case 'webhookDelivered':
    case 'webhookGaveUp':
      // History only: the version moves (so the next decision's expected version is right), nothing
      // else does; `ua` stays so retention still counts from the terminal event.
      return [id, seq, 'K', at];
  }
}

function artifacts(list: unknown[] | undefined): string | null {
  return list === undefined ? null : JSON.stringify(list);
}

/** `apply.lua`'s ops argument for a batch of events of one command. */
export function applyArgument(ops: readonly ProjectionOp[]): string {
  return JSON.stringify(ops);
}
