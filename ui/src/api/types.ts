/** The JSON the dashboard reads (docs/api.md and the dashboard contract, docs/dashboard.md). */
// The server's own schemas, as types only (erased from the bundle): the UI reads what they say.
import type { Static } from 'typebox';
import type { TaskPageSchema, TaskSchema } from '../../../src/contract/common.schema';
import type { OverviewSchema, SessionSchema, WorkerSeenSchema } from '../../../src/contract/dashboard.schema';
import type { ScheduleJson } from '../../../src/contract/schedules.schema';
import type { SubscriptionSchema } from '../../../src/contract/subscription.schema';
import type { HistoryResponse } from '../../../src/contract/task.schema';

/** `GET /ui/api/session` (`canAct` false for a viewer: the UI disables its actions). */
export type Session = Static<typeof SessionSchema>;

/** `GET /v1/codeq/admin/overview` (and the stream's `overview` events). */
export type Overview = Static<typeof OverviewSchema>;

/** One queue of the overview. */
export type QueueOverview = Overview['queues'][number];

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
export type TaskPage = Static<typeof TaskPageSchema>;

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
export type Worker = Static<typeof WorkerSeenSchema>;
