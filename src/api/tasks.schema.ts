/** Schemas of the producer routes (create, batch create, reads, cancel). */
import Type from 'typebox';
import {
  AUTH_ERRORS,
  Command,
  ErrorBody,
  MESSAGES,
  ResultRecordSchema,
  Rfc3339,
  TaskSchema,
} from './common.schema.js';

/** `POST /tasks` body: the contract's fields (unknown fields are refused). */
export const CreateTaskBody = Type.Object(
  {
    command: Command,
    payload: Type.Unknown({ description: 'Any JSON value (required)' }),
    priority: Type.Optional(Type.Integer({ description: '0..9, clamped; default 0' })),
    webhook: Type.Optional(Type.String({ maxLength: 4096, 'x-error': MESSAGES.webhook })),
    maxAttempts: Type.Optional(
      Type.Integer({ maximum: 1000, description: '<= 0 or absent: maxAttemptsDefault (5)' }),
    ),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    runAt: Type.Optional(Rfc3339(MESSAGES.runAt)),
    delaySeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 365 * 86_400, 'x-error': MESSAGES.delaySeconds }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /tasks/batch` body. */
export const BatchCreateBody = Type.Object(
  { tasks: Type.Array(CreateTaskBody, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

/** `POST /tasks/:id/cancel` body (optional). */
export const CancelBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 4096 })) },
  { additionalProperties: false },
);

/** `GET /tasks/:id/result` answer. */
export const TaskResultResponse = Type.Object({ task: TaskSchema, result: ResultRecordSchema });

/** `GET /tasks/:id/history` answer. */
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

/** Error responses of the create routes. */
export const CREATE_ERRORS = { ...AUTH_ERRORS, 409: ErrorBody, 413: ErrorBody };
