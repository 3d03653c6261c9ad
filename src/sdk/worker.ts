/**
 * The worker: claims in batches with long-poll, runs handlers with bounded concurrency, keeps leases
 * alive, completes on return (completions batched), nacks on a throw, and shuts down gracefully.
 * Each handler runs in an OpenTelemetry span linked to its producer (`worker-tracing.ts`).
 */
import type { Span } from '@opentelemetry/api';
import { WAIT_SECONDS_MAX } from '../contract/limits.js';
import { setMaxListeners } from 'node:events';
import type { CodeqError } from '../errors.js';
import { Batcher } from './batcher.js';
import { JobAbortedError, isCancellation, isLeaseLost, isTransient, toCodeqError } from './errors.js';
import { LeaseClock } from './job-lease.js';
import type { CommandMap, DefaultCommands } from './producer.js';
import { backoffDelayMs, resolveRetry, sleep, withRetry } from './retry.js';
import type { ResolvedRetryOptions } from './retry.js';
import type { ResultRecord, Task, Transport, TransportCompletion } from './transport.js';
import { TypedEmitter } from './typed-emitter.js';
import { Running } from './worker-job.js';
import { HeldTasks, claimLimits } from './worker-slots.js';
import { callInSpan, failProcessSpan, startProcessSpan } from './worker-tracing.js';
import { receivePushed } from './worker-push.js';
import type { JobHost } from './worker-job.js';
import { completeBatch, isThenable, recordFailure, toResultObject } from './worker-outcomes.js';
import type { Job, WorkerEvents, WorkerOptions } from './worker.types.js';

export { toResultObject } from './worker-outcomes.js';

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
  /** Tasks claimed so far, and how many may be (`maxTasks`). */
  private claimed = 0;
  private readonly maxTasks: number;
  /** The claim error that stopped the worker (`stopOnPermanentClaimError`). */
  private claimError: CodeqError | undefined;
  private readonly leaseSeconds: number;
  private readonly waitSeconds: number;
  private readonly retry: ResolvedRetryOptions;
  private readonly handler: (job: Job) => unknown;
  private readonly completions: Batcher<TransportCompletion, ResultRecord>;
  /** One timer for the heartbeats and deadlines of every task held. */
  private readonly leases: LeaseClock<Running>;
  private readonly active = new HeldTasks<Running>();
  private readonly stopController = new AbortController();
  /** How the tasks report back: one object per worker, not closures per task. */
  private readonly host: JobHost = {
    progressed: (job, progress, data) => this.emit('progress', job, progress, data),
    reportFailed: (run, error) => this.emit('error', error, run.job),
    recorded: (run, result) => {
      this.emit('completed', run.job, result);
      this.release(run);
    },
    refused: (run, error) => {
      // Typically NOT_OWNER / WRONG_STATE / LEASE_EXPIRED: the lease was lost and the result refused.
      this.reportRefusal(run, toCodeqError(error));
      this.release(run);
    },
  };
  /** The claim loops. */
  private loop: Promise<void> | undefined;
  /** What `run()` returns: the claim loops, then what ends the worker's run. */
  private finished: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: WorkerOptions<M, C, R>) {
    super();
    this.options = options;
    this.transport = options.transport;
    ({
      concurrency: this.concurrency,
      claimBatch: this.claimBatch,
      claimLoops: this.claimLoops,
      maxTasks: this.maxTasks,
    } = claimLimits(options));
    // Every claim loop waits on the stop signal (a long-poll, a backoff sleep): not a leak, so lift
    // Node's warning threshold (10 listeners per signal) to what the loops can hold.
    setMaxListeners(Math.max(10, 2 * this.claimLoops + 10), this.stopController.signal);
    this.leaseSeconds = Math.max(1, Math.ceil(options.leaseSeconds ?? 30));
    this.waitSeconds = Math.min(WAIT_SECONDS_MAX, Math.max(0, Math.round(options.waitSeconds ?? 5)));
    const hb = options.heartbeat ?? true;
    this.leases = new LeaseClock<Running>({
      transport: this.transport,
      leaseSeconds: this.leaseSeconds,
      intervalMs: hb === false ? undefined : hb === true ? (this.leaseSeconds * 1000) / 3 : hb,
      onLost: (run, error) => {
        run.abort(error);
        if (isCancellation(error)) this.emit('cancelled', run.job, error);
        else this.emit('leaseLost', run.job, error);
      },
      onError: (run, error) => this.emit('error', error, run.job),
    });
    this.retry = resolveRetry(options.retry);
    this.handler = options.handler as (job: Job) => unknown;
    this.completions = new Batcher({
      maxSize: options.completionBatch?.maxSize ?? 64,
      maxDelayMs: options.completionBatch?.maxDelayMs ?? 2,
      send: (items) => completeBatch(this.transport, items, this.retry),
    });
    // The promise run() returns rejects only for `stopOnPermanentClaimError`; whoever calls run()
    // sees it, an autorun nobody awaits must not make it an unhandled rejection.
    if (options.autorun ?? true) this.run().catch(() => undefined);
  }

  /** Handlers running now. */
  get running(): number {
    return this.active.size;
  }

  /** True once `close()` was called. */
  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Starts claiming (once). Resolves when claiming ended after `close()`, or with `maxTasks` once
   * that many tasks were handled and the worker closed. Rejects with the claim error (once closed)
   * when `stopOnPermanentClaimError` stopped it.
   */
  run(): Promise<void> {
    this.finished ??= (this.loop = this.receive()).then(() => this.afterClaiming());
    return this.finished;
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

  /** The claim loops ended: by close(), a permanent claim error, or `maxTasks` reached. */
  private async afterClaiming(): Promise<void> {
    if (this.claimError) {
      await this.close();
      throw this.claimError;
    }
    if (this.stopController.signal.aborted) return;
    // maxTasks reached: the last tasks run to their end, then the worker closes itself.
    await this.active.idle();
    await this.close();
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // In-process claims return what they leased when aborted; over HTTP the long-poll ends by itself.
    this.stopController.abort();
    this.active.wakeSlotWaiters();
    await (this.loop ?? Promise.resolve());
    // No task starts any more: wait for the running ones, up to the timeout.
    await this.active.idle(Math.max(0, deadline - Date.now()));
    // Those whose outcome is being recorded are waited for; the others are given back.
    for (const run of this.active.snapshot()) if (!run.finishing) void this.handBack(run);
    await this.active.idle();
    await this.completions.flush();
    this.leases.close();
    this.emit('closed');
  }

  /** Pushed tasks when the transport pushes (and `push` is not false), else the claim loops. */
  private async receive(): Promise<void> {
    const subscribe = this.options.push === false ? undefined : this.transport.subscribe;
    if (!subscribe) {
      await Promise.all(Array.from({ length: this.claimLoops }, () => this.claimLoop()));
      return;
    }
    const stop = this.stopController.signal;
    const done = () => stop.aborted || this.claimed >= this.maxTasks;
    await receivePushed({
      subscribe: subscribe.bind(this.transport),
      commands: this.options.commands,
      leaseSeconds: this.leaseSeconds,
      held: this.active,
      capacity: () =>
        done() ? 0 : Math.min(this.concurrency - this.active.size, this.maxTasks - this.claimed),
      take: (task) => {
        this.claimed++;
        const now = Date.now();
        this.start(task, now, now);
        if (this.claimed >= this.maxTasks) this.active.wakeSlotWaiters();
      },
      done,
      onError: (error) => void this.claimFailed(error),
    });
  }

  /**
   * A claim (or credit) error: an `error` event, and with `stopOnPermanentClaimError` a permanent
   * one closes the worker; true when it does.
   */
  private claimFailed(error: CodeqError): boolean {
    this.emit('error', error);
    if (!this.options.stopOnPermanentClaimError || isTransient(error)) return false;
    this.claimError ??= error;
    void this.close();
    return true;
  }

  private async claimLoop(): Promise<void> {
    let failures = 0;
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      const allowed = this.maxTasks - this.claimed - this.claiming;
      // maxTasks claimed, and no other loop's claim may come back short: this loop is done.
      if (allowed <= 0 && this.claiming === 0) break;
      if (allowed <= 0 || this.active.size + this.claiming >= this.concurrency) {
        await this.active.waitForSlot();
        continue;
      }
      // Let handlers that finish together free their slots, so the next claim is one bigger batch.
      if (this.active.size > 0) await new Promise((r) => setImmediate(r));
      const count = Math.min(
        this.concurrency - this.active.size - this.claiming,
        this.claimBatch,
        this.maxTasks - this.claimed - this.claiming,
      );
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
        if (this.claimFailed(toCodeqError(err))) break;
        // The slots promised to this call are free again for the other loops.
        this.active.wakeSlotWaiters();
        await sleep(backoffDelayMs(failures++, this.retry) + 50, stop).catch(() => undefined);
        continue;
      }
      this.claiming -= count;
      this.claimed += tasks.length;
      // Slots promised to this call but not filled are free again for the other loops; at maxTasks
      // the loops waiting for them end.
      if (tasks.length < count || this.claimed >= this.maxTasks) this.active.wakeSlotWaiters();
      if (stop.aborted) {
        // Claimed while shutting down: give them straight back rather than start new work.
        await Promise.allSettled(tasks.map((t) => withRetry(() => this.transport.abandon(t.id), this.retry)));
        break;
      }
      const startedAt = Date.now();
      for (const task of tasks) this.start(task, claimedAt, startedAt);
    }
  }

  /**
   * Runs one claimed task. A handler that returns synchronously is settled at once, without a
   * promise; one that returns a promise is awaited.
   */
  private start(task: Task, claimedAt: number, startedAt: number): void {
    const run = new Running(this.leases, this.host, task, claimedAt);
    this.active.add(run);
    this.leases.add(run, startedAt);
    this.emit('active', run.job);
    const span = startProcessSpan(task);
    let value: unknown;
    try {
      value = callInSpan(span, this.handler, run.job);
    } catch (error) {
      failProcessSpan(span, error);
      this.settle(run, false, error);
      return;
    }
    if (isThenable(value)) return void this.awaitHandler(run, value, span);
    span?.end();
    this.settle(run, true, value);
  }

  private async awaitHandler(
    run: Running,
    pending: PromiseLike<unknown>,
    span: Span | undefined,
  ): Promise<void> {
    let value: unknown;
    try {
      value = await pending;
    } catch (error) {
      failProcessSpan(span, error);
      this.settle(run, false, error);
      return;
    }
    span?.end();
    this.settle(run, true, value);
  }

  /** Records the handler's outcome: a completion (batched) for a value, a failure for a throw. */
  private settle(run: Running, ok: boolean, outcome: unknown): void {
    run.stop();
    if (run.handedBack) return;
    // Cancelled while it ran: the server refuses anything for it, so nothing is sent.
    if (isCancellation(run.lost)) return this.release(run);
    run.finishing = true;
    if (ok) {
      const item = { taskId: run.taskId, result: toResultObject(outcome), command: run.job.command };
      // Answered through run.resolve / run.reject (the host's recorded / refused).
      this.completions.push(item, run);
    } else {
      void this.fail(run, outcome);
    }
  }

  private async fail(run: Running, thrown: unknown): Promise<void> {
    try {
      const { error, info } = await recordFailure(this.transport, run.taskId, thrown, this.retry);
      this.emit('failed', run.job, error, info);
    } catch (err) {
      // Typically NOT_OWNER / WRONG_STATE / LEASE_EXPIRED: the lease was lost and the nack (or
      // abandon) refused.
      this.reportRefusal(run, toCodeqError(err));
    }
    this.release(run);
  }

  /**
   * A refused outcome: a task cancelled before the worker heard of it is a `cancelled` event (its
   * signal fires too), any other refusal an `error` event.
   */
  private reportRefusal(run: Running, error: CodeqError): void {
    if (error.code !== 'TASK_CANCELLED') return void this.emit('error', error, run.job);
    const aborted = new JobAbortedError('cancelled', 'task cancelled', { cause: error });
    run.abort(aborted);
    this.emit('cancelled', run.job, aborted);
  }

  /** The task left this worker: frees its slot. */
  private release(run: Running): void {
    if (this.active.delete(run)) this.emit('released', run.job);
  }

  /** Gives a still-running task back at shutdown: abort the handler, abandon the task. */
  private async handBack(run: Running): Promise<void> {
    run.handedBack = true;
    run.stop();
    run.abort(new JobAbortedError('shutdown', 'worker is shutting down; task abandoned'));
    try {
      if (!run.lost) await withRetry(() => this.transport.abandon(run.taskId), this.retry);
    } catch (err) {
      // Lost meanwhile: the server repairs it (or already did); nothing is stuck.
      if (!isLeaseLost(err)) this.emit('error', toCodeqError(err), run.job);
    } finally {
      this.release(run);
    }
  }
}
