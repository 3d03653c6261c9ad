/**
 * Schemas of the dashboard's routes (issue 17): the session, the overview, the task search, the
 * workers seen, and the DLQ bulk actions. Transport-neutral like the rest of `src/contract`.
 */
import Type from 'typebox';

/** The server's version, as the session answer and the OpenAPI document name it. */
export const SERVER_VERSION = '0.1.0';

/** `GET /ui/api/session`: who the token is and whether the dashboard may offer actions. */
export const SessionSchema = Type.Object({
  subject: Type.String({ description: "the caller's identity, recorded as the actor of its actions" }),
  role: Type.Union([
    Type.Literal('admin'),
    Type.Literal('viewer'),
    Type.Literal('producer'),
    Type.Literal('worker'),
  ]),
  canAct: Type.Boolean({ description: 'false for a viewer (every change answers 403)' }),
  version: Type.String(),
});

const Counts = Type.Array(Type.Number(), { description: 'one number per minute, oldest first' });

/** One queue of the overview. */
export const QueueOverviewSchema = Type.Object({
  command: Type.String(),
  ready: Type.Integer(),
  delayed: Type.Integer(),
  inProgress: Type.Integer(),
  dlq: Type.Integer(),
  paused: Type.Boolean(),
  oldestReadyAgeMs: Type.Integer({ description: 'age of the longest-waiting ready task, ms (0: none)' }),
  enqueuedPerSec: Type.Number({ description: 'over this minute and the one before' }),
  completedPerSec: Type.Number(),
  failureRate: Type.Number({ description: 'failed / (completed + failed) over the last hour, 0 when none' }),
  series: Type.Object({
    bucketMs: Type.Integer(),
    start: Type.Integer({ description: 'epoch ms of the first bucket' }),
    enqueued: Counts,
    completed: Counts,
    failed: Type.Array(Type.Number(), { description: 'failed or dead-lettered, per minute' }),
  }),
});

/** `GET /admin/overview` (also the stream's `overview` events). */
export const OverviewSchema = Type.Object({
  now: Type.Integer({ description: 'epoch ms' }),
  queues: Type.Array(QueueOverviewSchema),
  workers: Type.Object({ active: Type.Integer({ description: 'workers seen in the last 10 minutes' }) }),
});

/** A time filter: epoch ms or RFC 3339. */
const TimeParam = (name: string) =>
  Type.String({
    maxLength: 64,
    description: `${name}: epoch ms or RFC 3339`,
    'x-error': `invalid '${name}' (epoch ms or RFC 3339)`,
  });

/** `GET /admin/tasks/search` query. */
export const SearchQuery = Type.Object(
  {
    command: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(
      Type.Union(
        ['ready', 'delayed', 'inProgress', 'dlq', 'done', 'failed', 'cancelled', 'all'].map((s) =>
          Type.Literal(s),
        ),
        { 'x-error': "invalid 'state' (ready, delayed, inProgress, dlq, done, failed, cancelled or all)" },
      ),
    ),
    id: Type.Optional(Type.String({ maxLength: 64 })),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    groupKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    createdFrom: Type.Optional(TimeParam('createdFrom')),
    createdTo: Type.Optional(TimeParam('createdTo')),
    payloadPath: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[^.]+(\\.[^.]+)*$' })),
    payloadValue: Type.Optional(Type.String({ maxLength: 1024 })),
    cursor: Type.Optional(Type.String({ maxLength: 8192 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, 'x-error': "invalid 'limit' (1..200)" })),
  },
  { additionalProperties: false },
);

/** A worker seen lately. */
export const WorkerSeenSchema = Type.Object({
  workerId: Type.String(),
  tasksHeld: Type.Integer({ description: 'leases it holds now' }),
  lastSeenAt: Type.Integer({ description: 'its last claim, heartbeat, nack or result, epoch ms' }),
  commands: Type.Array(Type.String()),
});

/** `GET /admin/workers`. */
export const WorkersResponse = Type.Object({ workers: Type.Array(WorkerSeenSchema) });
