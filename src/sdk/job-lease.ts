/**
 * Keeps one claimed task's lease alive: heartbeats on a timer, and declares the lease lost when the
 * server refuses a heartbeat or the deadline passes without a successful one. Deadlines are kept on
 * the local clock (request start + lease), so a skewed server clock cannot make the worker
 * overstay its lease.
 */
import type { CodeqError } from '../errors.js';
import { JobAbortedError, isLeaseLost, toCodeqError } from './errors.js';
import type { Transport } from './transport.js';

/** Options of a {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** The transport to heartbeat through. */
  transport: Transport;
  /** The task. */
  taskId: string;
  /** Lease length of every extension, whole seconds. */
  leaseSeconds: number;
  /** Local time (epoch ms) when the claim was sent: the lease ends `leaseSeconds` after it. */
  claimedAt: number;
  /** Heartbeat period in ms; `undefined` = no automatic heartbeats. */
  intervalMs: number | undefined;
  /** Called once when the lease is lost. */
  onLost: (error: CodeqError) => void;
  /** Called when a heartbeat failed for a reason that may pass (connection, 5xx). */
  onError: (error: CodeqError) => void;
}

/** The lease of one running task. */
export class LeaseKeeper {
  /** Deadline as the server last confirmed it, epoch ms (server clock). */
  serverLeaseUntil: number;
  private localDeadline: number;
  private lostError: CodeqError | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.localDeadline = options.claimedAt + options.leaseSeconds * 1000;
    this.serverLeaseUntil = this.localDeadline;
    this.armDeadline();
    this.schedule();
  }

  /** The error that ended the lease, if it was lost. */
  get lost(): CodeqError | undefined {
    return this.lostError;
  }

  /** Extends the lease now (joins an extension already on its way). Rejects once the lease is lost. */
  extend(): Promise<void> {
    if (this.lostError) return Promise.reject(this.lostError);
    if (this.stopped) return Promise.resolve();
    this.inFlight ??= this.heartbeat().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops the timers (the handler finished or the task was handed back). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadlineTimer);
  }

  private async heartbeat(): Promise<void> {
    const sentAt = Date.now();
    try {
      const { leaseUntil } = await this.options.transport.heartbeat(
        this.options.taskId,
        this.options.leaseSeconds,
      );
      if (this.stopped || this.lostError) return;
      this.serverLeaseUntil = leaseUntil;
      this.localDeadline = sentAt + this.options.leaseSeconds * 1000;
      this.armDeadline();
    } catch (err) {
      const error = toCodeqError(err);
      if (isLeaseLost(error)) {
        this.markLost(new JobAbortedError('leaseLost', `lease lost: ${error.message}`, { cause: error }));
        throw this.lostError;
      }
      // The lease may still be ours: the next beat retries, the deadline timer decides.
      this.options.onError(error);
      throw error;
    }
  }

  private schedule(): void {
    if (this.options.intervalMs === undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.extend()
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref?.();
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    if (this.stopped) return;
    this.deadlineTimer = setTimeout(
      () => this.markLost(new JobAbortedError('leaseLost', 'lease ran out without a successful heartbeat')),
      Math.max(0, this.localDeadline - Date.now()),
    );
    this.deadlineTimer.unref?.();
  }

  private markLost(error: CodeqError): void {
    if (this.lostError || this.stopped) return;
    this.lostError = error;
    this.stop();
    this.options.onLost(error);
  }
}
