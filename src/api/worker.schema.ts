/** Schemas of the worker routes (claim, heartbeat, abandon, nack, result). */
import Type from 'typebox';
import { ArtifactSchema, Command, MESSAGES, ResultRecordSchema, TASK_ID_PATTERN } from './common.schema.js';

/** `POST /tasks/claim` body (optional: defaults everywhere). */
export const ClaimBody = Type.Object(
  {
    commands: Type.Optional(
      Type.Array(Command, { maxItems: 64, description: "default: the token's eventTypes" }),
    ),
    leaseSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400, description: 'default defaultLeaseSeconds (300)' }),
    ),
    waitSeconds: Type.Optional(
      Type.Integer({ minimum: 0, description: 'long-poll; default 0, capped at 30' }),
    ),
    count: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 256, description: 'batch claim: answers {tasks:[...]}' }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /tasks/:id/heartbeat` body (optional). */
export const HeartbeatBody = Type.Object(
  {
    extendSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400, description: 'default defaultLeaseSeconds (300)' }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /tasks/:id/abandon` body (none expected; `{}` tolerated). */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

/** `POST /tasks/:id/nack` body (optional). */
export const NackBody = Type.Object(
  {
    delaySeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        'x-error': MESSAGES.delaySeconds,
        description: 'capped at backoffMaxSeconds',
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 4096 })),
    deadLetter: Type.Optional(
      Type.Boolean({ description: 'do not retry: dead-letter now, whatever the attempts (codeq addition)' }),
    ),
  },
  { additionalProperties: false },
);

const resultFields = {
  status: Type.Union([Type.Literal('COMPLETED'), Type.Literal('FAILED')]),
  result: Type.Optional(Type.Unknown({ description: 'object, required when COMPLETED' })),
  error: Type.Optional(Type.String({ maxLength: 65_536, description: 'required when FAILED' })),
  artifacts: Type.Optional(Type.Array(ArtifactSchema, { maxItems: 100 })),
};

/** `POST /tasks/:id/result` body. */
export const ResultBody = Type.Object(resultFields, { additionalProperties: false });

/** `POST /tasks/results` body: many results at once. */
export const BatchResultsBody = Type.Object(
  {
    results: Type.Array(
      Type.Object(
        { taskId: Type.String({ pattern: TASK_ID_PATTERN }), ...resultFields },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);

/** `POST /tasks/results` answer: one entry per input, in order. */
export const BatchResultsResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      taskId: Type.String(),
      ok: Type.Boolean(),
      result: Type.Optional(ResultRecordSchema),
      status: Type.Optional(Type.Integer({ description: 'HTTP status this item would have had' })),
      error: Type.Optional(Type.String()),
    }),
  ),
});

/** `POST /tasks/:id/nack` answer. */
export const NackResponse = Type.Object({
  status: Type.Union([Type.Literal('requeued'), Type.Literal('dlq')]),
  delaySeconds: Type.Integer(),
});
