/**
 * Control events: what operators did to a queue (pause, resume, change its limits). They live in
 * the control stream beside the task stream (`control-log.ts`), one subject per queue, and each
 * carries the queue's whole settings after it, so the last event of a subject is the queue's state
 * and a rebuild reads one message per queue. Validated whenever read back from the log.
 */
import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import {
  QueueLimitsPatchSchema,
  QueueSettingsSchema,
  type QueueSettings,
} from '../contract/queue-controls.js';
import { CodeqError } from '../errors.js';

/** Schema version written into every control event (`v`). */
export const CONTROL_EVENT_SCHEMA_VERSION = 1;

/** Data of each control event type. */
export const ControlEventDataSchemas = {
  /** An operator paused the queue: claims stop, enqueues go on. */
  queuePaused: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 4096 })) }),
  /** An operator resumed a paused queue. */
  queueResumed: Type.Object({}),
  /** An operator changed the queue's limits (the patch as given: `null` removed a limit). */
  queueLimitsChanged: Type.Object({ patch: QueueLimitsPatchSchema }),
} as const;

/** A control event type. */
export type ControlEventType = keyof typeof ControlEventDataSchemas;

/** A control event as written to the log. */
export type ControlEvent = {
  [T in ControlEventType]: {
    /** Schema version. */
    v: number;
    /** Event type. */
    type: T;
    /** The queue (command) it controls. */
    command: string;
    /** When it was decided, epoch ms. */
    at: number;
    /** Who did it: `admin:<sub>`, `system`, … */
    actor: string;
    /** What the operator asked. */
    data: Type.Static<(typeof ControlEventDataSchemas)[T]>;
    /** The queue's settings after this event. */
    settings: QueueSettings;
  };
}[ControlEventType];

/** A control event with its sequence in the control stream. */
export type StoredControlEvent = ControlEvent & { seq: number };

const Envelope = Type.Object({
  v: Type.Integer({ minimum: 1 }),
  type: Type.String(),
  command: Type.String({ minLength: 1, maxLength: 128 }),
  at: Type.Integer({ minimum: 0 }),
  actor: Type.String({ minLength: 1, maxLength: 300 }),
  data: Type.Object({}),
  settings: QueueSettingsSchema,
});
const validateQueueControl = controlEventValidator<ControlEvent>(
  'control event',
  Envelope,
  ControlEventDataSchemas,
  CONTROL_EVENT_SCHEMA_VERSION,
);

/** Validates a control event decoded from the log; throws `CORRUPT_EVENT` naming the first problem. */
export function validateControlEvent(value: unknown): ControlEvent {
  return validateQueueControl(value);
}

/**
 * A validator of one kind of control event (queue controls, schedules): the envelope, the schema
 * version, then the data of the event's type. Throws `CORRUPT_EVENT` naming the first problem.
 */
export function controlEventValidator<E>(
  label: string,
  envelope: TSchema,
  dataSchemas: Record<string, TSchema>,
  version: number,
): (value: unknown) => E {
  const envelopeValidator = Compile(envelope);
  const dataValidators = new Map(Object.entries(dataSchemas).map(([t, s]) => [t, Compile(s)]));
  return (value) => {
    if (!envelopeValidator.Check(value)) {
      const first = [...envelopeValidator.Errors(value)][0];
      throw new CodeqError(
        'CORRUPT_EVENT',
        `${label} invalid at '${first?.instancePath}': ${first?.message}`,
      );
    }
    const event = value as { v: number; type: string; data: unknown };
    if (event.v > version) {
      throw new CodeqError('CORRUPT_EVENT', `${label} schema v${event.v} is newer than this codeq`);
    }
    const validator = dataValidators.get(event.type);
    if (!validator) throw new CodeqError('CORRUPT_EVENT', `unknown ${label} type '${event.type}'`);
    if (!validator.Check(event.data)) {
      const first = [...validator.Errors(event.data)][0];
      throw new CodeqError(
        'CORRUPT_EVENT',
        `'${event.type}' data invalid at '${first?.instancePath}': ${first?.message}`,
      );
    }
    return value as E;
  };
}
