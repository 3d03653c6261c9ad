/**
 * Schemas shared by several route groups: the Task and ResultRecord JSON of the codeQ contract,
 * error bodies, and the field rules whose error strings the contract fixes (`x-error`).
 */
import Type from 'typebox';
import { COMMAND_PATTERN as COMMAND_RE, TASK_ID_PATTERN as TASK_ID_RE } from '../events/subjects.js';

/** A command name, as codeQ and the event subjects allow it. */
export const COMMAND_PATTERN = COMMAND_RE.source;

/** JSON-schema pattern of a task id (the log's subject token rule). */
export const TASK_ID_PATTERN = TASK_ID_RE.source;

/** Contract error strings, attached to fields with `x-error` so validation answers them verbatim. */
export const MESSAGES = {
  command: 'invalid command',
  runAt: "invalid 'runAt' (use RFC3339)",
  delaySeconds: "invalid 'delaySeconds' (must be >= 0)",
  webhook: 'invalid webhook url',
  before: "invalid 'before' (use RFC3339)",
} as const;

/** A command name field. */
export const Command = Type.String({ pattern: COMMAND_PATTERN, 'x-error': MESSAGES.command });

/** An RFC3339 time field (checked precisely by {@link parseRfc3339}). */
export const Rfc3339 = (message: string) =>
  Type.String({ maxLength: 64, description: 'RFC3339 time, e.g. 2025-01-01T00:00:00Z', 'x-error': message });

/** `{"error": "..."}`. */
export const ErrorBody = Type.Object({ error: Type.String() }, { description: 'Error' });

/** A 503 of a batch the log took part of: which items were written (index, id) and which not. */
export const PartialWriteErrorBody = Type.Object(
  {
    error: Type.String(),
    written: Type.Optional(Type.Array(Type.Object({ index: Type.Integer(), id: Type.String() }))),
    failed: Type.Optional(Type.Array(Type.Object({ index: Type.Integer(), code: Type.String() }))),
  },
  { description: 'Unavailable; after a partial write, the items written and not written' },
);

/** A task id path parameter. Other shapes answer 404, as an unknown id would. */
export const TaskIdParams = Type.Object(
  { id: Type.String({ pattern: TASK_ID_PATTERN }) },
  { additionalProperties: false },
);

/** A command path parameter. */
export const CommandParams = Type.Object({ command: Command }, { additionalProperties: false });

/** An artifact attached to a result. */
export const ArtifactSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    url: Type.Optional(Type.String({ maxLength: 4096 })),
    contentBase64: Type.Optional(Type.String()),
    contentType: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

const Time = Type.String({ description: 'RFC3339 UTC' });
const Status = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('IN_PROGRESS'),
  Type.Literal('COMPLETED'),
  Type.Literal('FAILED'),
  Type.Literal('CANCELLED'),
]);

/** The Task JSON of the contract (optional fields are omitted when empty, as codeQ's `omitempty`). */
export const TaskSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  command: Type.String(),
  payload: Type.Unknown(),
  priority: Type.Integer({ minimum: 0, maximum: 9 }),
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
  state: Type.String({
    description: 'Machine state: pending, inProgress, completed, failed, deadLettered, cancelled',
  }),
  idempotencyKey: Type.Optional(Type.String()),
});

/** The ResultRecord JSON of the contract. */
export const ResultRecordSchema = Type.Object({
  taskId: Type.String(),
  status: Type.Union([Type.Literal('COMPLETED'), Type.Literal('FAILED')]),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String()),
  artifacts: Type.Optional(Type.Array(ArtifactSchema)),
  completedAt: Time,
});

/** A page of tasks. */
export const TaskPageSchema = Type.Object({
  tasks: Type.Array(TaskSchema),
  nextCursor: Type.Optional(Type.String()),
  total: Type.Integer(),
});

/** Pagination query (`cursor`, `limit` 1..1000, default 100). */
export const PageQueryFields = {
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
};

/** The standard error responses of guarded routes, for the OpenAPI document. */
export const AUTH_ERRORS = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } as const;

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch ms of a strict RFC3339 time (`T` separator, zone required), or `undefined` when malformed. */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339_RE.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (
    month! < 1 ||
    month! > 12 ||
    day! < 1 ||
    day! > daysInMonth ||
    hour! > 23 ||
    minute! > 59 ||
    second! > 60
  ) {
    return undefined;
  }
  const ms = Date.parse(value.toUpperCase());
  return Number.isFinite(ms) ? ms : undefined;
}
