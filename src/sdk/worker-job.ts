/**
 * The per-task objects of a worker: {@link Running} (the worker's own state of a task it holds,
 * including its lease) and {@link WorkerJob} (the {@link Job} its handler gets). Two objects per task
 * and no closures: with short handlers the worker's per-task cost is mostly allocation, so what a
 * handler does not use (its abort signal, the bound `updateProgress` / `extendLease`, the progress
 * reporter) is only created when it is first read.
 */
import type { CodeqError } from '../errors.js';
import type { ResultRecord } from '../contract/views.js';
import type { BatchWaiter } from './batcher.js';
import { isLeaseLost, isTransient, lostLeaseError, toCodeqError } from './errors.js';
import { Lease } from './job-lease.js';
import { ProgressReporter } from './job-progress.js';
import type { LeaseHost } from './job-lease.js';
import type { Task } from './transport.js';
import type { Job } from './worker.types.js';

/** What a {@link Running} task reports to its worker. */
export interface JobHost {
  /** `job.updateProgress()` was called. */
  progressed(job: Job, progress: number, data: unknown): void;
  /** A progress report could not be sent for a reason that may pass (it is not retried). */
  reportFailed(run: Running, error: CodeqError): void;
  /** The task's completion was recorded. */
  recorded(run: Running, result: ResultRecord): void;
  /** The task's completion was refused or could not be sent. */
  refused(run: Running, error: unknown): void;
}

/** One task a worker holds: its lease, its job, where its outcome stands. */
export class Running extends Lease implements BatchWaiter<ResultRecord> {
  /** What the handler gets. */
  readonly job: WorkerJob;
  /** The handler returned or threw: its outcome is being recorded; close() waits for it. */
  finishing = false;
  /** Given back at shutdown: whatever the handler returns later is ignored. */
  handedBack = false;
  /** Created on the first read of `job.signal` (most handlers never read it). */
  private controller: AbortController | undefined;
  /** Why the task was aborted before anybody read the signal. */
  private abortReason: Error | undefined;
  /** Created on the first progress report. */
  private reporter: ProgressReporter | undefined;

  /**
   * @param clock the worker's lease clock (the lease ends `leaseSeconds` after `claimedAt`).
   * @param host the worker.
   * @param task the task as claimed.
   * @param claimedAt local time (epoch ms) the claim was sent.
   */
  constructor(
    private readonly leaseHost: LeaseHost,
    readonly host: JobHost,
    task: Task,
    claimedAt: number,
  ) {
    super(leaseHost, task.id, claimedAt);
    this.job = new WorkerJob(task, this);
  }

  /** Reports progress to the server (coalesced: see {@link ProgressReporter}). */
  reportProgress(progress: number, data: unknown): Promise<void> {
    this.reporter ??= new ProgressReporter((p, d) => this.sendProgress(p, d));
    return this.reporter.report(progress, data);
  }

  /**
   * One report. A refusal that says the task is no longer ours (cancelled, lease lost) ends the
   * lease as a refused heartbeat would, and rejects with the job's abort error; a failure that may
   * pass is reported and swallowed (progress is not worth failing a task for); any other rejects.
   */
  private async sendProgress(progress: number, data: unknown): Promise<void> {
    if (this.lost) throw this.lost;
    try {
      await this.leaseHost.transport.progress(this.taskId, progress, data);
    } catch (err) {
      const error = toCodeqError(err);
      if (isLeaseLost(error)) {
        const lost = lostLeaseError(error);
        this.markLost(lost);
        throw this.lost ?? lost;
      }
      if (isTransient(error)) return this.host.reportFailed(this, error);
      throw error;
    }
  }

  /** The job's abort signal, created now if nobody asked for it yet (already aborted if it was). */
  signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** Fires the job's signal with `reason` (the first reason wins, as with an AbortController). */
  abort(reason: Error): void {
    if (this.controller !== undefined) this.controller.abort(reason);
    else this.abortReason ??= reason;
  }

  /** The completion batch recorded the result. */
  resolve(result: ResultRecord): void {
    this.host.recorded(this, result);
  }

  /** The completion batch refused the result (or failed as a whole). */
  reject(error: unknown): void {
    this.host.refused(this, error);
  }
}

/** The {@link Job} a handler gets. */
export class WorkerJob<P = unknown> implements Job<P> {
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
  readonly #run: Running;
  #progress: number | undefined;
  #updateProgress: ((progress: number, data?: unknown) => Promise<void>) | undefined;
  #extendLease: (() => Promise<void>) | undefined;

  /**
   * @param task the task as claimed.
   * @param run the worker's state of it.
   */
  constructor(task: Task<P>, run: Running) {
    this.id = task.id;
    this.command = task.command;
    this.payload = task.payload;
    this.attempt = task.attempts;
    this.maxAttempts = task.maxAttempts;
    this.task = task;
    this.#run = run;
  }

  /** See {@link Job.signal}: created on first read, already aborted if the task was. */
  get signal(): AbortSignal {
    return this.#run.signal();
  }

  /** The last value given to `updateProgress`. */
  get progress(): number | undefined {
    return this.#progress;
  }

  /** Lease deadline as last confirmed by the server, epoch ms. */
  get leaseUntil(): number {
    return this.#run.serverLeaseUntil;
  }

  // The two methods are getters returning functions bound to this job (made on first use), so
  // `const { updateProgress } = job` works as it did when jobs were object literals, without two
  // closures per task for the handlers that never call them.

  /** See {@link Job.updateProgress}. */
  get updateProgress(): (progress: number, data?: unknown) => Promise<void> {
    return (this.#updateProgress ??= (progress, data) => {
      this.#progress = progress;
      this.#run.host.progressed(this, progress, data);
      return this.#run.reportProgress(progress, data);
    });
  }

  /** See {@link Job.extendLease}. */
  get extendLease(): () => Promise<void> {
    return (this.#extendLease ??= () => this.#run.extend());
  }
}
