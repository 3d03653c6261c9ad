/**
 * Schedule events: every change of a schedule's definition (defined, updated, paused, resumed,
 * deleted), every run-now request and every tick (run, skipped, missed). They live in the control
 * stream beside the queue controls (`control-log.ts`), one subject per schedule
 * (`codeq-ctl.<task stream>.schedule.<name>`), and each carries the schedule's whole state after it,
 * so the last event of a subject is the schedule. Validated whenever read back from the log.
 */
import Type from 'typebox';
import { ScheduleSpecSchema, ScheduleStateSchema, type ScheduleState } from '../contract/schedules.js';
import { controlEventValidator } from './control-event.schema.js';
import type { ControlKind } from './control-log.js';

/** Schema version written into every schedule event (`v`). */
export const SCHEDULE_EVENT_SCHEMA_VERSION = 1;

const Time = Type.Integer({ minimum: 0 });
const Id = Type.String({ minLength: 1, maxLength: 64 });

/** Data of each schedule event type. */
export const ScheduleEventDataSchemas = {
  /** The schedule was defined (or defined again after a delete). */
  scheduleDefined: Type.Object({ spec: ScheduleSpecSchema, paused: Type.Boolean() }),
  /** Its definition changed (the whole definition after the change). */
  scheduleUpdated: Type.Object({ spec: ScheduleSpecSchema }),
  /** It was deleted (a tombstone: the name may be defined again). */
  scheduleDeleted: Type.Object({}),
  /** Its ticks stopped enqueuing. */
  schedulePaused: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 4096 })) }),
  /** Its ticks enqueue again, from now (ticks that fell while paused are not owed). */
  scheduleResumed: Type.Object({}),
  /** An operator asked for a run now; `scheduleTicked` with the same `runId` records it. */
  scheduleRunRequested: Type.Object({ runId: Id }),
  /**
   * A tick ran: `taskId` is the task it enqueued (absent: skipped, because the previous task
   * `previousTaskId` was still running). `runId`: a run-now, not a calendar tick. `cancelledTaskId`:
   * the previous task it cancelled (`cancelPrevious`).
   */
  scheduleTicked: Type.Object({
    tickAt: Time,
    runId: Type.Optional(Id),
    taskId: Type.Optional(Id),
    skipped: Type.Optional(Type.Literal('overlap')),
    previousTaskId: Type.Optional(Id),
    cancelledTaskId: Type.Optional(Id),
  }),
  /** Ticks `from`..`to` (nominal times, inclusive; `count` of them when counted) were not run (`catchUp`). */
  scheduleTicksMissed: Type.Object({
    from: Time,
    to: Time,
    count: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
} as const;

/** A schedule event type. */
export type ScheduleEventType = keyof typeof ScheduleEventDataSchemas;

/** The data of one schedule event type. */
export type ScheduleEventData<T extends ScheduleEventType> = Type.Static<
  (typeof ScheduleEventDataSchemas)[T]
>;

/** A schedule event as written to the log. */
export type ScheduleEvent = {
  [T in ScheduleEventType]: {
    /** Schema version. */
    v: number;
    /** Event type. */
    type: T;
    /** The schedule's name. */
    schedule: string;
    /** When it was decided, epoch ms. */
    at: number;
    /** Who did it: `admin:<sub>`, `system` (the runner), … */
    actor: string;
    /** What was asked or what happened. */
    data: ScheduleEventData<T>;
    /** The schedule's state after this event. */
    state: ScheduleState;
  };
}[ScheduleEventType];

/** A schedule event with its sequence in the control stream. */
export type StoredScheduleEvent = ScheduleEvent & { seq: number };

const Envelope = Type.Object({
  v: Type.Integer({ minimum: 1 }),
  type: Type.String(),
  schedule: Type.String({ minLength: 1, maxLength: 128 }),
  at: Time,
  actor: Type.String({ minLength: 1, maxLength: 300 }),
  data: Type.Object({}),
  state: ScheduleStateSchema,
});
/** Validates a schedule event decoded from the log; throws `CORRUPT_EVENT` naming the first problem. */
export const validateScheduleEvent = controlEventValidator<ScheduleEvent>(
  'schedule event',
  Envelope,
  ScheduleEventDataSchemas,
  SCHEDULE_EVENT_SCHEMA_VERSION,
);

/** Schedule events in the control stream, keyed by schedule name. */
export const SCHEDULE_EVENTS: ControlKind<ScheduleEvent> = {
  token: 'schedule',
  validate: validateScheduleEvent,
  keyOf: (event) => event.schedule,
};
