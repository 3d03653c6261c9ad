/** Options, the job handed to a handler, and the events of a {@link import('./worker.js').Worker}. */
import type { CodeqError } from '../errors.js';
import type { CommandMap, DefaultCommands } from './producer.js';
import type { RetryOptions } from './retry.js';
import type { ResultRecord, Task, Transport } from './transport.js';

/** A claimed task as a handler sees it. */
export interface Job<P = unknown> {
  /** Task id. */
  readonly id: string;
  /** Command name. */
  readonly command: string;
  /** The producer's payload. */
  readonly payload: P;
  /** This delivery's number (1 on the first try). */
  readonly attempt: number;
  /** Deliveries allowed before the task is dead-lettered. */
  readonly maxAttempts: number;
  /** The task as claimed. */
  readonly task: Task<P>;
  /**
   * Fires when the task was cancelled (reason: a `JobAbortedError` with `reason: 'cancelled'`, code
   * `TASK_CANCELLED`; the worker learns it from a refused heartbeat or progress report), when the
   * worker lost the lease (`reason: 'leaseLost'`) or gave the task back at shutdown (`reason:
   * 'shutdown'`). Pass it to fetch, streams, child processes... After a cancel the worker sends
   * nothing for the task whatever the handler does; after a lost lease a result is refused by the
   * server.
   */
  readonly signal: AbortSignal;
  /** The last value given to {@link Job.updateProgress}. */
  readonly progress: number | undefined;
  /** Lease deadline as last confirmed by the server, epoch ms. */
  readonly leaseUntil: number;
  /**
   * Reports progress: `progress` in percent (0..100), `data` any small JSON (at most 4 KiB encoded).
   * Stored on the job, emitted as the worker's `progress` event, and recorded on the server (a
   * `progressed` event: in the task's view, history and the events stream). At most one report is
   * in flight per job; calls made meanwhile are coalesced, the latest winning. The lease does not
   * move (automatic heartbeats keep it). Resolves once recorded (or when it failed for a reason
   * that may pass: that is an `error` event, not a rejection); rejects when the server refused it:
   * with the job's abort error once the task was cancelled or the lease lost (the signal fires too),
   * `INVALID_INPUT` for a bad value.
   */
  updateProgress(progress: number, data?: unknown): Promise<void>;
  /** Extends the lease now (the worker also does it on its own). Rejects when the lease is lost. */
  extendLease(): Promise<void>;
}

/** Handler of a worker: resolve to complete, throw to nack (see the error classes). */
export type Handler<M extends CommandMap, C extends keyof M & string, R> = (job: Job<M[C]>) => Promise<R> | R;

/** Options of a {@link import('./worker.js').Worker}. */
export interface WorkerOptions<
  M extends CommandMap = DefaultCommands,
  C extends keyof M & string = keyof M & string,
  R = unknown,
> {
  /** Where tasks come from. The worker does not own it: close it yourself after `worker.close()`. */
  transport: Transport;
  /**
   * Commands to claim from. Empty means "what the credentials allow", only on a transport with
   * {@link Transport.claimsWithoutCommands} (over HTTP: the worker token's event types); the
   * constructor refuses it on the others.
   */
  commands: C[];
  /** The handler. Its return value is the result (a non-object is stored as `{ value }`). */
  handler: Handler<M, C, R>;
  /** Handlers running at once; default 10. */
  concurrency?: number;
  /** Most tasks per claim; default `concurrency`, capped by the transport (HTTP 256, in-process 1 000). */
  claimBatchSize?: number;
  /**
   * Claim calls in flight at once, so one claim's round trip overlaps the next; default
   * `min(4, ceil(concurrency / claimBatchSize))`. Slots are reserved per call: never more than
   * `concurrency` tasks are held.
   */
  claimLoops?: number;
  /**
   * Take tasks pushed by the server when the transport can (NATS: `NatsTransport`), keeping as many
   * credits outstanding as slots are free, so no claim loop runs (`claimBatchSize`, `claimLoops` and
   * `waitSeconds` do not apply then); default true. False: claim, as on the other transports.
   */
  push?: boolean;
  /** Lease length per claim and per heartbeat, whole seconds; default 30 s. */
  leaseSeconds?: number;
  /** Long-poll wait of a claim when the queue is empty, whole seconds (0..30); default 5 s. */
  waitSeconds?: number;
  /**
   * Automatic heartbeats: `true` (default) every `leaseSeconds / 3`; a number = that period in ms;
   * `false` = never (the handler must finish within the lease or call `job.extendLease()`). One
   * timer serves all tasks: a heartbeat goes out one period after the task started or after its
   * previous heartbeat (also one by `extendLease`), or up to a tenth of the period
   * earlier so that tasks started close together share a timer run; never later (beyond event-loop
   * lag).
   */
  heartbeat?: boolean | number;
  /** close(): how long running handlers may take before their tasks are abandoned, ms; default 10 000 ms. */
  shutdownTimeoutMs?: number;
  /** Completions sent together: at most `maxSize` per round trip, waiting at most `maxDelayMs`; default `{ maxSize: 64, maxDelayMs: 2 }`. */
  completionBatch?: { maxSize?: number; maxDelayMs?: number };
  /** Retries of transient failures of lease calls and results; defaults of {@link RetryOptions}. */
  retry?: RetryOptions;
  /** Start claiming in the constructor; default true (else call `run()`). */
  autorun?: boolean;
  /**
   * Stop claiming once this many tasks were claimed, let them finish (however long they take: no
   * shutdown timeout applies), then close; `run()` resolves when closed. Default: no limit (run
   * until `close()`).
   */
  maxTasks?: number;
  /**
   * A claim error that retrying cannot fix (anything {@link import('./errors.js').isTransient} says
   * no to: a bad or unauthorised token, a command the token may not claim, a bad request) closes the
   * worker, and `run()` rejects with it once closed. Default false: every claim error is an `error`
   * event and the claim is retried with backoff (so a token fixed on the server starts working
   * without a restart).
   */
  stopOnPermanentClaimError?: boolean;
}

/** How a failed attempt ended. */
export interface FailureInfo {
  /**
   * `retry`: nacked or abandoned, will be claimable again; `dead`: dead-lettered (attempts used up,
   * or `UnrecoverableError`); `leaseExpiry`: left to its lease (`LetLeaseExpireError`), the server
   * retries or dead-letters it when the lease runs out.
   */
  outcome: 'retry' | 'dead' | 'leaseExpiry';
  /**
   * What the worker sent: `nack` (a thrown error, `UnrecoverableError` included), `abandon`
   * (`AbandonError`), `none` (`LetLeaseExpireError`). `fail` is never reported any more
   * (`UnrecoverableError` dead-letters through a nack); it stays in the type for compatibility.
   */
  via: 'nack' | 'fail' | 'abandon' | 'none';
  /** Seconds before the retry (nack), as the server decided. */
  delaySeconds?: number | undefined;
}

/** Events of a worker. */
export type WorkerEvents = {
  /** A handler started. */
  active: [job: Job];
  /** The result was recorded. */
  completed: [job: Job, result: ResultRecord];
  /** A handler threw and the task was nacked, abandoned or left to its lease (see {@link FailureInfo}). */
  failed: [job: Job, error: Error, info: FailureInfo];
  /** `job.updateProgress()` was called. */
  progress: [job: Job, progress: number, data: unknown];
  /** The lease was lost: the handler's signal fired. */
  leaseLost: [job: Job, error: CodeqError];
  /**
   * The task was cancelled while it ran (a heartbeat or progress report was refused with
   * `TASK_CANCELLED`): the handler's signal fired, and the worker sends no result for it.
   */
  cancelled: [job: Job, error: CodeqError];
  /** Something went wrong outside a handler (claim, heartbeat, a refused result...). */
  error: [error: CodeqError, job?: Job];
  /**
   * The worker let go of the task and freed its slot: after its `completed` or `failed` event, after
   * the `error` event of a refused outcome, when its cancelled handler returned, or when it was
   * handed back at shutdown. Exactly once per job, its last event.
   */
  released: [job: Job];
  /** close() finished. */
  closed: [];
};
