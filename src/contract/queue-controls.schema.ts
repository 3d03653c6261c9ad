/**
 * Schemas of the queue control operations over a transport: pause and resume bodies, the answer of
 * a control, one queue in detail (counts, controls, health) and a page of the control history. The
 * limits themselves (`QueueLimitsPatchSchema`, `RateLimitSchema`) are in `queue-controls.ts`.
 */
import Type from 'typebox';
import { QueueStatsSchema } from './admin.schema.js';
import { REASON_MAX_LENGTH } from './limits.js';
import {
  CONCURRENCY_MAX,
  CONTROLS_LIMIT_DEFAULT,
  CONTROLS_LIMIT_MAX,
  RateLimitSchema,
  type QueueSettings,
} from './queue-controls.js';

/** Pause body (optional): why, recorded in the control event. */
export const PauseBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: REASON_MAX_LENGTH })) },
  { additionalProperties: false },
);

const Concurrency = Type.Integer({ minimum: 1, maximum: CONCURRENCY_MAX });

/** A queue's limits; an absent field is no limit. */
export const QueueLimitsSchema = Type.Object(
  {
    concurrency: Type.Optional(Concurrency),
    groupConcurrency: Type.Optional(Concurrency),
    rate: Type.Optional(RateLimitSchema),
    groupRate: Type.Optional(RateLimitSchema),
  },
  { additionalProperties: false },
);

/** What a pause, resume or limits change answers: the queue's controls after it. */
export const QueueControlAnswerSchema = Type.Object({
  command: Type.String(),
  paused: Type.Boolean(),
  limits: QueueLimitsSchema,
  changed: Type.Boolean({ description: 'false when the queue already was so (no event written)' }),
});

/** The answer of a queue control (see {@link QueueControlAnswerSchema}). */
export type QueueControlAnswer = Type.Static<typeof QueueControlAnswerSchema>;

/** The answer of a control: the queue's controls after it, and whether an event was written. */
export function queueControlAnswer(
  command: string,
  settings: QueueSettings,
  changed: boolean,
): QueueControlAnswer {
  const { paused, ...limits } = settings;
  return { command, paused, limits, changed };
}

/** One group key's figures in a queue. */
const GroupFiguresSchema = Type.Object({
  groupKey: Type.String(),
  ready: Type.Integer(),
  leased: Type.Integer({ description: 'reserved or leased (what a group concurrency limit counts)' }),
});

/** One queue in detail: its counts, controls and the health figures autoscalers read. */
export const QueueDetailSchema = Type.Object({
  ...QueueStatsSchema.properties,
  limits: QueueLimitsSchema,
  oldestReadyAgeMs: Type.Optional(
    Type.Integer({ description: 'age of the oldest ready task, ms (absent: nothing ready)' }),
  ),
  groupedReady: Type.Integer({ description: 'ready tasks with a group key (included in ready)' }),
  groups: Type.Integer({ description: 'group keys with ready or leased tasks' }),
  topGroups: Type.Array(GroupFiguresSchema, { description: 'the busiest group keys by ready tasks' }),
});

/** Query of a control history read. */
export const ControlsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: CONTROLS_LIMIT_MAX,
        description: `the newest this many; default ${CONTROLS_LIMIT_DEFAULT}`,
      }),
    ),
  },
  { additionalProperties: false },
);

/** One control event as the HTTP API shows it (`time` RFC3339). */
export const ControlEventJsonSchema = Type.Object({
  seq: Type.Integer({ description: 'sequence in the control stream' }),
  type: Type.Union([
    Type.Literal('queuePaused'),
    Type.Literal('queueResumed'),
    Type.Literal('queueLimitsChanged'),
  ]),
  command: Type.String(),
  time: Type.String({ description: 'RFC3339 UTC' }),
  actor: Type.String({ description: 'who: admin:<sub>' }),
  data: Type.Unknown({ description: 'queuePaused: {reason?}; queueLimitsChanged: {patch}' }),
  settings: Type.Object(
    { paused: Type.Boolean(), ...QueueLimitsSchema.properties },
    { description: "the queue's controls after this event" },
  ),
});

/** One control event as the HTTP API shows it. */
export type ControlEventJson = Type.Static<typeof ControlEventJsonSchema>;

/** A queue's control history, oldest first. */
export const ControlsPageSchema = Type.Object({ events: Type.Array(ControlEventJsonSchema) });
