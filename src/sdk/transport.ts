/**
 * The one interface the producer and the worker talk to. Three implementations: over HTTP to a codeq
 * server ({@link import('./http.transport.js').HttpTransport}), over NATS to codeq's NATS service
 * ({@link import('./nats.transport.js').NatsTransport}) and in-process on the engine
 * ({@link import('./engine.transport.js').EngineTransport}). All speak the same shapes: times are
 * epoch ms, errors are {@link import('../errors.js').CodeqError}s.
 */
import type { Artifact, PublicTaskStatus, QueueStats, ResultRecord } from '../contract/views.js';
import type { Settled } from './batcher.js';
import type { CodeqError } from '../errors.js';

export type { Artifact, PublicTaskStatus, QueueStats, ResultRecord, Settled };

/** A task as the SDK returns it. Times are epoch ms. */
export interface Task<P = unknown> {
  /** Task id (UUID v4). */
  id: string;
  /** Command name. */
  command: string;
  /** The producer's payload. */
  payload: P;
  /** 0..9, 9 claimed first. */
  priority: number;
  /** Result callback URL, if any. */
  webhook?: string | undefined;
  /** Public status. */
  status: PublicTaskStatus;
  /** Lease holder while in progress. */
  workerId?: string | undefined;
  /** Lease deadline while in progress, epoch ms. */
  leaseUntil?: number | undefined;
  /** Deliveries so far (this one included while in progress). */
  attempts: number;
  /** Deliveries allowed before the task is dead-lettered. */
  maxAttempts: number;
  /** Last error (failed result, nack reason, dead-letter reason). */
  error?: string | undefined;
  /** When a pending task becomes claimable, epoch ms. */
  runAt?: number | undefined;
  /** Idempotency key given at creation. */
  idempotencyKey?: string | undefined;
  /** Last progress a worker reported, percent (0..100). */
  progress?: number | undefined;
  /** The JSON of the last progress report. */
  progressData?: unknown;
  /** When the last progress was reported, epoch ms. */
  progressAt?: number | undefined;
  /** Group key given at creation. */
  groupKey?: string | undefined;
  /** W3C `traceparent` of the producer's context (codeQ's `traceParent`), when it had one. */
  traceParent?: string | undefined;
  /** W3C `tracestate` given with `traceParent`. */
  traceState?: string | undefined;
  /** Creation time, epoch ms. */
  createdAt: number;
  /** Time of the last event, epoch ms. */
  updatedAt: number;
}

/** Which tasks a bulk cancel selects (times epoch ms); see `POST /admin/tasks/cancel`. */
export interface TransportCancelFilter {
  /** The command (required). */
  command: string;
  /** `pending` or `inProgress`; default both. */
  state?: 'pending' | 'inProgress';
  /** Only tasks enqueued with this group key. */
  groupKey?: string;
  /** Only tasks created before this time, epoch ms. */
  createdBefore?: number;
  /** Only tasks created at or after this time, epoch ms. */
  createdAfter?: number;
}

/** Options of a bulk cancel. */
export interface BulkCancelOptions {
  /** Recorded in every `cancelled` event. */
  reason?: string;
  /** Count the matching tasks, cancel nothing; default false. */
  dryRun?: boolean;
}

/** What a bulk cancel did. */
export interface BulkCancelSummary {
  /** In every `cancelled` event the operation wrote. */
  operationId: string;
  /** Tasks that matched the filter. */
  matched: number;
  /** Tasks cancelled (0 for a dry run). */
  cancelled: number;
  /** True when nothing was written. */
  dryRun: boolean;
}

/** One event of a task's history. */
export interface TaskEventEntry {
  /** Stream sequence (orders events across tasks). */
  seq: number;
  /** Event type: `enqueued`, `claimed`, `heartbeat`, `nacked`, `completed`, `failed`, `dlq`, ... */
  type: string;
  /** Who caused it (`worker-1`, `producer:p1`, `system`...). */
  actor: string;
  /** When it happened, epoch ms. */
  at: number;
  /** Type-specific data. */
  data: unknown;
}

/** What a transport needs to create one task. */
export interface TransportEnqueue {
  /** Command name. */
  command: string;
  /** Any JSON value. */
  payload: unknown;
  /** 0..9; default 0. */
  priority?: number;
  /** Deliveries allowed; default the server's (5). */
  maxAttempts?: number;
  /** Claimable from this time, epoch ms; wins over `delaySeconds`. */
  runAt?: number;
  /** Claimable after this many whole seconds. */
  delaySeconds?: number;
  /** Absolute http(s) URL for the result callback. */
  webhook?: string;
  /** Same key within 24 h returns the same task (this is what makes enqueue retries safe). */
  idempotencyKey?: string;
  /** Group key: fair turns between keys and per-key limits; default none. */
  groupKey?: string;
  /** W3C `traceparent` handed to the worker; the producer sets the active span's when none is given. */
  traceParent?: string;
  /** W3C `tracestate`, only with `traceParent`. */
  traceState?: string;
}

/** What a transport needs to claim. */
export interface TransportClaim {
  /** Commands to take from (empty only when {@link Transport.claimsWithoutCommands}). */
  commands: string[];
  /** Lease length, whole seconds. */
  leaseSeconds: number;
  /** Long-poll wait, whole seconds (0..30). */
  waitSeconds: number;
  /** Most tasks to take (at most {@link Transport.maxClaimBatch}). */
  count: number;
  /** Ends the wait early (only passed when {@link Transport.abortableClaims} is true). */
  signal?: AbortSignal;
}

/** One completion of a batch. */
export interface TransportCompletion {
  /** The task. */
  taskId: string;
  /** The result object. */
  result: Record<string, unknown>;
  /** The task's command (from the claim): lets the in-process transport skip a lookup. */
  command?: string;
}

/** What a worker hands {@link Transport.subscribe}: its commands, its capacity and where tasks go. */
export interface TransportSubscribe {
  /** Commands to be sent tasks of. */
  commands: string[];
  /** Lease per delivered task, whole seconds. */
  leaseSeconds: number;
  /** Tasks the worker can take now: the transport keeps about that many credits outstanding. */
  capacity(): number;
  /**
   * A delivered task (the worker's lease already): true when the worker took it, false to give it
   * back (no free slot, closing), which the server then abandons at once.
   */
  deliver(task: Task): boolean;
  /** A credit request failed; the transport tries again by itself. */
  onError(error: CodeqError): void;
}

/** A running push subscription ({@link Transport.subscribe}). */
export interface TransportSubscription {
  /** The worker's capacity grew (a slot came free): grant more credits. */
  refill(): void;
  /** Stops taking tasks (those still arriving are given back) and ends the subscription. */
  close(): Promise<void>;
}

/** The operations of a codeq deployment, as the SDK uses them. */
export interface Transport {
  /** `engine`, `http` or `nats` (for logs and tests). */
  readonly kind: string;
  /** Most tasks one `enqueueMany` call may carry. */
  readonly maxEnqueueBatch: number;
  /** Most tasks one claim may return. */
  readonly maxClaimBatch: number;
  /**
   * True when aborting a waiting claim can never lose tasks it leased (in-process: the engine returns
   * them). Over HTTP an aborted request may drop an answer already on its way, so the worker lets the
   * long-poll end by itself when it shuts down.
   */
  readonly abortableClaims: boolean;
  /**
   * True when a claim may name no command: the server then claims what the caller's credentials
   * allow (over HTTP: the worker token's event types). Absent: false, a claim must name commands.
   */
  readonly claimsWithoutCommands?: boolean;
  /**
   * Push delivery, when the transport has it (NATS): the server claims for the worker and sends it
   * the tasks, flow-controlled by the credits the transport grants from `capacity()`, so the worker
   * runs no claim loop. Absent: the worker claims.
   */
  subscribe?(input: TransportSubscribe): TransportSubscription;
  /** Creates tasks in one round trip; answers in input order. */
  enqueueMany(inputs: TransportEnqueue[]): Promise<Task[]>;
  /** Leases up to `count` tasks; `[]` when none came within the wait. */
  claim(input: TransportClaim): Promise<Task[]>;
  /** Extends the caller's lease by `extendSeconds`; the new deadline, epoch ms. */
  heartbeat(taskId: string, extendSeconds: number): Promise<{ leaseUntil: number }>;
  /** Gives the task back for a retry (or dead-letters it at the attempt limit). */
  nack(
    taskId: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean; rateLimited?: boolean },
  ): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }>;
  /** Gives the task back untouched: claimable at once, attempts kept. */
  abandon(taskId: string): Promise<void>;
  /** Records many successful results in one round trip; one outcome per item, in order. */
  completeMany(items: TransportCompletion[]): Promise<Settled<ResultRecord>[]>;
  /** Records a terminal failure. */
  fail(taskId: string, error: string): Promise<ResultRecord>;
  /** One task, or `NOT_FOUND`. */
  getTask(taskId: string): Promise<Task>;
  /** The task and, once terminal, its result. */
  getResult(taskId: string): Promise<{ task: Task; result?: ResultRecord }>;
  /** Every event of the task, oldest first. */
  history(taskId: string): Promise<TaskEventEntry[]>;
  /**
   * Reports the caller's progress on a task it holds (percent 0..100, optional JSON of at most
   * 4 KiB); the time it was recorded, epoch ms. `TASK_CANCELLED` once the task was cancelled.
   */
  progress(taskId: string, progress: number, data?: unknown): Promise<{ progressAt: number }>;
  /** Cancels a pending or running task (a running one's worker is refused from then on). */
  cancel(taskId: string, reason?: string): Promise<Task>;
  /** Cancels the live tasks of a command that match `filter`, as one operation (admin). */
  cancelTasks(filter: TransportCancelFilter, options?: BulkCancelOptions): Promise<BulkCancelSummary>;
  /** Counts of one command's queue. */
  queueStats(command: string): Promise<QueueStats>;
  /** Releases what the transport owns (nothing it was handed). */
  close(): Promise<void>;
}
