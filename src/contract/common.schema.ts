/**
 * Schemas shared by several request and answer bodies: the Task and ResultRecord JSON of the codeQ
 * contract, error bodies, and the field rules whose error strings the contract fixes (`x-error`).
 * Transport-neutral: HTTP validates and documents with them, and any other transport can too.
 */
import Type from 'typebox';
import {
  ARTIFACT_NAME_MAX_LENGTH,
  COMMAND_PATTERN,
  CURSOR_MAX_LENGTH,
  PAGE_LIMIT_MAX,
  PRIORITY_MAX,
  PRIORITY_MIN,
  RFC3339_MAX_LENGTH,
  TASK_ID_PATTERN,
  URL_MAX_LENGTH,
} from './limits.js';
import { MESSAGES } from './messages.js';

/** A command name field. */
export const Command = Type.String({ pattern: COMMAND_PATTERN.source, 'x-error': MESSAGES.command });

/** A task id field (the log's subject token rule). */
export const TaskId = Type.String({ pattern: TASK_ID_PATTERN.source });

/** An RFC3339 time field (checked precisely by `parseRfc3339`), refused with `message`. */
export const Rfc3339 = (message: string) =>
  Type.String({
    maxLength: RFC3339_MAX_LENGTH,
    description: 'RFC3339 time, e.g. 2025-01-01T00:00:00Z',
    'x-error': message,
  });

/** `{"error": "..."}`. */
export const ErrorBody = Type.Object(
  {
    error: Type.String(),
    code: Type.Optional(
      Type.String({ description: "Set where the message alone is not enough: 'TASK_CANCELLED'" }),
    ),
  },
  { description: 'Error' },
);

/** A refusal of a batch the log took part of: which items were written (index, id) and which not. */
export const PartialWriteErrorBody = Type.Object(
  {
    error: Type.String(),
    written: Type.Optional(Type.Array(Type.Object({ index: Type.Integer(), id: Type.String() }))),
    failed: Type.Optional(Type.Array(Type.Object({ index: Type.Integer(), code: Type.String() }))),
  },
  { description: 'Unavailable; after a partial write, the items written and not written' },
);

/** An artifact attached to a result. */
export const ArtifactSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: ARTIFACT_NAME_MAX_LENGTH }),
    url: Type.Optional(Type.String({ maxLength: URL_MAX_LENGTH })),
    contentBase64: Type.Optional(Type.String()),
    contentType: Type.Optional(Type.String({ maxLength: ARTIFACT_NAME_MAX_LENGTH })),
  },
  { additionalProperties: false },
);

/**
 * An artifact of a recorded result: `name` and `url` as codeQ answers them (for inline content, the
 * `file://` URL of the stored file), and for stored content its `size` (bytes), `sha256` (hex) and
 * `href`, the API path that serves it to whoever may read the task.
 */
export const ArtifactOutSchema = Type.Object({
  name: Type.String(),
  url: Type.Optional(Type.String()),
  contentType: Type.Optional(Type.String()),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  sha256: Type.Optional(Type.String()),
  href: Type.Optional(Type.String({ description: 'e.g. /v1/codeq/tasks/<id>/artifacts/out.txt' })),
});

const Time = Type.String({ description: 'RFC3339 UTC' });
const Status = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('IN_PROGRESS'),
  Type.Literal('COMPLETED'),
  Type.Literal('FAILED'),
  Type.Literal('CANCELLED'),
]);

/**
 * The Task JSON of the contract (optional fields are omitted when empty, as codeQ's `omitempty`).
 * `runAt`, `state` and `idempotencyKey` are codeq's, sent in the full view (`?view=full`) only.
 */
export const TaskSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  command: Type.String(),
  payload: Type.Unknown({
    description:
      "codeQ's view: the payload's JSON text (payloadFormat string, default) or value; full view: the value",
  }),
  priority: Type.Integer({ minimum: PRIORITY_MIN, maximum: PRIORITY_MAX }),
  webhook: Type.Optional(Type.String()),
  status: Status,
  workerId: Type.Optional(Type.String()),
  leaseUntil: Type.Optional(Time),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  error: Type.Optional(Type.String()),
  createdAt: Time,
  updatedAt: Time,
  runAt: Type.Optional(Time),
  state: Type.Optional(
    Type.String({
      description: 'Machine state: pending, inProgress, completed, failed, deadLettered, cancelled',
    }),
  ),
  idempotencyKey: Type.Optional(Type.String()),
  traceParent: Type.Optional(Type.String({ description: 'W3C traceparent given at creation' })),
  traceState: Type.Optional(Type.String({ description: 'W3C tracestate given at creation' })),
  groupKey: Type.Optional(Type.String()),
  progress: Type.Optional(
    Type.Number({ description: 'Last progress a worker reported, percent (0..100); kept after a retry' }),
  ),
  progressData: Type.Optional(Type.Unknown({ description: 'The JSON of the last progress report' })),
  progressAt: Type.Optional(Time),
});

/** The ResultRecord JSON of the contract. */
export const ResultRecordSchema = Type.Object({
  taskId: Type.String(),
  status: Type.Union([Type.Literal('COMPLETED'), Type.Literal('FAILED')]),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String()),
  artifacts: Type.Optional(Type.Array(ArtifactOutSchema)),
  completedAt: Time,
});

/** A page of tasks. */
export const TaskPageSchema = Type.Object({
  tasks: Type.Array(TaskSchema),
  nextCursor: Type.Optional(Type.String()),
  total: Type.Integer(),
});

/** The query flag that asks for the full view: `?view=full` (`view=codeq` is the default shape). */
export const TaskViewQueryFields = {
  view: Type.Optional(
    Type.Union([Type.Literal('codeq'), Type.Literal('full')], {
      description:
        "Task shape: `codeq` (default: codeQ's Task, payload per `payloadFormat`) or `full` (payload as JSON, plus state, runAt, idempotencyKey)",
    }),
  ),
};

/** A query with only the view flag (routes answering tasks and taking no other query). */
export const TaskViewQuery = Type.Object(TaskViewQueryFields);

/** Pagination fields (`cursor`, `limit` 1..{@link PAGE_LIMIT_MAX}, default `PAGE_LIMIT_DEFAULT`). */
export const PageQueryFields = {
  ...TaskViewQueryFields,
  cursor: Type.Optional(Type.String({ maxLength: CURSOR_MAX_LENGTH })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX })),
};
