/**
 * The read shapes every transport answers with (in-process, HTTP, NATS): a task's view, its result,
 * its history, a queue's counts and a page of a listing. Times are epoch ms here; each transport
 * encodes them (HTTP: RFC3339).
 */
import type { QueueLimits } from './queue-controls.js';
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
  /** W3C traceparent given at creation (codeQ's `traceParent`). */
  traceParent?: string | undefined;
  /** W3C tracestate given at creation. */
  traceState?: string | undefined;
  /** Group key given at creation (fair claiming, per-group limits). */
  groupKey?: string | undefined;
  /** Last progress reported by a worker, percent (0..100); kept after the task finished or was retried. */
  progress?: number | undefined;
  /** The JSON the worker gave with its last progress report. */
  progressData?: unknown;
  /** When the last progress was reported, epoch ms. */
  progressAt?: number | undefined;
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
  /** True while the queue is paused (enqueues accepted, no claims). */
  paused: boolean;
}

/** One group key's figures in a queue. */
export interface GroupFigures {
  /** The group key. */
  groupKey: string;
  /** Its ready tasks. */
  ready: number;
  /** Its tasks reserved or leased (what a group concurrency limit counts). */
  leased: number;
}

/** One queue in detail: counts, controls and the health figures autoscalers read. */
export interface QueueDetail extends QueueStats {
  /** The queue's limits (absent: none). */
  limits: QueueLimits;
  /** Age of the oldest ready task, ms (absent: nothing ready). See `QueueStore.health`. */
  oldestReadyAgeMs?: number | undefined;
  /** Ready tasks with a group key (included in `ready`). */
  groupedReady: number;
  /** Group keys with ready or leased tasks. */
  groups: number;
  /** The busiest group keys by ready tasks (at most 20). */
  topGroups: GroupFigures[];
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

/** One queue's health figures for metrics (the engine's `allQueueHealth`). */
export interface QueueHealthSummary {
  /** Command name. */
  command: string;
  /** True while paused. */
  paused: boolean;
  /** Group keys with ready work. */
  groups: number;
  /** Ready tasks with a group key. */
  groupedReady: number;
}
