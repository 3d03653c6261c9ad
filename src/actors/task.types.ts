/**
 * Types shared by the task machine, the decider and everything that asks them for a decision.
 * The machine itself lives in `task.machine.ts`; this file only names the shapes.
 */
import type { TaskEvent, TaskEventData } from '../events/task-event.schema.js';

/** Lifecycle states of the task machine. `absent` is a task before its `enqueued` event. */
export type TaskStatus =
  'absent' | 'pending' | 'inProgress' | 'completed' | 'failed' | 'deadLettered' | 'cancelled';

/** States no command leaves (except an admin requeue out of `deadLettered`). */
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'completed',
  'failed',
  'deadLettered',
  'cancelled',
]);

/**
 * The small folded state a decision needs. Kept tiny on purpose: it is restored from the Redis
 * projection for every decision on the hot path.
 */
export interface TaskSnapshot {
  /** Current lifecycle state. */
  status: TaskStatus;
  /** Deliveries so far (incremented by each claim; reset by an admin requeue). */
  attempts: number;
  /** Deliveries allowed before a nack or lease expiry dead-letters the task. */
  maxAttempts: number;
  /** Lease holder while `inProgress`. */
  workerId?: string | undefined;
  /** Lease deadline while `inProgress`, epoch ms. */
  leaseUntil?: number | undefined;
  /** When a pending task becomes claimable, epoch ms (absent or past: claimable now). */
  runAt?: number | undefined;
  /** Stream sequence of the task's last event (0 before the first). */
  version: number;
}

/** The snapshot of a task that does not exist yet. */
export const ABSENT_SNAPSHOT: TaskSnapshot = Object.freeze({
  status: 'absent',
  attempts: 0,
  maxAttempts: 0,
  version: 0,
});

/** Retry delay policies (the contract's `backoffPolicy`). */
export type BackoffPolicyName = 'fixed' | 'linear' | 'exponential' | 'exp_full_jitter' | 'exp_equal_jitter';

/** Backoff settings (the contract's keys). */
export interface BackoffSettings {
  /** Policy; default `exponential`. */
  policy: BackoffPolicyName;
  /** `backoffBaseSeconds`, default 5 s. */
  baseSeconds: number;
  /** `backoffMaxSeconds`, default 900 s. */
  maxSeconds: number;
}

/** A request to change a task, checked against its snapshot by the decider. */
export type TaskIntent =
  | { type: 'enqueue'; data: TaskEventData<'enqueued'> }
  | { type: 'claim'; workerId: string; leaseMs: number }
  | { type: 'heartbeat'; workerId: string; extendMs: number }
  | { type: 'nack'; workerId: string; delayOverrideSeconds?: number | undefined; reason?: string | undefined }
  | { type: 'abandon'; workerId: string }
  /** Give the task back without spending the attempt: a rate limit downstream (`retryAfterSeconds`, default the backoff). */
  | { type: 'rateLimited'; workerId: string; retryAfterSeconds?: number | undefined }
  | { type: 'deadLetter'; workerId: string; reason?: string | undefined }
  | { type: 'snapshot'; data: TaskEventData<'snapshot'> }
  | {
      type: 'complete';
      workerId: string;
      result: unknown;
      artifacts?: TaskEventData<'completed'>['artifacts'];
    }
  | { type: 'fail'; workerId: string; error: string; artifacts?: TaskEventData<'failed'>['artifacts'] }
  | { type: 'expireLease' }
  | { type: 'requeue' }
  /** Remove a dead-lettered task (an admin; the `deleted` event stays in the log as the audit). */
  | { type: 'delete'; reason?: string | undefined }
  | { type: 'cancel'; reason?: string | undefined; operationId?: string | undefined }
  /** The lease holder reports how far it got (history and view only; the lease does not move). */
  | { type: 'progress'; workerId: string; progress: number; data?: unknown }
  /** Record a finished task's result callback outcome (history only; terminal states accept it). */
  | { type: 'recordWebhookDelivered'; data: TaskEventData<'webhookDelivered'> }
  | { type: 'recordWebhookGaveUp'; data: TaskEventData<'webhookGaveUp'> };

/** Everything a decision may depend on besides the snapshot: time, randomness, policy. */
export interface DecisionContext {
  /** The task's id and command (copied into the event). */
  taskId: string;
  /** The task's command. */
  command: string;
  /** Who is asking (worker id, `admin:<sub>`, `producer:<sub>`, `system`). */
  actor: string;
  /** Current time, epoch ms. */
  now: number;
  /** Backoff settings for nacks and lease expiry. */
  backoff: BackoffSettings;
  /** Uniform random in [0, 1) for the jitter policies; default `Math.random`. */
  random?: () => number;
}

/** Why an intent was refused. Maps 1:1 to {@link import('../errors.js').CodeqErrorCode}. */
export type RejectionCode = 'NOT_FOUND' | 'NOT_OWNER' | 'WRONG_STATE' | 'LEASE_EXPIRED' | 'TASK_CANCELLED';

/** The outcome of a decision: the events to append (in order), or a refusal. */
export type Decision =
  { ok: true; events: TaskEvent[]; next: TaskSnapshot } | { ok: false; code: RejectionCode; message: string };
