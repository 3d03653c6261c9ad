/** Schemas of the admin routes (queues, cleanup, DLQ, listings). */
import Type from 'typebox';
import { Command, MESSAGES, PageQueryFields, Rfc3339, TASK_ID_PATTERN } from './common.schema.js';

/** One command's counts. */
export const QueueStatsSchema = Type.Object({
  command: Type.String(),
  ready: Type.Integer(),
  delayed: Type.Integer(),
  inProgress: Type.Integer(),
  dlq: Type.Integer(),
});

/** `POST /admin/tasks/cleanup` body (optional). */
export const CleanupBody = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'default 1000' })),
    before: Type.Optional(Rfc3339(MESSAGES.before)),
  },
  { additionalProperties: false },
);

/** `POST /admin/tasks/cleanup` answer. */
export const CleanupResponse = Type.Object({
  deleted: Type.Integer(),
  before: Type.String(),
  limit: Type.Integer(),
});

/** `GET /admin/dlq/:command` query. */
export const PageQuery = Type.Object(PageQueryFields, { additionalProperties: false });

/** `POST /admin/dlq/:command/requeue` body (optional: all of the command's DLQ). */
export const RequeueBody = Type.Object(
  {
    taskIds: Type.Optional(
      Type.Array(Type.String({ pattern: TASK_ID_PATTERN }), { minItems: 1, maxItems: 10_000 }),
    ),
  },
  { additionalProperties: false },
);

/** `GET /admin/tasks` query. */
export const ListTasksQuery = Type.Object(
  {
    command: Command,
    status: Type.Union([
      Type.Literal('ready'),
      Type.Literal('delayed'),
      Type.Literal('inProgress'),
      Type.Literal('dlq'),
      Type.Literal('done'),
    ]),
    ...PageQueryFields,
  },
  { additionalProperties: false },
);
