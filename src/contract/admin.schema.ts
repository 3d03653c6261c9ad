/** Schemas of the admin operations (queues, cleanup, DLQ, listings, the event log). */
import Type from 'typebox';
import { Command, PageQueryFields, Rfc3339, TaskId } from './common.schema.js';
import {
  CLEANUP_LIMIT_DEFAULT,
  CLEANUP_LIMIT_MAX,
  EVENTS_LIMIT_DEFAULT,
  EVENTS_LIMIT_MAX,
  REASON_MAX_LENGTH,
  REQUEUE_IDS_MAX,
  WAIT_SECONDS_MAX,
} from './limits.js';
import { MESSAGES } from './messages.js';

/** One command's counts. */
export const QueueStatsSchema = Type.Object({
  command: Type.String(),
  ready: Type.Integer(),
  delayed: Type.Integer(),
  inProgress: Type.Integer(),
  dlq: Type.Integer(),
  paused: Type.Boolean({ description: 'a paused queue accepts enqueues and hands out no claims' }),
});

/** A bulk cancel's selection: one command's live tasks, narrowed by every other field given. */
export const CancelFilterSchema = Type.Object(
  {
    command: Command,
    state: Type.Optional(
      Type.Union([Type.Literal('pending'), Type.Literal('inProgress')], {
        description: 'pending (ready, delayed) or inProgress (leased); default both',
      }),
    ),
    groupKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'tasks enqueued with this group key' }),
    ),
    createdBefore: Type.Optional(Rfc3339("invalid 'createdBefore' (use RFC3339)")),
    createdAfter: Type.Optional(Rfc3339("invalid 'createdAfter' (use RFC3339)")),
  },
  { additionalProperties: false },
);

/** Bulk cancel body. */
export const BulkCancelBody = Type.Object(
  {
    filter: CancelFilterSchema,
    reason: Type.Optional(Type.String({ maxLength: REASON_MAX_LENGTH })),
    dryRun: Type.Optional(Type.Boolean({ description: 'count the matching tasks, cancel nothing' })),
  },
  { additionalProperties: false },
);

/** Bulk cancel answer. */
export const BulkCancelResponse = Type.Object({
  operationId: Type.String({ description: "in every 'cancelled' event the operation wrote" }),
  matched: Type.Integer({ description: 'tasks that matched when the operation reached them' }),
  cancelled: Type.Integer({ description: 'tasks cancelled (0 for a dry run)' }),
  dryRun: Type.Boolean(),
});

/** Cleanup body (optional). */
export const CleanupBody = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: CLEANUP_LIMIT_MAX,
        description: `0 or absent: ${CLEANUP_LIMIT_DEFAULT}`,
      }),
    ),
    before: Type.Optional(Rfc3339(MESSAGES.before)),
  },
  { additionalProperties: false },
);

/** Cleanup answer. */
export const CleanupResponse = Type.Object({
  deleted: Type.Integer(),
  before: Type.String(),
  limit: Type.Integer(),
});

/** A DLQ page query. */
export const PageQuery = Type.Object(PageQueryFields, { additionalProperties: false });

/** DLQ requeue body (optional: all of the command's DLQ). */
export const RequeueBody = Type.Object(
  {
    taskIds: Type.Optional(Type.Array(TaskId, { minItems: 1, maxItems: REQUEUE_IDS_MAX })),
    filter: Type.Optional(
      Type.Object(
        {
          createdFrom: Type.Optional(
            Type.Integer({ minimum: 0, description: 'created at or after, epoch ms' }),
          ),
          createdTo: Type.Optional(
            Type.Integer({ minimum: 0, description: 'created at or before, epoch ms' }),
          ),
          errorContains: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
        },
        { additionalProperties: false },
      ),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'answer {matched: n}, change nothing' })),
    all: Type.Optional(
      Type.Boolean({
        description:
          'true: the whole DLQ of the command. A delete with neither taskIds nor filter requires it (a delete cannot be undone)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Neither taskIds nor filter: the whole DLQ of the command (a delete also needs all: true). Both: the ids that match.',
  },
);

/** Task listing query. */
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

/** Refusal of a malformed `fromTime` of an event log read. */
export const FROM_TIME_MESSAGE = "invalid 'fromTime' (use RFC3339)";

/** Event log page query. */
export const EventsQuery = Type.Object(
  {
    fromSeq: Type.Optional(Type.Integer({ minimum: 1, description: 'first stream sequence (default 1)' })),
    fromTime: Type.Optional(Rfc3339(FROM_TIME_MESSAGE)),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: EVENTS_LIMIT_MAX, description: `default ${EVENTS_LIMIT_DEFAULT}` }),
    ),
    waitSeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: WAIT_SECONDS_MAX, description: 'wait for new events (tail)' }),
    ),
  },
  { additionalProperties: false },
);

/** One event of an event log page. */
export const EventJson = Type.Object({
  seq: Type.Integer(),
  type: Type.String(),
  taskId: Type.String(),
  command: Type.String(),
  time: Type.String(),
  actor: Type.String(),
  data: Type.Unknown(),
});
