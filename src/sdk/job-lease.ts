/**
 * Keeps the leases of a worker's running tasks alive: heartbeats on schedule, and declares a lease
 * lost when the server refuses a heartbeat or the deadline passes without a successful one.
 * Deadlines are kept on the local clock (request start + lease), so a skewed server clock cannot
 * make the worker overstay its lease.
 *
 * One {@link LeaseClock} per worker serves every lease with a single timer, rather than two timers
 * per task: starting and finishing a task only adds it to and removes it from a set, which is what
 * keeps the per-task cost of short handlers low. Precision: a deadline is declared at its time (plus
 * event-loop lag, as with a timer of its own); an automatic heartbeat goes out at its due time or up
 * to a tenth of the heartbeat period earlier, so the heartbeats of tasks claimed close together
 * share one timer run.
 */
import type { CodeqError } from '../errors.js';
import { JobAbortedError, isLeaseLost, lostLeaseError, toCodeqError } from './errors.js';
import type { Transport } from './transport.js';

/** Options of a {@link LeaseClock}. */
export interface LeaseClockOptions<L extends Lease> {
  /** The transport to heartbeat through. */
  transport: Transport;
  /** Lease length of the claim and of every extension, whole seconds. */
  leaseSeconds: number;
  /** Period of automatic heartbeats in ms; `undefined` = no automatic heartbeats. */
  intervalMs: number | undefined;
  /** Called once per lease when it is lost (refused heartbeat or deadline passed). */
  onLost: (lease: L, error: CodeqError) => void;
  /** Called when a heartbeat failed for a reason that may pass (connection, 5xx). */
  onError: (lease: L, error: CodeqError) => void;
}

/** What a {@link Lease} needs of its clock (a {@link LeaseClock} of any lease subclass). */
export interface LeaseHost {
  /** The transport heartbeats go through. */
  readonly transport: Transport;
  /** Lease length of the claim and of every extension, whole seconds. */
  readonly leaseSeconds: number;
  /** The same in ms. */
  readonly leaseMs: number;
  /** Stops keeping the lease. */
  remove(lease: Lease): void;
  /** Schedules the lease's next automatic heartbeat one period from now. */
  scheduleBeat(lease: Lease): void;
  /** Reports a lost lease. */
  lost(lease: Lease, error: CodeqError): void;
  /** Reports a heartbeat that failed for a reason that may pass. */
  failed(lease: Lease, error: CodeqError): void;
}

/**
 * The lease of one running task. Created by the worker (which may subclass it to keep its own
 * per-task state on the same object), then registered with {@link LeaseClock.add}.
 */
export class Lease {
  /** Deadline as the server last confirmed it, epoch ms (server clock). */
  serverLeaseUntil: number;
  /** Deadline on the local clock, epoch ms: the lease is lost when it passes. */
  localDeadline: number;
  /** When the next automatic heartbeat is due, epoch ms; `Infinity` = none due (or one in flight). */
  nextBeatAt = Infinity;
  /** Index in the clock's list while kept, else -1 (the clock's bookkeeping). */
  slot = -1;
  private lostError: CodeqError | undefined;
  private stopped = false;
  private inFlight: Promise<void> | undefined;

  /**
   * @param clock the worker's lease clock.
   * @param taskId the task.
   * @param claimedAt local time (epoch ms) the claim was sent: the lease ends `leaseSeconds` after it.
   */
  constructor(
    private readonly clock: LeaseHost,
    readonly taskId: string,
    claimedAt: number,
  ) {
    this.localDeadline = claimedAt + clock.leaseMs;
    this.serverLeaseUntil = this.localDeadline;
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
      // Whatever the outcome, the next automatic beat is one period after this one.
      if (!this.stopped) this.clock.scheduleBeat(this);
    });
    return this.inFlight;
  }

  /** Stops the lease (the handler finished or the task was handed back): no more heartbeats. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.remove(this);
  }

  /** Ends the lease as lost (once); the clock reports it. */
  markLost(error: CodeqError): void {
    if (this.lostError || this.stopped) return;
    this.lostError = error;
    this.stop();
    this.clock.lost(this, error);
  }

  private async heartbeat(): Promise<void> {
    const sentAt = Date.now();
    this.nextBeatAt = Infinity;
    try {
      const { leaseUntil } = await this.clock.transport.heartbeat(this.taskId, this.clock.leaseSeconds);
      if (this.stopped) return;
      this.serverLeaseUntil = leaseUntil;
      this.localDeadline = sentAt + this.clock.leaseMs;
    } catch (err) {
      const error = toCodeqError(err);
      if (isLeaseLost(error)) {
        const lost = lostLeaseError(error);
        this.markLost(lost);
        throw this.lostError ?? lost;
      }
      // The lease may still be ours: the next beat retries, the deadline decides.
      this.clock.failed(this, error);
      throw error;
    }
  }
}

/** The single timer of a worker's leases: automatic heartbeats and local deadlines. */
export class LeaseClock<L extends Lease> implements LeaseHost {
  /** Lease length of the claim and of every extension, whole seconds. */
  readonly leaseSeconds: number;
  /** The same in ms. */
  readonly leaseMs: number;
  /** The transport heartbeats go through. */
  readonly transport: Transport;
  private readonly intervalMs: number | undefined;
  /** How early a heartbeat may go out so that beats due close together share a timer run, ms. */
  private readonly beatSlackMs: number;
  private readonly options: LeaseClockOptions<L>;
  /** The leases kept, unordered: a lease knows its index, so removal is a swap with the last one. */
  private readonly leases: L[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires, epoch ms; `Infinity` when it is not armed. */
  private armedAt = Infinity;
  private readonly onTimer = () => this.tick();

  constructor(options: LeaseClockOptions<L>) {
    this.options = options;
    this.transport = options.transport;
    this.leaseSeconds = options.leaseSeconds;
    this.leaseMs = options.leaseSeconds * 1000;
    this.intervalMs = options.intervalMs;
    this.beatSlackMs = options.intervalMs === undefined ? 0 : options.intervalMs / 10;
  }

  /** Leases being kept. */
  get size(): number {
    return this.leases.length;
  }

  /**
   * Starts keeping `lease`: its first automatic heartbeat is due one period after `now` (epoch ms,
   * default the current time; a worker passes one time for a whole claimed batch).
   */
  add(lease: L, now = Date.now()): void {
    if (lease.slot !== -1) return;
    lease.slot = this.leases.push(lease) - 1;
    if (this.intervalMs !== undefined) lease.nextBeatAt = now + this.intervalMs;
    const due = lease.nextBeatAt < lease.localDeadline ? lease.nextBeatAt : lease.localDeadline;
    if (due < this.armedAt) this.arm(due);
  }

  /** Stops keeping `lease` (called by {@link Lease.stop}). */
  remove(lease: Lease): void {
    const slot = lease.slot;
    if (slot === -1 || this.leases[slot] !== lease) return;
    const last = this.leases.pop()!;
    if (last !== lease) {
      this.leases[slot] = last;
      last.slot = slot;
    }
    lease.slot = -1;
    // No lease left: nothing to wake up for (an unreferenced timer would not hold the process, but
    // a stale one would fire for nothing).
    if (this.leases.length === 0) this.disarm();
  }

  /** Stops every lease and the timer (the worker closed). */
  close(): void {
    for (const lease of [...this.leases]) lease.stop();
    this.disarm();
  }

  /** Schedules `lease`'s next automatic heartbeat one period from now. */
  scheduleBeat(lease: Lease): void {
    if (this.intervalMs === undefined || lease.slot === -1) return;
    lease.nextBeatAt = Date.now() + this.intervalMs;
    if (lease.nextBeatAt < this.armedAt) this.arm(lease.nextBeatAt);
  }

  /** Reports a lost lease (called by {@link Lease.markLost}). */
  lost(lease: Lease, error: CodeqError): void {
    this.options.onLost(lease as L, error);
  }

  /** Reports a heartbeat that failed for a reason that may pass. */
  failed(lease: Lease, error: CodeqError): void {
    this.options.onError(lease as L, error);
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(0, at - Date.now()));
    // Leases alone never keep the process alive (the worker's claim loop does while it runs).
    this.timer.unref?.();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  /** One timer run: declares passed deadlines, sends due heartbeats, re-arms for the next due time. */
  private tick(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    const beatBy = now + this.beatSlackMs;
    let next = Infinity;
    // A copy: the callbacks of a lost lease may stop others (a run is rare next to task starts).
    for (const lease of this.leases.slice()) {
      if (lease.slot === -1) continue;
      if (lease.localDeadline <= now) {
        lease.markLost(new JobAbortedError('leaseLost', 'lease ran out without a successful heartbeat'));
        continue;
      }
      // extend() marks the lease not due until the beat is answered (then scheduleBeat re-arms).
      if (lease.nextBeatAt <= beatBy) void lease.extend().catch(() => undefined);
      if (lease.localDeadline < next) next = lease.localDeadline;
      if (lease.nextBeatAt < next) next = lease.nextBeatAt;
    }
    if (next < Infinity && next < this.armedAt) this.arm(next);
  }
}
