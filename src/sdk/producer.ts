/**
 * The producer: enqueue (client-side batched), enqueueMany, reads, result waiting, cancel (one task,
 * or in bulk by filter), stats.
 * Payloads are typed per command through a command map (a type parameter, or declaration merging on
 * {@link CodeqCommands}).
 */
import { randomUUID } from 'node:crypto';
import { CodeqError } from '../errors.js';
import { withActiveTrace } from '../tracing/trace-fields.js';
import { Batcher } from './batcher.js';
import type { Settled } from './batcher.js';
import { isTransient } from './errors.js';
import { resolveRetry, sleep, withRetry } from './retry.js';
import type { ResolvedRetryOptions, RetryOptions } from './retry.js';
import type {
  BulkCancelOptions,
  BulkCancelSummary,
  TransportCancelFilter,
  QueueStats,
  ResultRecord,
  Task,
  TaskEventEntry,
  Transport,
  TransportEnqueue,
} from './transport.js';

/**
 * Command name → payload type, for every command of the application. Augment it once to type every
 * producer and worker without type arguments:
 * ```ts
 * declare module 'codeq/sdk' { interface CodeqCommands { SEND_EMAIL: { to: string } } }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CodeqCommands {}

/** A command map: command name → payload type. */
export type CommandMap = Record<string, unknown>;

/** {@link CodeqCommands} when augmented, else any command with any payload. */
export type DefaultCommands = keyof CodeqCommands extends never ? CommandMap : CodeqCommands;

/** Per-task options of an enqueue. */
export interface EnqueueOptions {
  /** 0..9, 9 claimed first; default 0. */
  priority?: number;
  /** Deliveries allowed before dead-lettering; default the server's `maxAttemptsDefault` (5). */
  maxAttempts?: number;
  /** Claimable from this time (Date or epoch ms); wins over `delaySeconds`. */
  runAt?: Date | number;
  /** Claimable after this many whole seconds; default 0. */
  delaySeconds?: number;
  /** Absolute http(s) URL that receives the result. */
  webhook?: string;
  /** Same key within 24 h returns the same task; default a fresh `sdk-<uuid>` (see `idempotencyKeys`). */
  idempotencyKey?: string;
  /**
   * Group key (a tenant, a customer): claims take turns between keys with ready work, and the
   * queue's group limits (`groupConcurrency`, `groupRate`) count per key. 1..128 of letters, digits
   * and `_ . : @ -`; default none.
   */
  groupKey?: string;
  /**
   * W3C `traceparent` handed to the worker with the task (codeQ's `traceParent`). Default: the
   * active OpenTelemetry span's context when there is one (none without an OpenTelemetry SDK), so
   * the worker's handler span links to the span the task was enqueued in.
   */
  traceParent?: string;
  /** W3C `tracestate` handed along with `traceParent` (only with it); default the active span's. */
  traceState?: string;
}

/** One item of {@link Producer.enqueueMany}. */
export type EnqueueItem<M extends CommandMap, C extends keyof M & string = keyof M & string> = {
  [K in C]: { command: K; payload: M[K] } & EnqueueOptions;
}[C];

/** Options of a {@link Producer}. */
export interface ProducerOptions {
  /** Where tasks go. The producer does not own it: close it yourself after `producer.close()`. */
  transport: Transport;
  /**
   * Client-side batching of single `enqueue` calls: a batch goes out at `maxSize` calls or after
   * `maxDelayMs`, whichever comes first. `false` sends each call on its own. Default
   * `{ maxSize: 100, maxDelayMs: 5 }`.
   */
  batch?: false | { maxSize?: number; maxDelayMs?: number };
  /** Retries of transient failures (connection loss, 5xx, version conflicts); defaults of {@link RetryOptions}. */
  retry?: RetryOptions;
  /**
   * `auto` (default): every task without an idempotency key gets a fresh one, so an enqueue whose
   * answer was lost can be retried without creating a second task. `off`: no keys are added, and an
   * enqueue without a key is never retried (a lost answer may hide a created task).
   */
  idempotencyKeys?: 'auto' | 'off';
}

/** Options of {@link Producer.result}. */
export interface ResultOptions {
  /** Wait up to this many ms for the task to finish; default 0 (answer at once). */
  waitMs?: number;
  /** First poll interval while waiting, in ms; default 50 ms, growing ×1.5 up to 1 000 ms. */
  pollIntervalMs?: number;
  /** Stops waiting (rejects with `ABORTED`). */
  signal?: AbortSignal;
}

/** A task's terminal outcome and the task itself. */
export interface TaskResult<R = unknown> {
  /** The task as it is now. */
  task: Task;
  /** The result, once the task completed or failed; absent while it is not terminal. */
  result?: (Omit<ResultRecord, 'result'> & { result?: R }) | undefined;
}

/** Enqueues tasks and reads them back. */
export class Producer<M extends CommandMap = DefaultCommands> {
  private readonly transport: Transport;
  private readonly retry: ResolvedRetryOptions;
  private readonly autoKeys: boolean;
  private readonly batcher: Batcher<TransportEnqueue, Task> | undefined;
  private closed = false;

  constructor(options: ProducerOptions) {
    this.transport = options.transport;
    this.retry = resolveRetry(options.retry);
    this.autoKeys = (options.idempotencyKeys ?? 'auto') === 'auto';
    if (options.batch !== false) {
      this.batcher = new Batcher<TransportEnqueue, Task>({
        maxSize: Math.min(options.batch?.maxSize ?? 100, this.transport.maxEnqueueBatch),
        maxDelayMs: options.batch?.maxDelayMs ?? 5,
        send: (items) => this.sendBatch(items),
      });
    }
  }

  /** Batches sent by the client-side batcher so far. */
  get batchesSent(): number {
    return this.batcher?.batchCount ?? 0;
  }

  /**
   * Creates one task. With batching on, calls within the batching window travel together; the
   * promise resolves with this call's own task once the server acknowledged it.
   */
  async enqueue<C extends keyof M & string>(
    command: C,
    payload: M[C],
    options: EnqueueOptions = {},
  ): Promise<Task<M[C]>> {
    this.assertOpen();
    const input = this.toInput(command, payload, options);
    const task = this.batcher ? await this.batcher.add(input) : (await this.send([input]))[0]!;
    return task as Task<M[C]>;
  }

  /** Creates many tasks, in as few round trips as the transport allows; answers in input order. */
  async enqueueMany(items: ReadonlyArray<EnqueueItem<M>>): Promise<Task[]> {
    this.assertOpen();
    const inputs = items.map((i) => {
      const { command, payload, ...options } = i as { command: string; payload: unknown } & EnqueueOptions;
      return this.toInput(command, payload, options);
    });
    const out: Task[] = [];
    for (let i = 0; i < inputs.length; i += this.transport.maxEnqueueBatch) {
      out.push(...(await this.send(inputs.slice(i, i + this.transport.maxEnqueueBatch))));
    }
    return out;
  }

  /** One task, or `NOT_FOUND`. */
  get(taskId: string): Promise<Task> {
    return withRetry(() => this.transport.getTask(taskId), this.retry);
  }

  /**
   * The task and its result. With `waitMs`, polls until the task is terminal (completed, failed,
   * dead-lettered or cancelled) or the wait ends; never throws for "not finished yet".
   */
  async result<R = unknown>(taskId: string, options: ResultOptions = {}): Promise<TaskResult<R>> {
    const deadline = Date.now() + (options.waitMs ?? 0);
    let interval = options.pollIntervalMs ?? 50;
    let rereadDone = false;
    for (;;) {
      const answer = await withRetry(() => this.transport.getResult(taskId), this.retry, {
        signal: options.signal,
      });
      const { status } = answer.task;
      // Over HTTP the task may finish between "no result yet" and the task read: read once more.
      const justFinished = answer.result === undefined && (status === 'COMPLETED' || status === 'FAILED');
      if (justFinished && !rereadDone) {
        rereadDone = true;
        continue;
      }
      const terminal = answer.result !== undefined || (status !== 'PENDING' && status !== 'IN_PROGRESS');
      if (terminal || Date.now() >= deadline) return answer as TaskResult<R>;
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), options.signal);
      interval = Math.min(1000, interval * 1.5);
    }
  }

  /** Every event of the task, oldest first. */
  history(taskId: string): Promise<TaskEventEntry[]> {
    return withRetry(() => this.transport.history(taskId), this.retry);
  }

  /**
   * Cancels a pending or running task (`WRONG_STATE` once it finished). A running task's worker is
   * told at its next heartbeat or progress report (its SDK job's signal fires); its result is refused.
   */
  cancel(taskId: string, reason?: string): Promise<Task> {
    return withRetry(() => this.transport.cancel(taskId, reason), this.retry);
  }

  /**
   * Cancels every pending or running task of `filter.command` that matches the filter, as one
   * operation (each `cancelled` event carries the operation id); `dryRun` only counts. Needs admin
   * rights (over HTTP: an admin token). Not retried: a second run would be a second operation.
   */
  cancelTasks(
    filter: TransportCancelFilter & { command: keyof M & string },
    options: BulkCancelOptions = {},
  ): Promise<BulkCancelSummary> {
    return this.transport.cancelTasks(filter, options);
  }

  /** Counts of one command's queue: ready, delayed, in progress, dead-lettered. */
  stats(command: keyof M & string): Promise<QueueStats> {
    return withRetry(() => this.transport.queueStats(command), this.retry);
  }

  /** Sends what the batcher holds and waits for every answer. */
  flush(): Promise<void> {
    return this.batcher?.flush() ?? Promise.resolve();
  }

  /** Refuses new enqueues, then sends and awaits the pending ones (none is dropped). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private assertOpen(): void {
    if (this.closed) throw new CodeqError('ABORTED', 'producer is closed');
  }

  private toInput(command: string, payload: unknown, options: EnqueueOptions): TransportEnqueue {
    const { runAt, ...rest } = options;
    // The context active now, at the call: a batched enqueue is sent later, from a timer.
    const input: TransportEnqueue = withActiveTrace({ command, payload, ...rest });
    if (runAt !== undefined) input.runAt = runAt instanceof Date ? runAt.getTime() : runAt;
    if (input.idempotencyKey === undefined && this.autoKeys) input.idempotencyKey = `sdk-${randomUUID()}`;
    return input;
  }

  /** One round trip, retried when that cannot create duplicates (every input has a key). */
  private send(inputs: TransportEnqueue[]): Promise<Task[]> {
    const safe = inputs.every((i) => i.idempotencyKey !== undefined);
    return withRetry(() => this.transport.enqueueMany(inputs), this.retry, {
      retryable: (err) => safe && isTransient(err),
    });
  }

  /**
   * Sends one client-side batch. A batch refused as a whole for one bad item (`INVALID_INPUT`,
   * `IDEMPOTENCY_CONFLICT`) is sent again item by item, so each caller gets its own outcome.
   */
  private async sendBatch(inputs: TransportEnqueue[]): Promise<Settled<Task>[]> {
    try {
      return (await this.send(inputs)).map((value) => ({ ok: true, value }));
    } catch (err) {
      const perItem =
        inputs.length > 1 &&
        err instanceof CodeqError &&
        (err.code === 'INVALID_INPUT' || err.code === 'IDEMPOTENCY_CONFLICT');
      if (!perItem) throw err;
      return Promise.all(
        inputs.map((input) =>
          this.send([input]).then(
            ([value]) => ({ ok: true as const, value: value! }),
            (error: unknown) => ({ ok: false as const, error }),
          ),
        ),
      );
    }
  }
}
