/**
 * How each event changes a task's projection, as the compact op `apply.lua` executes:
 * `[taskId, seq, code, at, ...values]`, laid out as `op-layout.ts` defines. Pure. Events carry absolute values (lease deadline,
 * attempts, due time), so applying them in stream order reproduces the live projection. A batch
 * travels as one JSON argument: one string to encode instead of a dozen arguments per event.
 */
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import { OP_FIELDS, readyScore, type OpCode, type OpValues } from './op-layout.js';
import { DEAD_LETTER_REASONS, progressReport } from './task-view.evolve.js';

/**
 * Hash field names (short: a task hash is kept per task at full speed).
 * s state · a attempts · m maxAttempts · p priority · w worker · l lease deadline · r due time ·
 * rs sequence that made it ready (FIFO order) · pl payload JSON · res result JSON · err error ·
 * art artifacts JSON · wh webhook · ik idempotency key · tp traceparent · tst tracestate · ca created ·
 * ua updated · v version · oa time of the task's oldest event still in the log (its latest
 * snapshot) · g group key.
 * art artifacts JSON · wh webhook · ik idempotency key · ca created · ua updated · v version ·
 * oa time of the task's oldest event still in the log (its latest snapshot) · pg last progress
 * report JSON (`{value, data?, at}`).
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
  traceParent: 'tp',
  traceState: 'tst',
  createdAt: 'ca',
  oldestEventAt: 'oa',
  updatedAt: 'ua',
  version: 'v',
  groupKey: 'g',
  progress: 'pg',
} as const;

/** One event as `apply.lua` takes it: values as decimal strings (see the script's header). */
export type ProjectionOp = (string | null)[];

/** A number as `apply.lua` takes it: its decimal string (exact for safe integers). */
const str = (n: number): string => String(n);
const strOrNull = (n: number | undefined): string | null => (n === undefined ? null : String(n));

/** The op of `event` with code `code`: its values in the order `op-layout.ts` gives. */
function op<C extends OpCode>(event: StoredTaskEvent, code: C, values: OpValues<C>): ProjectionOp {
  const out: ProjectionOp = [event.taskId, str(event.seq), code, str(event.at)];
  const byName = values as Record<string, string | null | undefined>;
  for (const field of OP_FIELDS[code] as readonly string[]) {
    const value = byName[field];
    // Only a trailing field the apply adds itself (`reservedUntil`) has no value here.
    if (value === undefined) break;
    out.push(value);
  }
  return out;
}

/** Maps one stored event to its op (see `scripts/apply.lua` for each code's effect). */
export function projectEvent(event: StoredTaskEvent): ProjectionOp {
  switch (event.type) {
    case 'enqueued': {
      const d = event.data;
      return op(event, 'E', {
        priority: str(d.priority),
        maxAttempts: str(d.maxAttempts),
        payload: JSON.stringify(d.payload ?? null),
        runAt: strOrNull(d.runAt),
        webhook: d.webhook ?? null,
        idempotencyKey: d.idempotencyKey ?? null,
        traceParent: d.traceParent ?? null,
        traceState: d.traceState ?? null,
        readyScore: str(readyScore(d.priority, event.seq)),
        groupKey: d.groupKey ?? null,
      });
    }
    case 'claimed':
      return op(event, 'C', {
        attempts: str(event.data.attempts),
        workerId: event.data.workerId,
        leaseUntil: str(event.data.leaseUntil),
      });
    case 'heartbeat':
      return op(event, 'H', { leaseUntil: str(event.data.leaseUntil) });
    case 'progressed':
      return op(event, 'G', {
        progress: JSON.stringify(progressReport(event.data.progress, event.data.data, event.at)),
      });
    case 'nacked':
      return op(event, 'N', { runAt: str(event.data.runAt), reason: event.data.reason ?? null });
    case 'leaseExpired':
      return op(event, 'L', { runAt: str(event.data.runAt) });
    case 'rateLimited':
      return op(event, 'T', { runAt: str(event.data.runAt), attempts: str(event.data.attempts) });
    case 'abandoned':
      return op(event, 'A', {});
    case 'requeued':
      return op(event, 'R', {});
    case 'deleted':
      return op(event, 'Z', {});
    case 'completed':
      return op(event, 'D', {
        result: JSON.stringify(event.data.result ?? null),
        artifacts: artifacts(event.data.artifacts),
      });
    case 'failed':
      return op(event, 'F', { error: event.data.error, artifacts: artifacts(event.data.artifacts) });
    case 'dlq':
      return op(event, 'Q', { reason: event.data.reason ?? DEAD_LETTER_REASONS[event.data.cause] });
    case 'cancelled':
      return op(event, 'X', { reason: event.data.reason ?? null });
    case 'snapshot': {
      const d = event.data;
      return op(event, 'S', {
        status: d.status,
        payload: JSON.stringify(d.payload ?? null),
        priority: str(d.priority),
        maxAttempts: str(d.maxAttempts),
        attempts: str(d.attempts),
        readySeq: str(d.readySeq),
        createdAt: str(d.createdAt),
        updatedAt: str(d.updatedAt),
        runAt: strOrNull(d.runAt),
        workerId: d.workerId ?? null,
        leaseUntil: strOrNull(d.leaseUntil),
        webhook: d.webhook ?? null,
        idempotencyKey: d.idempotencyKey ?? null,
        error: d.error ?? null,
        traceParent: d.traceParent ?? null,
        traceState: d.traceState ?? null,
        groupKey: d.groupKey ?? null,
        progress: d.progress
          ? JSON.stringify(progressReport(d.progress.value, d.progress.data, d.progress.at))
          : null,
      });
    }
    case 'webhookDelivered':
    case 'webhookGaveUp':
      // History only: the version moves (so the next decision's expected version is right), nothing
      // else does; `ua` stays so retention still counts from the terminal event.
      return op(event, 'K', {});
  }
}

function artifacts(list: unknown[] | undefined): string | null {
  return list === undefined ? null : JSON.stringify(list);
}

/** `apply.lua`'s ops argument for a batch of events of one command. */
export function applyArgument(ops: readonly ProjectionOp[]): string {
  return JSON.stringify(ops);
}
