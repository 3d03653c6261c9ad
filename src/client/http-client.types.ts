/**
 * The JSON shapes of codeq's HTTP API as the client sees them (times are RFC3339 strings), and the
 * client's options.
 */
import type { Artifact, TaskView } from '../contract/views.js';

/**
 * A task as the HTTP API returns it: like {@link TaskView}, with RFC3339 strings for times. `state`
 * (and `runAt`, `idempotencyKey`) come with codeq's full view, which this client asks for; a codeQ
 * server leaves them out.
 */
export type TaskJson = Omit<
  TaskView,
  'leaseUntil' | 'runAt' | 'createdAt' | 'updatedAt' | 'state' | 'version' | 'progressAt'
> & {
  /** Machine state (full view only). */
  state?: TaskView['state'] | undefined;
  /** Stream sequence of the last event, if a server sends it. */
  version?: number | undefined;
  /** Lease deadline while in progress (RFC3339). */
  leaseUntil?: string | undefined;
  /** When the last progress was reported (RFC3339). */
  progressAt?: string | undefined;
  /** When a pending task becomes claimable (RFC3339). */
  runAt?: string | undefined;
  /** Creation time (RFC3339). */
  createdAt: string;
  /** Time of the last event (RFC3339). */
  updatedAt: string;
};

/** A result record as the HTTP API returns it (`completedAt` RFC3339). */
export interface ResultJson {
  /** The task. */
  taskId: string;
  /** `COMPLETED` or `FAILED`. */
  status: 'COMPLETED' | 'FAILED';
  /** The worker's result object. */
  result?: unknown;
  /** The error of a failed task. */
  error?: string;
  /** Attached artifacts. */
  artifacts?: Artifact[];
  /** When the result was recorded (RFC3339). */
  completedAt: string;
}

/** An event as the HTTP API returns it (history and the admin events feed). */
export interface EventJson {
  /** Stream sequence. */
  seq: number;
  /** Event type (`enqueued`, `claimed`, ...). */
  type: string;
  /** Task id (events feed; implied in a history). */
  taskId?: string;
  /** Command (events feed; implied in a history). */
  command?: string;
  /** Who caused it. */
  actor: string;
  /** Type-specific data. */
  data: unknown;
  /** When it happened (RFC3339). */
  time?: string;
  /** When it happened (epoch ms), if the server sends the raw field. */
  at?: number | string;
}

/** Body of `POST /v1/codeq/tasks` (one task of a batch too). */
export interface CreateTaskBody {
  /** Command name. */
  command: string;
  /** Any JSON value. */
  payload: unknown;
  /** 0..9 (clamped by the server); default 0. */
  priority?: number;
  /** Absolute http(s) URL for the result callback. */
  webhook?: string;
  /** Deliveries allowed; default the server's `maxAttemptsDefault` (5). */
  maxAttempts?: number;
  /** Same key within 24 h returns the same task. */
  idempotencyKey?: string;
  /**
   * Group key (a tenant, a customer): claims take turns between keys, and a queue's group limits
   * count per key. 1..128 of letters, digits and `_ . : @ -`; default none.
   */
  groupKey?: string;
  /** Claimable from this time (RFC3339). */
  runAt?: string;
  /** Claimable after this many seconds; ignored when `runAt` is set. */
  delaySeconds?: number;
}

/** Body of a result submission. */
export interface ResultBody {
  /** `COMPLETED` (needs `result`) or `FAILED` (needs `error`). */
  status: 'COMPLETED' | 'FAILED';
  /** The result object. */
  result?: unknown;
  /** The failure message. */
  error?: string;
  /** Attached artifacts. */
  artifacts?: Artifact[];
}

/** The role whose token a request carries. */
export type Role = 'producer' | 'worker' | 'admin';

/** Bearer tokens per role; `default` is used for a role without its own token. */
export type RoleTokens = Partial<Record<Role | 'default', string>>;

/** Options of {@link CodeqHttpClient}. */
export interface HttpClientOptions {
  /** Server root, e.g. `http://127.0.0.1:8080` (the `/v1/codeq` prefix is added). */
  baseUrl: string;
  /** Bearer tokens per role; none means requests go without `Authorization`. */
  tokens?: RoleTokens;
  /** Request timeout in ms on top of any long-poll wait; default 30 000 ms. */
  timeoutMs?: number;
  /**
   * A fetch implementation to send requests with (tests inject one; other runtimes may). Default:
   * Node's `http`/`https` with a keep-alive agent, cheaper per batch call than the global fetch
   * (docs/benchmarks.md).
   */
  fetch?: typeof fetch;
}

/** A page of the event log (`GET /admin/events`). */
export interface EventsPage {
  /** Events in stream order. */
  events: EventJson[];
  /** Sequence to ask for next: the server's, or the last event's seq + 1; unknown for an empty page. */
  nextSeq: number | undefined;
}

/** Options of a long-polling claim. */
export interface ClaimOptions {
  /** Commands to take from; default the token's event types. */
  commands?: string[];
  /** Lease length in seconds; default the server's `defaultLeaseSeconds` (300). */
  leaseSeconds?: number;
  /** Long-poll wait in seconds (0..30); default 0. */
  waitSeconds?: number;
  /** How many tasks at most (batch claim); default 1. */
  count?: number;
  /** Aborts the wait; resolves `[]`. */
  signal?: AbortSignal;
}

/** A page of tasks (`GET /admin/dlq/:command`, `GET /admin/tasks`). */
export interface TaskPage {
  /** The tasks of this page. */
  tasks: TaskJson[];
  /** Matching tasks in all pages. */
  total: number;
  /** Cursor of the next page; absent on the last. */
  nextCursor?: string;
}

/** The selection of `POST /admin/tasks/cancel` (times RFC3339). */
export interface CancelFilterJson {
  /** The command (required). */
  command: string;
  /** `pending` or `inProgress`; default both. */
  state?: 'pending' | 'inProgress';
  /** Tasks enqueued with this group key. */
  groupKey?: string;
  /** Tasks created before this time. */
  createdBefore?: string;
  /** Tasks created at or after this time. */
  createdAfter?: string;
}

/** The answer of `POST /admin/tasks/cancel`. */
export interface BulkCancelJson {
  /** In every `cancelled` event the operation wrote. */
  operationId: string;
  /** Tasks that matched. */
  matched: number;
  /** Tasks cancelled (0 for a dry run). */
  cancelled: number;
  /** True when nothing was written. */
  dryRun: boolean;
}
