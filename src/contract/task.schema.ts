/** Schemas of the producer operations: create (single and batch), cancel, and the read answers. */
import Type from 'typebox';
import { Command, ResultRecordSchema, Rfc3339, TaskSchema, TaskViewQueryFields } from './common.schema.js';
import { GROUP_KEY_PATTERN } from './queue-controls.js';
import {
  DELAY_SECONDS_MAX,
  ENQUEUE_BATCH_MAX,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  MAX_ATTEMPTS_MAX,
  PRIORITY_MAX,
  PRIORITY_MIN,
  REASON_MAX_LENGTH,
  RESULT_WAIT_SECONDS_MAX,
  TRACEPARENT_MAX_LENGTH,
  TRACESTATE_MAX_LENGTH,
  URL_MAX_LENGTH,
} from './limits.js';
import { MESSAGES } from './messages.js';

/** Create body: the contract's fields (unknown fields are refused). */
export const CreateTaskBody = Type.Object(
  {
    command: Command,
    payload: Type.Unknown({ description: 'Any JSON value (required)' }),
    priority: Type.Optional(
      Type.Integer({ description: `${PRIORITY_MIN}..${PRIORITY_MAX}, clamped; default ${PRIORITY_MIN}` }),
    ),
    webhook: Type.Optional(Type.String({ maxLength: URL_MAX_LENGTH, 'x-error': MESSAGES.webhook })),
    maxAttempts: Type.Optional(
      Type.Integer({ maximum: MAX_ATTEMPTS_MAX, description: '<= 0 or absent: maxAttemptsDefault (5)' }),
    ),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH })),
    groupKey: Type.Optional(
      Type.String({
        pattern: GROUP_KEY_PATTERN.source,
        'x-error': MESSAGES.groupKey,
        description: 'fair claiming and per-group limits',
      }),
    ),
    runAt: Type.Optional(Rfc3339(MESSAGES.runAt)),
    delaySeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: DELAY_SECONDS_MAX, 'x-error': MESSAGES.delaySeconds }),
    ),
    traceParent: Type.Optional(
      Type.String({
        maxLength: TRACEPARENT_MAX_LENGTH,
        'x-error': MESSAGES.traceParent,
        description: "W3C traceparent handed to the worker (default: the request's traceparent header)",
      }),
    ),
    traceState: Type.Optional(
      Type.String({ maxLength: TRACESTATE_MAX_LENGTH, 'x-error': MESSAGES.traceState }),
    ),
  },
  { additionalProperties: false },
);

/** Batch create body. */
export const BatchCreateBody = Type.Object(
  { tasks: Type.Array(CreateTaskBody, { minItems: 1, maxItems: ENQUEUE_BATCH_MAX }) },
  { additionalProperties: false },
);

/** Cancel body (optional). */
export const CancelBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: REASON_MAX_LENGTH })) },
  { additionalProperties: false },
);

/** `GET /tasks/:id/result` query: codeQ's long-poll. */
export const ResultQuery = Type.Object(
  {
    ...TaskViewQueryFields,
    waitSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: `wait up to this long for the result (default 0: answer at once); capped at ${RESULT_WAIT_SECONDS_MAX}`,
      }),
    ),
  },
  // codeQ ignores other query parameters.
  { additionalProperties: true },
);

/** A task's result answer. */
export const TaskResultResponse = Type.Object({ task: TaskSchema, result: ResultRecordSchema });

/** A task's history answer. */
export const HistoryResponse = Type.Object({
  taskId: Type.String(),
  events: Type.Array(
    Type.Object({
      seq: Type.Integer(),
      time: Type.String({ description: 'RFC3339 UTC' }),
      type: Type.String(),
      actor: Type.String(),
      data: Type.Unknown(),
    }),
  ),
  state: Type.Object({
    status: Type.String(),
    attempts: Type.Integer(),
    maxAttempts: Type.Integer(),
    version: Type.Integer(),
    workerId: Type.Optional(Type.String()),
    leaseUntil: Type.Optional(Type.String()),
    runAt: Type.Optional(Type.String()),
  }),
});
