/**
 * How each event changes a task's projection: the hash fields it sets and clears and the index the
 * task moves to. Pure; `apply.lua` executes the result. Events carry absolute values (lease
 * deadline, attempts, due time), so applying them in stream order reproduces the live projection.
 */
import type { StoredTaskEvent } from '../events/task-event.schema.js';

/** Where a task sits after an event: pending (ready or delayed, by due time), leased, dead, terminal, or unchanged. */
export type ProjectionTarget = 'pending' | 'inflight' | 'dlq' | 'done' | 'keep';

/** One event turned into projection changes. */
export interface ProjectionOp {
  /** Task id. */
  taskId: string;
  /** Stream sequence (the task's version after applying). */
  seq: number;
  /** Index the task moves to. */
  target: ProjectionTarget;
  /** Only `enqueued` creates the task hash. */
  create: boolean;
  /** Flat field/value pairs to set. */
  set: (string | number)[];
  /** Fields to remove. */
  del: string[];
}

/**
 * Hash field names (short: a task hash is kept per task at full speed).
 * s state · a attempts · m maxAttempts · p priority · w worker · l lease deadline · r due time ·
 * rs sequence that made it ready (FIFO order) · pl payload JSON · res result JSON · err error ·
 * art artifacts JSON · wh webhook · ik idempotency key · ca created · ua updated · v version.
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
  updatedAt: 'ua',
  version: 'v',
} as const;

const F = FIELD;

/** Maps one stored event to its projection changes. */
export function projectEvent(event: StoredTaskEvent): ProjectionOp {
  const base = { taskId: event.taskId, seq: event.seq, create: false };
  const at = event.at;
  switch (event.type) {
    case 'enqueued': {
      const d = event.data;
      const set: (string | number)[] = [
        F.state,
        'pending',
        F.attempts,
        0,
        F.maxAttempts,
        d.maxAttempts,
        F.priority,
        d.priority,
        F.readySeq,
        event.seq,
        F.payload,
        JSON.stringify(d.payload ?? null),
        F.createdAt,
        at,
        F.updatedAt,
        at,
      ];
      if (d.runAt !== undefined) set.push(F.runAt, d.runAt);
      if (d.webhook !== undefined) set.push(F.webhook, d.webhook);
      if (d.idempotencyKey !== undefined) set.push(F.idempotencyKey, d.idempotencyKey);
      return { ...base, create: true, target: 'pending', set, del: [] };
    }
    case 'claimed':
      return {
        ...base,
        target: 'inflight',
        set: [
          F.state,
          'inProgress',
          F.attempts,
          event.data.attempts,
          F.worker,
          event.data.workerId,
          F.leaseUntil,
          event.data.leaseUntil,
          F.updatedAt,
          at,
        ],
        del: [F.runAt],
      };
    case 'heartbeat':
      return {
        ...base,
        target: 'inflight',
        set: [F.leaseUntil, event.data.leaseUntil, F.updatedAt, at],
        del: [],
      };
    case 'nacked': {
      const set: (string | number)[] = [
        F.state,
        'pending',
        F.runAt,
        event.data.runAt,
        F.readySeq,
        event.seq,
        F.updatedAt,
        at,
      ];
      if (event.data.reason !== undefined) set.push(F.error, event.data.reason);
      return { ...base, target: 'pending', set, del: [F.worker, F.leaseUntil] };
    }
    case 'abandoned':
      return {
        ...base,
        target: 'pending',
        set: [F.state, 'pending', F.readySeq, event.seq, F.updatedAt, at],
        del: [F.worker, F.leaseUntil, F.runAt],
      };
    case 'leaseExpired':
      return {
        ...base,
        target: 'pending',
        set: [
          F.state,
          'pending',
          F.runAt,
          event.data.runAt,
          F.readySeq,
          event.seq,
          F.error,
          'LEASE_EXPIRED',
          F.updatedAt,
          at,
        ],
        del: [F.worker, F.leaseUntil],
      };
    case 'completed': {
      const set: (string | number)[] = [
        F.state,
        'completed',
        F.result,
        JSON.stringify(event.data.result ?? null),
        F.updatedAt,
        at,
      ];
      if (event.data.artifacts !== undefined) set.push(F.artifacts, JSON.stringify(event.data.artifacts));
      return { ...base, target: 'done', set, del: [F.leaseUntil] };
    }
    case 'failed': {
      const set: (string | number)[] = [F.state, 'failed', F.error, event.data.error, F.updatedAt, at];
      if (event.data.artifacts !== undefined) set.push(F.artifacts, JSON.stringify(event.data.artifacts));
      return { ...base, target: 'done', set, del: [F.leaseUntil] };
    }
    case 'dlq':
      return {
        ...base,
        target: 'dlq',
        set: [
          F.state,
          'deadLettered',
          F.error,
          event.data.reason ?? (event.data.cause === 'leaseExpired' ? 'LEASE_EXPIRED' : 'nacked'),
          F.updatedAt,
          at,
        ],
        del: [F.leaseUntil],
      };
    case 'requeued':
      return {
        ...base,
        target: 'pending',
        set: [F.state, 'pending', F.attempts, 0, F.readySeq, event.seq, F.updatedAt, at],
        del: [F.worker, F.leaseUntil, F.runAt],
      };
    case 'cancelled': {
      const set: (string | number)[] = [F.state, 'cancelled', F.updatedAt, at];
      if (event.data.reason !== undefined) set.push(F.error, event.data.reason);
      return { ...base, target: 'done', set, del: [F.runAt] };
    }
  }
}

/** Flattens ops into `apply.lua`'s argument list (after `now` and the count). */
export function applyArgs(ops: readonly ProjectionOp[]): (string | number)[] {
  const args: (string | number)[] = [];
  for (const op of ops) {
    args.push(
      op.taskId,
      op.seq,
      op.target,
      op.create ? 1 : 0,
      op.set.length / 2,
      ...op.set,
      op.del.length,
      ...op.del,
    );
  }
  return args;
}
