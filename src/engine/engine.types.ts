/**
 * The public shapes of the engine's operations. The HTTP API, the SDK and the CLI program against
 * these; `engine.ts` implements them on JetStream and Redis.
 */
import type { BulkCancelInput, BulkCancelResult } from './bulk-cancel.js';
import type { Logger } from 'pino';
import type { CodeqError } from '../errors.js';
import type { BackoffSettings } from '../actors/task.types.js';
import type { QueueIntent } from '../actors/queue.decider.js';
import type { StoredControlEvent } from '../events/control-event.schema.js';
import type { QueueControlOutcome } from './queue-controls.js';
import type { ScheduleApi } from './schedules.js';
import type {
  Artifact,
  Page,
  QueueDetail,
  QueueHealthSummary,
  QueueStats,
  ResultRecord,
  TaskHistory,
  TaskView,
} from '../contract/views.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';

/** Input of `enqueue`. */
export interface EnqueueInput {
  /** Command name; `[A-Za-z0-9_-]{1,128}`. */
  command: string;
  /** Any JSON value; its encoded size is limited by `maxPayloadBytes`. */
  payload: unknown;
  /** 0..9, clamped; default 0. */
  priority?: number;
  /** Deliveries allowed; `<= 0` or absent means the configured default (5). */
  maxAttempts?: number;
  /** Claimable from this time (epoch ms or Date); wins over `delaySeconds`. */
  runAt?: number | Date;
  /** Claimable after this many seconds (>= 0). */
  delaySeconds?: number;
  /** Absolute http(s) URL for the result callback. */
  webhook?: string;
  /** Same key within 24 h returns the same task. */
  idempotencyKey?: string;
  /** W3C `traceparent` handed to the worker with the task (codeQ's `traceParent`). */
  traceParent?: string;
  /** W3C `tracestate` handed along with `traceParent`. */
  traceState?: string;
  /**
   * A tenant, customer or other key whose tasks share a concurrency and rate limit and take turns
   * with other keys' (`[A-Za-z0-9_.:@-]{1,128}`); default none.
   */
  groupKey?: string;
  /** Who enqueues (`producer:<sub>`); default `producer`. */
  actor?: string;
}

/** One result of a batch (`submitResults`). */
export interface ResultInput {
  /** The task. */
  taskId: string;
  /** The lease holder (token subject). */
  workerId: string;
  /** `COMPLETED` or `FAILED`. */
  status: 'COMPLETED' | 'FAILED';
  /** The result (completed). */
  result?: unknown;
  /** The error (failed; required). */
  error?: string;
  /** Attached artifacts. */
  artifacts?: Artifact[];
  /** The task's command, when known (a claimed TaskView has it): saves a lookup; verified, not trusted. */
  command?: string;
  /** Commands the caller may act on (`*` = all; default all): another command's task is `NOT_FOUND`. */
  allowedCommands?: readonly string[];
}

/** Input of `claim`. */
export interface ClaimInput {
  /** The worker's identity (token subject). */
  workerId: string;
  /** Commands to take from, in no particular order. */
  commands: string[];
  /** Lease length in seconds; absent or 0: `defaultLeaseSeconds` (300). */
  leaseSeconds?: number;
  /** Long-poll: wait up to this many seconds for work (0..30); default 0. */
  waitSeconds?: number;
  /** How many tasks at most (batch claim); default 1. */
  count?: number;
  /** Aborts the wait (client disconnect, shutdown): resolves with what was claimed (often []). */
  signal?: AbortSignal;
}

/** The engine's tunables (a subset of the config file; defaults from the contract). */
export interface EngineSettings {
  /** `defaultLeaseSeconds`, default 300 s. */
  defaultLeaseSeconds: number;
  /** `requeueInspectLimit`, default 200 tasks. */
  requeueInspectLimit: number;
  /** `maxAttemptsDefault`, default 5. */
  maxAttemptsDefault: number;
  /** Retry delays. */
  backoff: BackoffSettings;
  /** Largest payload (encoded JSON) accepted, default 1 MiB minus headroom: 900 000 bytes. */
  maxPayloadBytes: number;
  /** Idempotency keys live this long, default 24 h. */
  idempotencyTtlMs: number;
  /** Completed/failed/cancelled tasks leave the projection after this, default 24 h. */
  completedRetentionMs: number;
  /** Dead-lettered tasks leave the projection after this, default 7 d. */
  deadRetentionMs: number;
  /**
   * A live task whose oldest event in the log is older than this gets a snapshot (subject rollup),
   * so it never ages out of the stream; default three quarters of the stream's max age (5.25 d), ms;
   * infinite when the stream keeps events forever.
   */
  snapshotAfterMs: number;
  /** Sweeper period, default 1 000 ms. */
  sweepIntervalMs: number;
  /** Longest long-poll, default 30 s. */
  maxWaitSeconds: number;
  /** `artifactMaxBytes`: largest decoded inline artifact, default 10 MiB; 0 turns inline artifacts off. */
  artifactMaxBytes: number;
  /** `artifactsMaxBytesPerResult`: largest decoded inline artifacts of one result, default 32 MiB. */
  artifactsMaxBytesPerResult: number;
}

/**
 * The operations of the engine. `Engine` implements this; the API, SDK and CLI depend only on it.
 * Operations that change one task take `allowedCommands` (the commands the caller may act on, `*` =
 * all; default all): a task of another command is refused as `NOT_FOUND`, with nothing written.
 */
export interface EngineApi {
  /** Creates a task (or returns the existing one for a known idempotency key). */
  enqueue(input: EnqueueInput): Promise<TaskView>;
  /** Creates many tasks in one pipelined append; results in input order. */
  enqueueMany(inputs: EnqueueInput[]): Promise<TaskView[]>;
  /**
   * A task and its result, waiting up to `waitSeconds` (0..`RESULT_WAIT_SECONDS_MAX`, 60) for the
   * result; without one by then, the task alone. `NOT_FOUND` for an unknown task (at once).
   */
  waitForResult(
    taskId: string,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<{ task: TaskView; result?: ResultRecord }>;
  /**
   * The file of a result's inline artifact named `name`, with the task (for access checks).
   * `NOT_FOUND` when the task, the artifact or its file is not there.
   */
  artifactFile(
    taskId: string,
    name: string,
  ): Promise<{ task: TaskView; file: { path: string; size: number; contentType?: string } }>;
  /** Leases up to `count` tasks, waiting up to `waitSeconds` for arrivals. `[]` when none came. */
  claim(input: ClaimInput): Promise<TaskView[]>;
  /** Extends the caller's lease; returns the new deadline (epoch ms). */
  heartbeat(input: {
    taskId: string;
    workerId: string;
    /** Seconds from now; absent or 0: `defaultLeaseSeconds` (300). */
    extendSeconds?: number;
    allowedCommands?: readonly string[];
  }): Promise<{ leaseUntil: number }>;
  /**
   * Records the lease holder's progress (`progress` percent 0..100, `data` JSON of at most 4 KiB):
   * a `progressed` event, shown in the task's view and history. The lease does not move. A
   * cancelled task answers `TASK_CANCELLED`.
   */
  progress(input: {
    taskId: string;
    workerId: string;
    progress: number;
    data?: unknown;
    allowedCommands?: readonly string[];
  }): Promise<{ progress: number; progressAt: number }>;
  /** Gives the task back for a retry with backoff, or dead-letters it at the attempt limit. */
  nack(input: {
    taskId: string;
    workerId: string;
    /** Seconds before the retry, capped at `backoffMaxSeconds`; absent or 0: the backoff policy. */
    delaySeconds?: number;
    reason?: string;
    /** Do not retry: dead-letter now, whatever the attempts (codeq addition). */
    deadLetter?: boolean;
    /**
     * A rate limit downstream, not a failure: the attempt is not spent, the task waits
     * `delaySeconds` (default: the backoff) and so does its group key or, without one, its queue.
     */
    rateLimited?: boolean;
    allowedCommands?: readonly string[];
  }): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }>;
  /** Gives the task back untouched (ready at once, attempts kept). */
  abandon(input: { taskId: string; workerId: string; allowedCommands?: readonly string[] }): Promise<void>;
  /** Records a successful result. Terminal. */
  complete(input: {
    taskId: string;
    workerId: string;
    result: unknown;
    artifacts?: Artifact[];
    allowedCommands?: readonly string[];
  }): Promise<ResultRecord>;
  /** Records a failed result. Terminal. */
  fail(input: {
    taskId: string;
    workerId: string;
    error: string;
    artifacts?: Artifact[];
    allowedCommands?: readonly string[];
  }): Promise<ResultRecord>;
  /**
   * Records many results (completed or failed) in a few round trips; each item answers on its own
   * with its result record or the error that refused it.
   */
  submitResults(inputs: ResultInput[]): Promise<(ResultRecord | CodeqError)[]>;
  /** One task, or `NOT_FOUND`. */
  getTask(taskId: string): Promise<TaskView>;
  /** The task and its result (`result` absent until terminal). */
  getResult(taskId: string): Promise<{ task: TaskView; result?: ResultRecord }>;
  /** Every event of the task, folded through the machine. */
  history(taskId: string): Promise<TaskHistory>;
  /** Counts for one command (zeros for an unknown one). */
  queueStats(command: string): Promise<QueueStats>;
  /** Counts for every command that has ever had a task. */
  allQueueStats(): Promise<QueueStats[]>;
  /**
   * The health figures of every queue with tasks, cheap enough for each metrics scrape: group keys
   * with ready work, grouped ready tasks, paused.
   */
  allQueueHealth(): Promise<QueueHealthSummary[]>;
  /** One queue in detail: counts, pause, limits and health figures (group keys, oldest ready age). */
  queueDetail(command: string): Promise<QueueDetail>;
  /**
   * Pauses, resumes or changes the limits of a queue, as an event in the log (`actor`: who, e.g.
   * `admin:<sub>`). Answers the queue's settings after it; an intent that changes nothing (pausing
   * a paused queue) writes nothing.
   */
  controlQueue(command: string, intent: QueueIntent, actor: string): Promise<QueueControlOutcome>;
  /** The newest `limit` control events of a queue (1..1000, default 1000), oldest first. */
  queueControlHistory(command: string, limit?: number): Promise<StoredControlEvent[]>;
  /** Recurring tasks: define, change, pause, resume, delete and run schedules. */
  readonly schedules: ScheduleApi;
  /**
   * When the longest-waiting ready task of each of `commands` became claimable, epoch ms, among
   * the task each priority would hand out next (and the next groups in turn); commands with nothing
   * ready are absent.
   */
  oldestReady(commands: readonly string[]): Promise<Map<string, number>>;
  /** Events in the log not yet applied to the Redis projection (stream last sequence minus checkpoint). */
  projectionLag(): Promise<number>;
  /** Dead-lettered tasks of a command, oldest first. */
  listDlq(command: string, options?: { cursor?: string; limit?: number }): Promise<Page<TaskView>>;
  /** Sends dead-lettered tasks back to the queue (attempts reset). `taskIds` absent: all of the command's DLQ. */
  requeueDlq(input: { command: string; taskIds?: string[]; actor: string }): Promise<{ requeued: number }>;
  /** Tasks of a command in a state, paginated. */
  listTasks(
    command: string,
    state: 'ready' | 'delayed' | 'inProgress' | 'dlq' | 'done',
    options?: { cursor?: string; limit?: number },
  ): Promise<Page<TaskView>>;
  /**
   * Cancels a pending or leased task (`CANCELLED`). A leased task's worker learns it from its next
   * heartbeat, progress report or result, refused with `TASK_CANCELLED`.
   */
  cancel(input: {
    taskId: string;
    actor: string;
    reason?: string;
    allowedCommands?: readonly string[];
  }): Promise<TaskView>;
  /**
   * Cancels every live task of one command that matches a filter, as one audited operation (each
   * event carries the actor and the operation id); `dryRun` counts only. See `bulk-cancel.ts`.
   */
  cancelTasks(input: BulkCancelInput): Promise<BulkCancelResult>;
  /** Deletes terminal tasks last changed before `before` (from the projection and the log). */
  cleanup(input: {
    before: number;
    /** Most tasks to delete; 0: `CLEANUP_LIMIT_DEFAULT` (1000). */
    limit: number;
  }): Promise<{ deleted: number }>;
  /**
   * A page of the event log from a sequence or a time (oldest first), waiting up to `waitSeconds`
   * (at most 30) for new events when there are none yet (`events tail`).
   */
  readEvents(input: {
    fromSeq?: number;
    fromTime?: number;
    limit?: number;
    waitSeconds?: number;
    signal?: AbortSignal;
    /** One command's events only (the log filters them); default every command's. */
    command?: string;
  }): Promise<{ events: StoredTaskEvent[]; nextSeq: number }>;
  /** Flushes the projection and replays the whole log into it; returns events replayed and time taken. */
  rebuildProjection(): Promise<number>;
  /** True when NATS and Redis answer and the projection has caught up with the log. */
  readiness(): Promise<{ nats: boolean; redis: boolean; projectionLag: number }>;
  /** Stops background loops, releases waiting claims (they resolve `[]`), closes connections it owns. */
  close(): Promise<void>;
}

/** Hooks the engine calls after it acts (metrics, logs). Must be cheap and must not throw. */
export interface EngineObserver {
  /** Events this process appended and applied (every transition it caused). */
  onEventsAppended?(events: readonly StoredTaskEvent[]): void;
  /**
   * A claim call finished after waiting `waitMs` ms with `count` tasks; `handedOff` when they were
   * handed to it at their enqueue (no reserve round).
   */
  onClaimFinished?(waitMs: number, count: number, handedOff?: boolean): void;
  /** Tasks a claim call just leased (their views after the claim), at `now` (epoch ms). */
  onTasksClaimed?(tasks: readonly TaskView[], now: number): void;
}

/** How to build an `Engine` (`Engine.create(options)`). */
export interface EngineOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  natsServers: string | string[];
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** JetStream stream name; default `CODEQ_TASKS`. */
  streamName?: string;
  /** Subject prefix of task events; default `codeq.task` (subjects `<prefix>.<command>.<taskId>`). */
  subjectPrefix?: string;
  /** Prefix of every Redis key; default `codeq`. */
  keyPrefix?: string;
  /** Stream replicas; default 1. */
  streamReplicas?: number;
  /** Log retention (stream max age), default 7 d, in ms. */
  streamMaxAgeMs?: number;
  /**
   * Window in which the log drops a repeated `Nats-Msg-Id` (a retried append), default 120000 ms.
   * Idempotency keys do not depend on it: they hold for `idempotencyTtlMs`.
   */
  streamDuplicateWindowMs?: number;
  /**
   * The longest one operation waits on NATS or Redis (every retry included) before it fails with a
   * retryable `UNAVAILABLE`, in ms; default 5000.
   */
  dependencyTimeoutMs?: number;
  /** Tunables; defaults from the contract. */
  settings?: Partial<EngineSettings>;
  /**
   * Where results' inline artifacts (`contentBase64`) are stored as files (`localArtifactsDir`);
   * default none: inline artifacts are refused. Instances serving one deployment must share it.
   */
  artifactsDir?: string;
  /** Run the background sweeper and projector (leader-elected); default true. */
  background?: boolean;
  /** pino-compatible logger; default silent. */
  logger?: Logger;
  /** Metrics and other hooks. */
  observer?: EngineObserver;
}
