/**
 * The contract of schedules: recurring tasks defined by a cron expression or an interval. One
 * definition shared by HTTP (the wire bodies in `schedules.schema.ts`), the engine (validation), the
 * schedule events in the control stream and the pure calendar of `actors/schedule-calendar.ts`.
 * Times are epoch ms here; HTTP speaks RFC3339.
 */
import Type from 'typebox';
import { COMMAND_PATTERN, MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN } from './limits.js';

/** A schedule name: the command name rule (`[A-Za-z0-9_-]{1,128}`); it becomes a subject token. */
export const SCHEDULE_NAME_PATTERN = COMMAND_PATTERN;

/** Longest cron expression, characters. */
export const CRON_MAX_LENGTH = 256;

/** Longest IANA time zone name, characters. */
export const TIMEZONE_MAX_LENGTH = 64;

/** Shortest `every` interval, ms (1 s). */
export const EVERY_MIN_MS = 1000;

/** Longest `every` interval, ms (366 days). */
export const EVERY_MAX_MS = 366 * 86_400_000;

/** Largest `jitterSeconds`: a tick is delayed by 0..jitterSeconds, at most one hour. */
export const JITTER_SECONDS_MAX = 3600;

/** Largest encoded payload of a schedule, bytes (64 KiB): every tick event carries the definition. */
export const SCHEDULE_PAYLOAD_MAX_BYTES = 64 * 1024;

/**
 * A tick is late, not missed, until this long after its time, ms (60 s): ticks within it run
 * whatever `catchUp` says, so a leader handover (a lease of a few seconds) never drops a tick.
 */
export const SCHEDULE_MISFIRE_GRACE_MS = 60_000;

/** Most missed ticks `catchUp: "all"` enqueues after a downtime (the most recent ones). */
export const CATCH_UP_MAX_TICKS = 100;

/** Most events one schedule history read returns (`limit`, default 1000). */
export const SCHEDULE_HISTORY_LIMIT_MAX = 10_000;

/** Most run-now requests a schedule holds before they run (more are refused as `WRONG_STATE`). */
export const RUN_REQUESTS_MAX = 10;

/** What a tick does while the previous tick's task is still pending or in progress. */
export type OverlapPolicy = 'allow' | 'skip' | 'cancelPrevious';

/** What happens to ticks missed while no instance ran schedules (see {@link SCHEDULE_MISFIRE_GRACE_MS}). */
export type CatchUpPolicy = 'none' | 'last' | 'all';

/** Every overlap policy. */
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = ['allow', 'skip', 'cancelPrevious'];

/** Every catch-up policy. */
export const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ['none', 'last', 'all'];

/** A schedule's definition, as the log records it (defaults applied). Times are epoch ms. */
export interface ScheduleSpec {
  /** The queue its tasks go to. */
  command: string;
  /** A cron expression of 5 fields (minute first) or 6 (second first); or `every`. */
  cron?: string | undefined;
  /** An interval (`30s`, `5m`, `1h`, `1d`, `1h30m`), at least 1 s; or `cron`. */
  every?: string | undefined;
  /** IANA time zone the cron expression is read in; default `UTC`. */
  timezone: string;
  /** The payload of every task (JSON). */
  payload: unknown;
  /** Priority of its tasks, 0..9. */
  priority: number;
  /** Deliveries allowed per task; absent: the server's default. */
  maxAttempts?: number | undefined;
  /** No tick before this time (an `every` schedule's ticks are counted from it), epoch ms. */
  startAt?: number | undefined;
  /** No tick after this time, epoch ms. */
  endAt?: number | undefined;
  /** Each tick is delayed by a deterministic 0..jitterSeconds (s), the same on every instance. */
  jitterSeconds: number;
  /** What a tick does while the previous task runs; default `allow`. */
  overlap: OverlapPolicy;
  /** Ticks missed while every instance was down; default `none`. */
  catchUp: CatchUpPolicy;
}

/** Everything a schedule is, as its events fold (the last event of its subject carries it). */
export interface ScheduleState {
  /** The schedule's name. */
  name: string;
  /** Its definition. */
  spec: ScheduleSpec;
  /** A paused schedule enqueues nothing on its ticks (run-now still works). */
  paused: boolean;
  /** Why it was paused, as the operator said. */
  pauseReason?: string | undefined;
  /** Deleted: kept in the log as a tombstone; the name may be defined again. */
  deleted: boolean;
  /** When it was defined, epoch ms. */
  createdAt: number;
  /** When its definition last changed, epoch ms. */
  updatedAt: number;
  /** Ticks after this time are still to come (before: ran, skipped or missed), epoch ms. */
  cursor: number;
  /** Nominal time of the last tick that enqueued a task, epoch ms. */
  lastTickAt?: number | undefined;
  /** When the last task (tick or run-now) was enqueued, epoch ms. */
  lastRunAt?: number | undefined;
  /** The last task enqueued (tick or run-now). */
  lastTaskId?: string | undefined;
  /** Run-now requests not yet run (ids). */
  runRequests: string[];
}

/** A schedule as the engine answers it: its state, the next tick and the last task's status. */
export interface ScheduleView extends ScheduleState {
  /** When the next tick fires (jitter included), epoch ms; absent: paused or ended. */
  nextRunAt?: number | undefined;
  /** Public status of the last task (`PENDING`, `COMPLETED`, …); absent when none or purged. */
  lastTaskStatus?: string | undefined;
  /** Stream sequence of the schedule's last event. */
  version: number;
}

/** A schedule's definition as given to `define` (in-process; HTTP takes RFC3339 times). */
export interface ScheduleInput {
  /** Name, `[A-Za-z0-9_-]{1,128}`. */
  name: string;
  /** The queue its tasks go to. */
  command: string;
  /** A cron expression (5 or 6 fields); exactly one of `cron` and `every`. */
  cron?: string | undefined;
  /** An interval (`30s`, `5m`, `1h`, `1h30m`); exactly one of `cron` and `every`. */
  every?: string | undefined;
  /** IANA time zone; default `UTC`. */
  timezone?: string | undefined;
  /** Task payload; default `null`. Encoded at most {@link SCHEDULE_PAYLOAD_MAX_BYTES}. */
  payload?: unknown;
  /** 0..9; default 0. */
  priority?: number | undefined;
  /** Deliveries allowed per task; default the server's. */
  maxAttempts?: number | undefined;
  /** First possible tick, epoch ms or Date. */
  startAt?: number | Date | undefined;
  /** Last possible tick, epoch ms or Date. */
  endAt?: number | Date | undefined;
  /** 0..{@link JITTER_SECONDS_MAX}; default 0. */
  jitterSeconds?: number | undefined;
  /** Default `allow`. */
  overlap?: OverlapPolicy | undefined;
  /** Default `none`. */
  catchUp?: CatchUpPolicy | undefined;
  /** Define it paused; default false. */
  paused?: boolean | undefined;
}

/**
 * A change of definition: a field given sets it, `null` removes an optional one (`startAt`,
 * `endAt`, `maxAttempts`), an absent one is kept. Setting `cron` drops `every` and the reverse.
 */
export type SchedulePatch = {
  [K in Exclude<keyof ScheduleInput, 'name' | 'paused'>]?: ScheduleInput[K] | null;
};

/** An overlap policy field. */
export const OverlapSchema = Type.Union([
  Type.Literal('allow'),
  Type.Literal('skip'),
  Type.Literal('cancelPrevious'),
]);

/** A catch-up policy field. */
export const CatchUpSchema = Type.Union([Type.Literal('none'), Type.Literal('last'), Type.Literal('all')]);

/** A schedule's definition as the log records it. */
export const ScheduleSpecSchema = Type.Object(
  {
    command: Type.String({ pattern: COMMAND_PATTERN.source }),
    cron: Type.Optional(Type.String({ minLength: 1, maxLength: CRON_MAX_LENGTH })),
    every: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    timezone: Type.String({ minLength: 1, maxLength: TIMEZONE_MAX_LENGTH }),
    payload: Type.Unknown(),
    priority: Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX }),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_MAX })),
    startAt: Type.Optional(Type.Integer({ minimum: 0 })),
    endAt: Type.Optional(Type.Integer({ minimum: 0 })),
    jitterSeconds: Type.Integer({ minimum: 0, maximum: JITTER_SECONDS_MAX }),
    overlap: OverlapSchema,
    catchUp: CatchUpSchema,
  },
  { additionalProperties: false },
);

/** A schedule's state as the log records it after each event. */
export const ScheduleStateSchema = Type.Object(
  {
    name: Type.String({ pattern: COMMAND_PATTERN.source }),
    spec: ScheduleSpecSchema,
    paused: Type.Boolean(),
    pauseReason: Type.Optional(Type.String({ maxLength: 4096 })),
    deleted: Type.Boolean(),
    createdAt: Type.Integer({ minimum: 0 }),
    updatedAt: Type.Integer({ minimum: 0 }),
    cursor: Type.Integer({ minimum: 0 }),
    lastTickAt: Type.Optional(Type.Integer({ minimum: 0 })),
    lastRunAt: Type.Optional(Type.Integer({ minimum: 0 })),
    lastTaskId: Type.Optional(Type.String({ maxLength: 64 })),
    runRequests: Type.Array(Type.String({ maxLength: 64 }), { maxItems: RUN_REQUESTS_MAX }),
  },
  { additionalProperties: false },
);

/** The idempotency key of a schedule's tick: the same on every instance and after a restart. */
export function tickIdempotencyKey(name: string, tickAt: number): string {
  return `sched:${name}:${new Date(tickAt).toISOString()}`;
}

/** The idempotency key of a run-now request. */
export function runIdempotencyKey(name: string, runId: string): string {
  return `sched:${name}:run:${runId}`;
}
