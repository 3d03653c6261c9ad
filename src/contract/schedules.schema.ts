/**
 * The wire shapes of schedules (`/v1/codeq/admin/schedules`): the create and change bodies and the
 * schedule's JSON. Times are RFC3339 here (epoch ms in the engine, `schedules.ts`); the definition
 * is flat (the spec's fields beside the schedule's state).
 */
import Type from 'typebox';
import { Command, Rfc3339 } from './common.schema.js';
import { MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN, REASON_MAX_LENGTH } from './limits.js';
import {
  CatchUpSchema,
  CRON_MAX_LENGTH,
  JITTER_SECONDS_MAX,
  OverlapSchema,
  SCHEDULE_HISTORY_LIMIT_MAX,
  SCHEDULE_NAME_PATTERN,
  TIMEZONE_MAX_LENGTH,
} from './schedules.js';

/** Refusal of a malformed `startAt`. */
export const START_AT_MESSAGE = "invalid 'startAt' (use RFC3339)";
/** Refusal of a malformed `endAt`. */
export const END_AT_MESSAGE = "invalid 'endAt' (use RFC3339)";

/** A schedule name field (path parameter and body). */
export const ScheduleName = Type.String({
  pattern: SCHEDULE_NAME_PATTERN.source,
  description: '1..128 of A-Z a-z 0-9 _ -',
});

/** `:name` of a schedule. */
export const ScheduleNameParams = Type.Object({ name: ScheduleName }, { additionalProperties: false });

const definitionFields = {
  command: Command,
  cron: Type.String({
    minLength: 1,
    maxLength: CRON_MAX_LENGTH,
    description: 'cron expression: 5 fields (minute first) or 6 (second first); or `every`',
  }),
  every: Type.String({
    minLength: 2,
    maxLength: 32,
    description: 'interval such as 30s, 5m, 1h, 1d or 1h30m (at least 1s); or `cron`',
  }),
  timezone: Type.String({
    minLength: 1,
    maxLength: TIMEZONE_MAX_LENGTH,
    description: 'IANA time zone of the cron expression (default UTC)',
  }),
  payload: Type.Unknown({ description: 'payload of every task (JSON, at most 64 KiB; default null)' }),
  priority: Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX, description: 'default 0' }),
  maxAttempts: Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_MAX, description: "default the server's" }),
  startAt: Rfc3339(START_AT_MESSAGE),
  endAt: Rfc3339(END_AT_MESSAGE),
  jitterSeconds: Type.Integer({
    minimum: 0,
    maximum: JITTER_SECONDS_MAX,
    description: 'delay each tick by a deterministic 0..jitterSeconds (default 0)',
  }),
  overlap: {
    ...OverlapSchema,
    description: 'while the previous task runs: allow (default), skip, cancelPrevious',
  },
  catchUp: {
    ...CatchUpSchema,
    description: 'ticks missed while every instance was down: none (default), last, all',
  },
};

/** Body of `POST /admin/schedules`. */
export const ScheduleCreateBody = Type.Object(
  {
    name: ScheduleName,
    command: definitionFields.command,
    cron: Type.Optional(definitionFields.cron),
    every: Type.Optional(definitionFields.every),
    timezone: Type.Optional(definitionFields.timezone),
    payload: Type.Optional(definitionFields.payload),
    priority: Type.Optional(definitionFields.priority),
    maxAttempts: Type.Optional(definitionFields.maxAttempts),
    startAt: Type.Optional(definitionFields.startAt),
    endAt: Type.Optional(definitionFields.endAt),
    jitterSeconds: Type.Optional(definitionFields.jitterSeconds),
    overlap: Type.Optional(definitionFields.overlap),
    catchUp: Type.Optional(definitionFields.catchUp),
    paused: Type.Optional(Type.Boolean({ description: 'define it paused (default false)' })),
  },
  { additionalProperties: false },
);

/** Body of `PATCH /admin/schedules/:name`: fields given are set, `null` removes an optional one. */
export const SchedulePatchBody = Type.Object(
  {
    command: Type.Optional(definitionFields.command),
    cron: Type.Optional(definitionFields.cron),
    every: Type.Optional(definitionFields.every),
    timezone: Type.Optional(definitionFields.timezone),
    payload: Type.Optional(definitionFields.payload),
    priority: Type.Optional(definitionFields.priority),
    maxAttempts: Type.Optional(Type.Union([definitionFields.maxAttempts, Type.Null()])),
    startAt: Type.Optional(Type.Union([definitionFields.startAt, Type.Null()])),
    endAt: Type.Optional(Type.Union([definitionFields.endAt, Type.Null()])),
    jitterSeconds: Type.Optional(definitionFields.jitterSeconds),
    overlap: Type.Optional(definitionFields.overlap),
    catchUp: Type.Optional(definitionFields.catchUp),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** Body of `POST /admin/schedules/:name/pause` (optional). */
export const SchedulePauseBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: REASON_MAX_LENGTH })) },
  { additionalProperties: false },
);

const Time = Type.String({ description: 'RFC3339' });

/** A schedule as the API answers it. */
export const ScheduleJsonSchema = Type.Object({
  name: Type.String(),
  command: Type.String(),
  cron: Type.Optional(Type.String()),
  every: Type.Optional(Type.String()),
  timezone: Type.String(),
  payload: Type.Unknown(),
  priority: Type.Integer(),
  maxAttempts: Type.Optional(Type.Integer()),
  startAt: Type.Optional(Time),
  endAt: Type.Optional(Time),
  jitterSeconds: Type.Integer(),
  overlap: Type.String(),
  catchUp: Type.String(),
  paused: Type.Boolean(),
  pauseReason: Type.Optional(Type.String()),
  createdAt: Time,
  updatedAt: Time,
  nextRunAt: Type.Optional({ ...Time, description: 'when the next tick fires (absent: paused or ended)' }),
  lastTickAt: Type.Optional({ ...Time, description: 'nominal time of the last tick that enqueued' }),
  lastRunAt: Type.Optional({ ...Time, description: 'when the last task was enqueued (tick or run)' }),
  lastTaskId: Type.Optional(Type.String()),
  lastTaskStatus: Type.Optional(Type.String({ description: "the last task's status (PENDING, COMPLETED…)" })),
  pendingRuns: Type.Integer({ description: 'run-now requests not yet run' }),
  version: Type.Integer({ description: "control stream sequence of the schedule's last event" }),
});

/** One event of a schedule's history. */
export const ScheduleEventJson = Type.Object({
  seq: Type.Integer(),
  type: Type.String(),
  time: Time,
  actor: Type.String(),
  data: Type.Unknown(),
});

/** `GET /admin/schedules/:name/history` query. */
export const ScheduleHistoryQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: SCHEDULE_HISTORY_LIMIT_MAX, description: 'default 1000' }),
    ),
  },
  { additionalProperties: false },
);

/** A schedule's JSON. */
export type ScheduleJson = Type.Static<typeof ScheduleJsonSchema>;

/** One event of a schedule's history, as JSON. */
export type ScheduleEventJsonShape = Type.Static<typeof ScheduleEventJson>;
