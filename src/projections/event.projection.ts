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
 * oa time of the task's oldest event still in the log (its latest snapshot).
 * A new task's hash leaves out a (0), ua and oa (both = ca): readers default them.
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

/** One event as `apply.lua` takes it: values as decimal strings (see the script's header). */
export type ProjectionOp = (string | null)[];

/** 2^44: the ready score's priority step (`(9 - priority) * 2^44 + readySeq`, exact below 2^53). */
const PRIORITY_STEP = 2 ** 44;

/** A number as `apply.lua` takes it: its decimal string (exact for safe integers). */
const str = (n: number): string => String(n);
const strOrNull = (n: number | undefined): string | null => (n === undefined ? null : String(n));

/** Maps one stored event to its op (see `scripts/apply.lua` for each code's effect). */
export function projectEvent(event: StoredTaskEvent): ProjectionOp {
  const { taskId: id, at } = event;
  const seq = str(event.seq);
  switch (event.type) {
    case 'enqueued': {
      const d = event.data;
      return [
        id,
        seq,
        'E',
        str(at),
        str(d.priority),
        str(d.maxAttempts),
        JSON.stringify(d.payload ?? null),
        strOrNull(d.runAt),
        d.webhook ?? null,
        d.idempotencyKey ?? null,
        str((9 - d.priority) * PRIORITY_STEP + event.seq),
      ];
    }
    case 'claimed':
      return [
        id,
        seq,
        'C',
        str(at),
        str(event.data.attempts),
        event.data.workerId,
        str(event.data.leaseUntil),
      ];
    case 'heartbeat':
      return [id, seq, 'H', str(at), str(event.data.leaseUntil)];
    case 'nacked':
      return [id, seq, 'N', str(at), str(event.data.runAt), event.data.reason ?? null];
    case 'leaseExpired':
      return [id, seq, 'L', str(at), str(event.data.runAt)];
    case 'abandoned':
      return [id, seq, 'A', str(at)];
    case 'requeued':
      return [id, seq, 'R', str(at)];
    case 'completed':
      return [
        id,
        seq,
        'D',
        str(at),
        JSON.stringify(event.data.result ?? null),
        artifacts(event.data.artifacts),
      ];
    case 'failed':
      return [id, seq, 'F', str(at), event.data.error, artifacts(event.data.artifacts)];
    case 'dlq':
      return [id, seq, 'Q', str(at), event.data.reason ?? DLQ_REASONS[event.data.cause]];
    case 'cancelled':
      return [id, seq, 'X', str(at), event.data.reason ?? null];
    case 'snapshot': {
      const d = event.data;
      return [
        id,
        seq,
        'S',
        str(at),
        d.status,
        JSON.stringify(d.payload ?? null),
        str(d.priority),
        str(d.maxAttempts),
        str(d.attempts),
        str(d.readySeq),
        str(d.createdAt),
        str(d.updatedAt),
        strOrNull(d.runAt),
        d.workerId ?? null,
        strOrNull(d.leaseUntil),
        d.webhook ?? null,
        d.idempotencyKey ?? null,
        d.error ?? null,
      ];
    }
    case 'webhookDelivered':
    case 'webhookGaveUp':
      // History only: the version moves (so the next decision's expected version is right), nothing
      // else does; `ua` stays so retention still counts from the terminal event.
      return [id, seq, 'K', str(at)];
  }
}

function artifacts(list: unknown[] | undefined): string | null {
  return list === undefined ? null : JSON.stringify(list);
}

/** `apply.lua`'s ops argument for a batch of events of one command. */
export function applyArgument(ops: readonly ProjectionOp[]): string {
  return JSON.stringify(ops);
}
