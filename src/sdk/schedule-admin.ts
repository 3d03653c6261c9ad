/**
 * The operator's side of the SDK for schedules: define, read, change, pause, resume, delete and run
 * recurring tasks, and read a schedule's history. One shape over either transport (times epoch ms,
 * as everywhere in the SDK); every change is an event in the log with the caller as its actor (over
 * HTTP the admin token's subject, in-process the transport's `adminActor`).
 */
import {
  SCHEDULE_NAME_PATTERN,
  type CatchUpPolicy,
  type OverlapPolicy,
  type ScheduleInput,
  type SchedulePatch,
} from '../contract/schedules.js';
import { CodeqError } from '../errors.js';
import { resolveRetry, withRetry } from './retry.js';
import type { ResolvedRetryOptions, RetryOptions } from './retry.js';
import type { Task } from './transport.js';

export type { CatchUpPolicy, OverlapPolicy, ScheduleInput, SchedulePatch };

/** A schedule as the SDK returns it: its definition beside its state. Times are epoch ms. */
export interface Schedule {
  /** Name, `[A-Za-z0-9_-]{1,128}`. */
  name: string;
  /** The queue its tasks go to. */
  command: string;
  /** Cron expression (5 or 6 fields); absent for an `every` schedule. */
  cron?: string;
  /** Interval (`30s`, `1h30m`…); absent for a cron schedule. */
  every?: string;
  /** IANA time zone the cron expression is read in. */
  timezone: string;
  /** Payload of every task. */
  payload: unknown;
  /** Priority of its tasks, 0..9. */
  priority: number;
  /** Deliveries allowed per task; absent: the server's default. */
  maxAttempts?: number;
  /** No tick before this time, epoch ms. */
  startAt?: number;
  /** No tick after this time, epoch ms. */
  endAt?: number;
  /** Each tick is delayed by a deterministic 0..jitterSeconds, seconds. */
  jitterSeconds: number;
  /** What a tick does while the previous task runs. */
  overlap: OverlapPolicy;
  /** Ticks missed while every instance was down. */
  catchUp: CatchUpPolicy;
  /** A paused schedule's ticks enqueue nothing (run-now still works). */
  paused: boolean;
  /** Why it was paused, as the operator said. */
  pauseReason?: string;
  /** When it was defined, epoch ms. */
  createdAt: number;
  /** When its definition last changed, epoch ms. */
  updatedAt: number;
  /** When the next tick fires (jitter included), epoch ms; absent: paused or ended. */
  nextRunAt?: number;
  /** Nominal time of the last tick that enqueued a task, epoch ms. */
  lastTickAt?: number;
  /** When the last task (tick or run-now) was enqueued, epoch ms. */
  lastRunAt?: number;
  /** The last task enqueued (tick or run-now). */
  lastTaskId?: string;
  /** Public status of that task (`PENDING`, `COMPLETED`…); absent when none or purged. */
  lastTaskStatus?: string;
  /** Run-now requests not yet run. */
  pendingRuns: number;
  /** Control stream sequence of the schedule's last event. */
  version: number;
}

/** One event of a schedule's history (times epoch ms, in `data` too). */
export interface ScheduleEventEntry {
  /** Sequence in the control stream. */
  seq: number;
  /** `scheduleDefined`, `scheduleUpdated`, `schedulePaused`, `scheduleResumed`, `scheduleDeleted`, `scheduleRunRequested`, `scheduleTicked`, `scheduleTicksMissed`. */
  type: string;
  /** Who did it: `admin:<sub>`, or `system` for the runner's ticks. */
  actor: string;
  /** When, epoch ms. */
  at: number;
  /** What was asked or what happened (e.g. `{spec, paused}`, `{tickAt, taskId, runId?}`). */
  data: unknown;
}

/** What a run-now answers: the schedule after it and the task it enqueued. */
export interface ScheduleRun {
  /** The schedule (its `lastTaskId` is the task's id). */
  schedule: Schedule;
  /** The task enqueued. */
  task: Task;
}

/** The schedule operations of a transport, in the SDK's shapes (times epoch ms). */
export interface ScheduleOperations {
  /** Defines a schedule; `WRONG_STATE` when the name is taken. */
  define(input: ScheduleInput): Promise<Schedule>;
  /** Every schedule, by name. */
  list(): Promise<Schedule[]>;
  /** One schedule; `NOT_FOUND` when absent or deleted. */
  get(name: string): Promise<Schedule>;
  /** Changes a schedule's definition. */
  update(name: string, patch: SchedulePatch): Promise<Schedule>;
  /** Deletes a schedule (its events stay in the log). */
  delete(name: string): Promise<void>;
  /** Stops its ticks. */
  pause(name: string, reason?: string): Promise<Schedule>;
  /** Starts its ticks again, from now. */
  resume(name: string): Promise<Schedule>;
  /** Enqueues one task now. */
  runNow(name: string): Promise<ScheduleRun>;
  /** Its newest `limit` events, oldest first; `NOT_FOUND` when the name never had a schedule. */
  history(name: string, limit?: number): Promise<ScheduleEventEntry[]>;
}

/** A transport offering schedules (both built-in transports do, as `transport.schedules`). */
export interface ScheduleAdminTransport {
  /** The schedule operations. */
  readonly schedules: ScheduleOperations;
}

/** Options of a {@link ScheduleAdmin}. */
export interface ScheduleAdminOptions {
  /** `HttpTransport` (with an admin token) or `EngineTransport`; not owned: close it yourself. */
  transport: ScheduleAdminTransport;
  /**
   * Retries of transient failures, for the calls safe to repeat (reads, `update`, `pause`,
   * `resume`); defaults of {@link RetryOptions}.
   */
  retry?: RetryOptions;
}

/** Manages schedules: recurring tasks on a cron expression or an interval. */
export class ScheduleAdmin {
  private readonly ops: ScheduleOperations;
  private readonly retry: ResolvedRetryOptions;

  constructor(options: ScheduleAdminOptions) {
    this.ops = options.transport.schedules;
    this.retry = resolveRetry(options.retry);
  }

  /**
   * Defines a schedule (`startAt`/`endAt` epoch ms or Date). Not retried: when an answer is lost,
   * a repeat would be refused as `WRONG_STATE` (the name is taken) although the first one worked.
   */
  define(input: ScheduleInput): Promise<Schedule> {
    return this.ops.define(input);
  }

  /** Every schedule (deleted ones left out), by name. */
  list(): Promise<Schedule[]> {
    return withRetry(() => this.ops.list(), this.retry);
  }

  /** One schedule with its next and last run; `NOT_FOUND` when absent or deleted. */
  get(name: string): Promise<Schedule> {
    return this.named(name, () => withRetry(() => this.ops.get(name), this.retry));
  }

  /**
   * Changes a schedule: a field given sets it, `null` removes `startAt`, `endAt` or `maxAttempts`,
   * an absent one stays; `cron` replaces `every` and the reverse. An empty patch is `INVALID_INPUT`.
   */
  update(name: string, patch: SchedulePatch): Promise<Schedule> {
    return this.named(name, () => withRetry(() => this.ops.update(name, patch), this.retry));
  }

  /** Deletes a schedule; its events stay in the log. Not retried (a repeat is `NOT_FOUND`). */
  delete(name: string): Promise<void> {
    return this.named(name, () => this.ops.delete(name));
  }

  /** Stops a schedule's ticks (run-now still works); pausing a paused schedule writes nothing. */
  pause(name: string, options: { reason?: string } = {}): Promise<Schedule> {
    return this.named(name, () => withRetry(() => this.ops.pause(name, options.reason), this.retry));
  }

  /** Starts its ticks again, from now: ticks that fell while paused are not owed. */
  resume(name: string): Promise<Schedule> {
    return this.named(name, () => withRetry(() => this.ops.resume(name), this.retry));
  }

  /**
   * Enqueues one of its tasks now, whatever the calendar, the pause and the overlap policy.
   * Not retried: a repeat would enqueue a second task.
   */
  runNow(name: string): Promise<ScheduleRun> {
    return this.named(name, () => this.ops.runNow(name));
  }

  /**
   * A schedule's newest `limit` events (default 1000, at most 10 000), oldest first: every
   * definition change, run request and tick, each with its actor. A deleted schedule's history
   * stays readable; `NOT_FOUND` when the name never had a schedule.
   */
  history(name: string, options: { limit?: number } = {}): Promise<ScheduleEventEntry[]> {
    return this.named(name, () => withRetry(() => this.ops.history(name, options.limit), this.retry));
  }

  /**
   * Refuses a bad name before any call: over HTTP it is a path segment, and an empty one would
   * reach another route.
   */
  private named<T>(name: string, call: () => Promise<T>): Promise<T> {
    if (typeof name !== 'string' || !SCHEDULE_NAME_PATTERN.test(name))
      return Promise.reject(
        new CodeqError('INVALID_INPUT', "invalid schedule 'name' (1..128 of A-Z a-z 0-9 _ -)"),
      );
    return call();
  }
}
