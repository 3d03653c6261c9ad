/**
 * The worker: claims in batches with long-poll, runs handlers with bounded concurrency, keeps leases
 * alive, completes on return (completions batched), nacks on a throw, and shuts down gracefully.
 */
import { CodeqError } from '../errors.js';
import { Batcher } from './batcher.js';
import type { Settled } from './batcher.js';
import { JobAbortedError, RetryLaterError, UnrecoverableError, isLeaseLost, toCodeqError } from './errors.js';
import { LeaseKeeper } from './job-lease.js';
import type { CommandMap, DefaultCommands } from './producer.js';
import { backoffDelayMs, resolveRetry, sleep, withRetry } from './retry.js';
import type { ResolvedRetryOptions } from './retry.js';
import type { ResultRecord, Task, Transport, TransportCompletion } from './transport.js';
import { TypedEmitter } from './typed-emitter.js';
import type { FailureInfo, Job, WorkerEvents, WorkerOptions } from './worker.types.js';

/** One task this worker holds. */
interface Running {
  job: Job;
  controller: AbortController;
  lease: LeaseKeeper;
  /** The handler returned or threw: its outcome is being recorded; close() waits for it. */
  finishing: boolean;
  /** Given back at shutdown: whatever the handler returns later is ignored. */
  handedBack: boolean;
  /** Settles when the task left this worker (recorded or handed back). */
  done: Promise<void>;
}

/** The result object stored for a handler's return value (the API wants an object). */
export function toResultObject(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return { value };
}

/** Claims and runs tasks. Create it, listen to its events, `close()` it on shutdown. */
export class Worker<
  M extends CommandMap = DefaultCommands,
  C extends keyof M & string = keyof M & string,
  R = unknown,
> extends TypedEmitter<WorkerEvents> {
  private readonly transport: Transport;
  private readonly options: WorkerOptions<M, C, R>;
  private readonly concurrency: number;
  private readonly claimBatch: number;
  private readonly claimLoops: number;
  /** Slots promised to claim calls in flight (so parallel loops never claim past `concurrency`). */
  private claiming = 0;
  private readonly leaseSeconds: number;
  private readonly waitSeconds: number;
  private readonly heartbeatMs: number | undefined;
  private readonly retry: ResolvedRetryOptions;
  private readonly completions: Batcher<TransportCompletion, ResultRecord>;
  private readonly active = new Set<Running>();
  private readonly stopController = new AbortController();
  private slotWaiters: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: WorkerOptions<M, C, R>) {
    super();
    if (options.commands.length === 0)
      throw new CodeqError('INVALID_INPUT', 'worker: commands must not be empty');
    this.options = options;
    this.transport = options.transport;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 10));
    this.claimBatch = Math.max(
      1,
      Math.min(options.claimBatchSize ?? this.concurrency, this.transport.maxClaimBatch),
    );
    this.claimLoops = Math.max(
      1,
      Math.floor(options.claimLoops ?? Math.min(4, Math.ceil(this.concurrency / this.claimBatch))),
    );
    this.leaseSeconds = Math.max(1, Math.ceil(options.leaseSeconds ?? 30));
    this.waitSeconds = Math.min(30, Math.max(0, Math.round(options.waitSeconds ?? 5)));
    const hb = options.heartbeat ?? true;
    this.heartbeatMs = hb === false ? undefined : hb === true ? (this.leaseSeconds * 1000) / 3 : hb;
    this.retry = resolveRetry(options.retry);
    this.completions = new Batcher({
      maxSize: options.completionBatch?.maxSize ?? 64,
      maxDelayMs: options.completionBatch?.maxDelayMs ?? 2,
      send: (items) => this.sendCompletions(items),
    });
    if (options.autorun ?? true) void this.run();
  }

  /** Handlers running now. */
  get running(): number {
    return this.active.size;
  }

  /** True once `close()` was called. */
  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /** Starts claiming (once); resolves when the claim loop ended after `close()`. */
  run(): Promise<void> {
    this.loop ??= Promise.all(Array.from({ length: this.claimLoops }, () => this.claimLoop())).then(
      () => undefined,
    );
    return this.loop;
  }

  /**
   * Shuts down: stops claiming, lets running handlers finish for up to `timeoutMs` (default the
   * `shutdownTimeoutMs` option), then aborts the others' signals and abandons their tasks so other
   * workers can claim them at once. Resolves when no task is held any more. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(options.timeoutMs ?? this.options.shutdownTimeoutMs ?? 10_000);
    return this.closing;
  }

  protected override onListenerError(err: unknown): void {
    // Reported once as an error event; an error listener that throws is not called again for it.
    if (this.listenerCount('error') > 0) super.emit('error', toCodeqError(err));
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // In-process claims return what they leased when aborted; over HTTP the long-poll ends by itself.
    this.stopController.abort();
    this.wakeSlotWaiters();
    await (this.loop ?? Promise.resolve());
    const timer = sleep(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const);
    await Promise.race([Promise.allSettled([...this.active].map((r) => r.done)), timer]);
    const leftovers = [...this.active];
    await Promise.allSettled(leftovers.map((r) => (r.finishing ? r.done : this.handBack(r))));
    await this.completions.flush();
    this.emit('closed');
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    waiters.forEach((w) => w());
  }

  private async claimLoop(): Promise<void> {
    let failures = 0;
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      if (this.active.size + this.claiming >= this.concurrency) {
        await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
        continue;
      }
      // Let handlers that finish together free their slots, so the next claim is one bigger batch.
      if (this.active.size > 0) await new Promise((r) => setImmediate(r));
      const count = Math.min(this.concurrency - this.active.size - this.claiming, this.claimBatch);
      if (count <= 0) continue;
      this.claiming += count;
      const claimedAt = Date.now();
      let tasks: Task[];
      try {
        tasks = await this.transport.claim({
          commands: this.options.commands,
          leaseSeconds: this.leaseSeconds,
          waitSeconds: this.waitSeconds,
          count,
          ...(this.transport.abortableClaims ? { signal: stop } : {}),
        });
        failures = 0;
      } catch (err) {
        this.claiming -= count;
        if (stop.aborted) break;
        this.emit('error', toCodeqError(err));
        await sleep(backoffDelayMs(failures++, this.retry) + 50, stop).catch(() => undefined);
        continue;
      }
      this.claiming -= count;
      // Slots promised to this call but not filled are free again for the other loops.
      if (tasks.length < count) this.wakeSlotWaiters();
      if (stop.aborted) {
        // Claimed while shutting down: give them straight back rather than start new work.
        await Promise.allSettled(tasks.map((t) => withRetry(() => this.transport.abandon(t.id), this.retry)));
        break;
      }
      for (const task of tasks) this.start(task, claimedAt);
    }
  }

  private start(task: Task, claimedAt: number): void {
    const controller = new AbortController();
    const entry = { controller, finishing: false, handedBack: false } as Running;
    entry.lease = new LeaseKeeper({
      transport: this.transport,
      taskId: task.id,
      leaseSeconds: this.leaseSeconds,
      claimedAt,
      intervalMs: this.heartbeatMs,
      onLost: (error) => {
        controller.abort(error);
        this.emit('leaseLost', entry.job, error);
      },
      onError: (error) => this.emit('error', error, entry.job),
    });
    entry.job = this.makeJob(task, entry);
    this.active.add(entry);
    entry.done = this.process(entry).finally(() => this.release(entry));
  }

  private release(entry: Running): void {
    if (!this.active.delete(entry)) return;
    const waiter = this.slotWaiters.shift();
    waiter?.();
  }

  private makeJob(task: Task, entry: Running): Job {
    const emitProgress = (value: unknown) => this.emit('progress', entry.job, value);
    let progress: unknown;
    return {
      id: task.id,
      command: task.command,
      payload: task.payload,
      attempt: task.attempts,
      maxAttempts: task.maxAttempts,
      task,
      signal: entry.controller.signal,
      get progress() {
        return progress;
      },
      get leaseUntil() {
        return entry.lease.serverLeaseUntil;
      },
      async updateProgress(value: unknown) {
        progress = value;
        emitProgress(value);
        await entry.lease.extend().catch(() => undefined);
      },
      extendLease: () => entry.lease.extend(),
    };
  }

  private async process(entry: Running): Promise<void> {
    const { job } = entry;
    this.emit('active', job);
    let outcome: Settled<unknown>;
    try {
      const handler = this.options.handler as (job: Job) => Promise<unknown> | unknown;
      outcome = { ok: true, value: await handler(job) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    entry.lease.stop();
    if (entry.handedBack) return;
    entry.finishing = true;
    try {
      if (outcome.ok) {
        const result = await this.completions.add({
          taskId: job.id,
          result: toResultObject(outcome.value),
          command: job.command,
        });
        this.emit('completed', job, result);
      } else {
        await this.recordFailure(job, outcome.error);
      }
    } catch (err) {
      // Typically NOT_OWNER / WRONG_STATE / LEASE_EXPIRED: the lease was lost and the result refused.
      this.emit('error', toCodeqError(err), job);
    }
  }

  private async recordFailure(job: Job, thrown: unknown): Promise<void> {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const message = (error.message || error.name || 'handler failed').slice(0, 4096);
    let info: FailureInfo;
    if (error instanceof UnrecoverableError) {
      // Straight to the dead-letter queue (an admin can requeue it), not a FAILED result.
      await withRetry(() => this.transport.nack(job.id, { reason: message, deadLetter: true }), this.retry);
      info = { outcome: 'dead', via: 'nack' };
    } else {
      const nack: { reason: string; delaySeconds?: number } = { reason: message };
      if (error instanceof RetryLaterError) nack.delaySeconds = error.delaySeconds;
      const out = await withRetry(() => this.transport.nack(job.id, nack), this.retry);
      info =
        out.status === 'dlq'
          ? { outcome: 'dead', via: 'nack' }
          : { outcome: 'retry', via: 'nack', delaySeconds: out.delaySeconds };
    }
    this.emit('failed', job, error, info);
  }

  /** Gives a still-running task back at shutdown: abort the handler, abandon the task. */
  private async handBack(entry: Running): Promise<void> {
    entry.handedBack = true;
    entry.lease.stop();
    entry.controller.abort(new JobAbortedError('shutdown', 'worker is shutting down; task abandoned'));
    try {
      if (!entry.lease.lost) await withRetry(() => this.transport.abandon(entry.job.id), this.retry);
    } catch (err) {
      // Lost meanwhile: the server repairs it (or already did); nothing is stuck.
      if (!isLeaseLost(err)) this.emit('error', toCodeqError(err), entry.job);
    } finally {
      this.release(entry);
    }
  }

  /**
   * One batch of completions. When the batch had to be retried, an item refused on the retry may
   * have been recorded by the try whose answer was lost: it counts as done if the task is completed.
   */
  private async sendCompletions(items: TransportCompletion[]): Promise<Settled<ResultRecord>[]> {
    let retried = false;
    const answers = await withRetry((attempt) => {
      retried = attempt > 0;
      return this.transport.completeMany(items);
    }, this.retry);
    if (!retried) return answers;
    return Promise.all(
      answers.map(async (a, i) => {
        if (a.ok || !isLeaseLost(a.error)) return a;
        const task = await this.transport.getTask(items[i]!.taskId).catch(() => undefined);
        if (task?.status !== 'COMPLETED') return a;
        const value: ResultRecord = {
          taskId: task.id,
          status: 'COMPLETED',
          result: items[i]!.result,
          completedAt: task.updatedAt,
        };
        return { ok: true as const, value };
      }),
    );
  }
}
