/** The JSON the dashboard reads (docs/api.md and the dashboard contract, docs/dashboard.md). */
// The server's own schemas, as types only (erased from the bundle): the UI reads what they say.
import type { Static } from 'typebox';
import type { TaskSchema } from '../../../src/contract/common.schema';
import type { ScheduleJson } from '../../../src/contract/schedules.schema';
import type { SubscriptionSchema } from '../../../src/contract/subscription.schema';
import type { HistoryResponse } from '../../../src/contract/task.schema';
import type { QueueStats } from '../../../src/contract/views';

/** `GET /ui/api/session`. */
export interface Session {
  subject: string;
  role: 'admin' | 'viewer' | 'producer' | 'worker';
  /** False for a viewer: every action is refused by the server, so the UI disables them. */
  canAct: boolean;
  version: string;
}

/** Per-minute counts of the last hour, oldest first. */
export interface Series {
  bucketMs: number;
  start: number;
  enqueued: number[];
  completed: number[];
  failed: number[];
}

/** One queue of `GET /v1/codeq/admin/overview`. */
export interface QueueOverview extends QueueStats {
  oldestReadyAgeMs?: number | null;
  enqueuedPerSec: number;
  completedPerSec: number;
  failureRate: number;
  series?: Series;
}

/** `GET /v1/codeq/admin/overview` (and the stream's `overview` events). */
export interface Overview {
  now: number;
  queues: QueueOverview[];
  workers: { active: number };
}

/** A task in the full view (`?view=full`). Times are RFC 3339 strings. */
export type Task = Static<typeof TaskSchema>;

/** `GET /v1/codeq/admin/tasks/search`. */
export interface SearchPage {
  items: Task[];
  nextCursor?: string;
  total: number;
  totalExact: boolean;
}

/** `GET /v1/codeq/admin/dlq/:command`. */
export interface TaskPage {
  tasks: Task[];
  nextCursor?: string;
  total: number;
}

/** `GET /v1/codeq/tasks/:id/history`. */
export type History = Static<typeof HistoryResponse>;

/** One event of a history. */
export type HistoryEvent = History['events'][number];

/** A live `task` event of `GET /v1/codeq/admin/stream`. */
export interface LiveTaskEvent {
  seq: number;
  type: string;
  taskId: string;
  command: string;
  at: number;
  workerId?: string;
}

/** One schedule of `GET /v1/codeq/admin/schedules`. */
export type Schedule = ScheduleJson;

/** One subscription of `GET /v1/codeq/workers/subscriptions`. */
export type Subscription = Static<typeof SubscriptionSchema>;

/** One worker of `GET /v1/codeq/admin/workers`. */
export interface Worker {
  workerId: string;
  tasksHeld: number;
  lastSeenAt: number;
  commands: string[];
}
