/**
 * The read shapes every transport answers with (in-process, HTTP, NATS): a task's view, its result,
 * its history, a queue's counts and a page of a listing. Times are epoch ms here; each transport
 * encodes them (HTTP: RFC3339).
 */
import type { TaskSnapshot, TaskStatus } from '../actors/task.types.js';
import type { StoredTaskEvent, TaskEventData } from '../events/task-event.schema.js';

/** Public status of a task, as codeQ's API spells it (`CANCELLED` is codeq's addition). */
export type PublicTaskStatus = 'PENDING' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

/** An artifact attached to a result. */
export type Artifact = NonNullable<TaskEventData<'completed'>['artifacts']>[number];

/** A task as the operations return it. Times are epoch ms. */
export interface TaskView {
  /** Task id (UUID v4). */
  id: string;
  /** Command name (`[A-Za-z0-9_-]{1,128}`). */
  command: string;
  /** The producer's JSON payload. */
  payload: unknown;
  /** 0..9, 9 claimed first. */
  priority: number;
  /** Result callback URL, if any. */
  webhook?: string | undefined;
  /** Public status. */
  status: PublicTaskStatus;
  /** Machine state (finer than `status`: tells dead-lettered from failed). */
  state: TaskStatus;
  /** Lease holder while in progress. */
  workerId?: string | undefined;
  /** Lease deadline while in progress, epoch ms. */
  leaseUntil?: number | undefined;
  /** Deliveries so far. */
  attempts: number;
  /** Deliveries allowed. */
  maxAttempts: number;
  /** Last error (failed result, nack reason, dead-letter reason); none once completed. */
  error?: string | undefined;
  /** When a pending task becomes claimable, epoch ms. */
  runAt?: number | undefined;
  /** Idempotency key given at creation. */
  idempotencyKey?: string | undefined;
  /** Creation time, epoch ms. */
  createdAt: number;
  /** Time of the last event, epoch ms. */
  updatedAt: number;
  /** Stream sequence of the task's last event. */
  version: number;
}

/** A terminal result (codeQ's ResultRecord). */
export interface ResultRecord {
  /** The task. */
  taskId: string;
  /** `COMPLETED` or `FAILED`. */
  status: 'COMPLETED' | 'FAILED';
  /** The worker's result object (completed). */
  result?: unknown;
  /** The error (failed). */
  error?: string | undefined;
  /** Attached artifacts. */
  artifacts?: Artifact[] | undefined;
  /** When the result was recorded, epoch ms. */
  completedAt: number;
}

/** Counts of one command's queue (O(1) reads). */
export interface QueueStats {
  /** Command name. */
  command: string;
  /** Claimable now. */
  ready: number;
  /** Pending with a future `runAt` (delay or backoff). */
  delayed: number;
  /** Leased to a worker. */
  inProgress: number;
  /** Dead-lettered. */
  dlq: number;
}

/** A task's full history: every event, and the state the machine folds them into. */
export interface TaskHistory {
  /** The task. */
  taskId: string;
  /** Every event in order, with its stream sequence. */
  events: StoredTaskEvent[];
  /** The folded state. */
  state: TaskSnapshot;
}

/** A page of a listing. */
export interface Page<T> {
  /** The items. */
  items: T[];
  /** Opaque cursor of the next page; absent at the end. */
  nextCursor?: string | undefined;
  /** Total matching items (O(1) count). */
  total: number;
}
