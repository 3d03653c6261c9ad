/**
 * The task events: the only facts codeq stores durably. Each event is one JetStream message on the
 * task's own subject; its stream sequence is the task's new version. Events are validated against
 * these schemas whenever they are read back from the log.
 */
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { GROUP_KEY_PATTERN } from '../contract/queue-controls.js';
import { CodeqError } from '../errors.js';

/** Schema version written into every event (`v`). Readers accept every version up to this one. */
export const EVENT_SCHEMA_VERSION = 1;

const WorkerId = Type.String({ minLength: 1, maxLength: 256 });
const EpochMs = Type.Integer({ minimum: 0 });
const Attempts = Type.Integer({ minimum: 0 });
// W3C trace context given at creation (checked precisely when the task is enqueued).
const TraceParent = Type.String({ minLength: 1, maxLength: 256 });
const TraceState = Type.String({ maxLength: 512 });
const GroupKey = Type.String({ pattern: GROUP_KEY_PATTERN.source });
/** A progress percentage. */
const Progress = Type.Number({ minimum: 0, maximum: 100 });
/** The last progress report of a task as a snapshot keeps it: value, data, time. */
const ProgressReport = Type.Object({
  value: Progress,
  data: Type.Optional(Type.Unknown()),
  at: EpochMs,
});
const Artifact = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    url: Type.Optional(Type.String({ maxLength: 4096 })),
    contentBase64: Type.Optional(Type.String()),
    contentType: Type.Optional(Type.String({ maxLength: 256 })),
    // A stored inline artifact: its decoded size in bytes and SHA-256 (hex); its content is on disk.
    size: Type.Optional(Type.Integer({ minimum: 0 })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);

/** Data of each event type, by type name. */
export const EventDataSchemas = {
  /** A producer created the task. `runAt` set means it is delayed until then (epoch ms). */
  enqueued: Type.Object({
    payload: Type.Unknown(),
    priority: Type.Integer({ minimum: 0, maximum: 9 }),
    maxAttempts: Type.Integer({ minimum: 1 }),
    runAt: Type.Optional(EpochMs),
    webhook: Type.Optional(Type.String({ maxLength: 4096 })),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    traceParent: Type.Optional(TraceParent),
    traceState: Type.Optional(TraceState),
    /** The task's group key (fair claiming and per-group limits). */
    groupKey: Type.Optional(GroupKey),
  }),
  /** A worker took a lease. `attempts` is the delivery count including this one. */
  claimed: Type.Object({ workerId: WorkerId, leaseUntil: EpochMs, attempts: Attempts }),
  /** The lease holder extended its lease. */
  heartbeat: Type.Object({ workerId: WorkerId, leaseUntil: EpochMs }),
  /**
   * The lease holder reported how far it got: `progress` a percentage (0..100), `data` a small JSON
   * value of its own (size checked on input). History and view only: the lease does not move.
   */
  progressed: Type.Object({ workerId: WorkerId, progress: Progress, data: Type.Optional(Type.Unknown()) }),
  /** The lease holder gave the task back for a retry after `delayMs` (due at `runAt`). */
  nacked: Type.Object({
    workerId: WorkerId,
    reason: Type.Optional(Type.String({ maxLength: 4096 })),
    delayMs: Type.Integer({ minimum: 0 }),
    runAt: EpochMs,
  }),
  /**
   * The lease holder could not run the task now because something downstream limits it (a rate
   * limit): back to pending at `runAt`, this delivery not counted (`attempts` is the count after
   * giving it back), and the task's group key (or, without one, its queue) waits until `runAt`.
   */
  rateLimited: Type.Object({
    workerId: WorkerId,
    delayMs: Type.Integer({ minimum: 0 }),
    runAt: EpochMs,
    attempts: Attempts,
  }),
  /** The lease holder gave the task back untouched: ready again at once, attempts unchanged. */
  abandoned: Type.Object({ workerId: WorkerId }),
  /** The lease ran out before a result; retried after `delayMs` (due at `runAt`). */
  leaseExpired: Type.Object({ workerId: WorkerId, delayMs: Type.Integer({ minimum: 0 }), runAt: EpochMs }),
  /** The lease holder finished the task successfully. Terminal. */
  completed: Type.Object({
    workerId: WorkerId,
    result: Type.Unknown(),
    artifacts: Type.Optional(Type.Array(Artifact)),
  }),
  /** The lease holder reported a failure result. Terminal (a worker that wants a retry nacks). */
  failed: Type.Object({
    workerId: WorkerId,
    error: Type.String({ maxLength: 65536 }),
    artifacts: Type.Optional(Type.Array(Artifact)),
  }),
  /**
   * The task sits in the dead-letter queue: it ran out of attempts (cause `nack` or `leaseExpired`),
   * or its lease holder rejected it as not worth retrying (cause `rejected`, any attempt).
   */
  dlq: Type.Object({
    cause: Type.Union([Type.Literal('nack'), Type.Literal('leaseExpired'), Type.Literal('rejected')]),
    workerId: WorkerId,
    reason: Type.Optional(Type.String({ maxLength: 4096 })),
  }),
  /** An admin sent a dead-lettered task back to the queue with its attempts reset. */
  requeued: Type.Object({}),
  /**
   * An admin deleted a dead-lettered task: its last event, kept in the log as the audit of who
   * (the event's actor) removed it; the projection drops the task.
   */
  deleted: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 4096 })) }),
  /**
   * A pending or leased task was cancelled (a leased one's worker learns it from its next lease
   * operation). Terminal. `operationId` names the admin bulk cancel that did it, if one did.
   */
  cancelled: Type.Object({
    reason: Type.Optional(Type.String({ maxLength: 4096 })),
    operationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  }),
  /**
   * The folded state of a live task, published as a subject rollup (the log then keeps only this
   * event and what follows), so a task that lives longer than the stream's max age never loses its
   * history. Carries everything the projection and the machine need to restore the task.
   */
  snapshot: Type.Object({
    status: Type.Union([Type.Literal('pending'), Type.Literal('inProgress')]),
    payload: Type.Unknown(),
    priority: Type.Integer({ minimum: 0, maximum: 9 }),
    maxAttempts: Type.Integer({ minimum: 1 }),
    attempts: Attempts,
    readySeq: Type.Integer({ minimum: 1 }),
    createdAt: EpochMs,
    updatedAt: EpochMs,
    runAt: Type.Optional(EpochMs),
    workerId: Type.Optional(WorkerId),
    leaseUntil: Type.Optional(EpochMs),
    webhook: Type.Optional(Type.String({ maxLength: 4096 })),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    error: Type.Optional(Type.String({ maxLength: 65536 })),
    traceParent: Type.Optional(TraceParent),
    traceState: Type.Optional(TraceState),
    groupKey: Type.Optional(GroupKey),
    /** The last progress report, when there was one. */
    progress: Type.Optional(ProgressReport),
  }),
  /**
   * The result callback of a finished task was accepted by its receiver (2xx). History only: it
   * follows a terminal event and changes no state. `deliveryId` is the one the receiver saw.
   */
  webhookDelivered: Type.Object({
    deliveryId: Type.String({ minLength: 1, maxLength: 200 }),
    attempts: Type.Integer({ minimum: 1 }),
    httpStatus: Type.Integer({ minimum: 100, maximum: 599 }),
  }),
  /** The result callback failed `attempts` times and will not be tried again. History only. */
  webhookGaveUp: Type.Object({
    deliveryId: Type.String({ minLength: 1, maxLength: 200 }),
    attempts: Type.Integer({ minimum: 1 }),
    error: Type.String({ maxLength: 4096 }),
  }),
} as const;

/** Every event type name. */
export type TaskEventType = keyof typeof EventDataSchemas;

/** All event type names, in lifecycle order. */
export const TASK_EVENT_TYPES = Object.keys(EventDataSchemas) as TaskEventType[];

/** The data of event type `T`. */
export type TaskEventData<T extends TaskEventType> = Type.Static<(typeof EventDataSchemas)[T]>;

/** An event as written to the log (without its stream sequence). */
export type TaskEvent = {
  [T in TaskEventType]: {
    /** Schema version. */
    v: number;
    /** Event type. */
    type: T;
    /** Task id (UUID). */
    taskId: string;
    /** The task's command (also in the subject). */
    command: string;
    /** When the decision was taken, epoch ms. */
    at: number;
    /** Who caused it: a worker id, `admin:<sub>`, `producer:<sub>` or `system`. */
    actor: string;
    /** Type-specific data. */
    data: TaskEventData<T>;
  };
}[TaskEventType];

/** An event read back from the log, with its stream sequence (the task's version after it). */
export type StoredTaskEvent = TaskEvent & {
  /** JetStream stream sequence of this event. */
  seq: number;
};

const Envelope = Type.Object({
  v: Type.Integer({ minimum: 1 }),
  type: Type.String(),
  taskId: Type.String({ minLength: 1, maxLength: 64 }),
  command: Type.String({ minLength: 1, maxLength: 128 }),
  at: EpochMs,
  actor: Type.String({ minLength: 1, maxLength: 300 }),
  data: Type.Object({}),
});
const envelopeValidator = Compile(Envelope);
const dataValidators = Object.fromEntries(
  TASK_EVENT_TYPES.map((t) => [t, Compile(EventDataSchemas[t])]),
) as Record<TaskEventType, ReturnType<typeof Compile>>;

/**
 * Validates an event decoded from the log. Throws `CORRUPT_EVENT` naming the first problem; never
 * lets an unknown type or a newer schema version through silently.
 */
export function validateTaskEvent(value: unknown): TaskEvent {
  if (!envelopeValidator.Check(value)) {
    const first = [...envelopeValidator.Errors(value)][0];
    throw new CodeqError(
      'CORRUPT_EVENT',
      `event envelope invalid at '${first?.instancePath}': ${first?.message}`,
    );
  }
  const event = value as { v: number; type: string; data: unknown };
  if (event.v > EVENT_SCHEMA_VERSION) {
    throw new CodeqError(
      'CORRUPT_EVENT',
      `event schema v${event.v} is newer than this codeq (v${EVENT_SCHEMA_VERSION})`,
    );
  }
  const validator = dataValidators[event.type as TaskEventType];
  if (!validator) throw new CodeqError('CORRUPT_EVENT', `unknown event type '${event.type}'`);
  if (!validator.Check(event.data)) {
    const first = [...validator.Errors(event.data)][0];
    throw new CodeqError(
      'CORRUPT_EVENT',
      `'${event.type}' event data invalid at '${first?.instancePath}': ${first?.message}`,
    );
  }
  return value as TaskEvent;
}
