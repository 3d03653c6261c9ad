/**
 * A small typed client for codeq's HTTP API (codeQ's contract plus codeq's extensions). The CLI uses
 * it; scripts may too. Task answers are asked for in codeq's full view and their payloads decoded
 * when a server writes them as JSON text (task-wire.ts), so a codeQ server works too. Every failure is a `CodeqError`: the HTTP status decides the code and
 * `details.status` keeps it (the request plumbing is in http-request.ts).
 */
import type { QueueLimitsPatch } from '../contract/queue-controls.js';
import type { ControlEventJson, QueueControlAnswer } from '../contract/queue-controls.schema.js';
import type { QueueDetail, QueueStats } from '../contract/views.js';
import type {
  BulkCancelJson,
  CancelFilterJson,
  TaskJson,
  ResultJson,
  EventJson,
  CreateTaskBody,
  ResultBody,
  HttpClientOptions,
  EventsPage,
  ClaimOptions,
  TaskPage,
} from './http-client.types.js';
import { HttpRequester } from './http-request.js';
import { ScheduleHttpClient } from './schedules.client.js';
import { FULL_VIEW, decodeTask, decodeTasks } from './task-wire.js';

export type {
  BulkCancelJson,
  CancelFilterJson,
  TaskJson,
  ResultJson,
  EventJson,
  CreateTaskBody,
  ResultBody,
  Role,
  RoleTokens,
  HttpClientOptions,
  EventsPage,
  ClaimOptions,
  TaskPage,
} from './http-client.types.js';
export type {
  ScheduleBody,
  ScheduleChange,
  ScheduleEventJsonShape,
  ScheduleJson,
} from './schedules.client.js';
export type { ControlEventJson, QueueControlAnswer, QueueDetail, QueueLimitsPatch };

/** Typed access to every endpoint of codeq's HTTP API. Stateless apart from its options. */
export class CodeqHttpClient {
  /** The schedule endpoints (`/admin/schedules`, admin token). */
  readonly schedules: ScheduleHttpClient;
  private readonly http: HttpRequester;

  constructor(options: HttpClientOptions) {
    this.http = new HttpRequester(options);
    this.schedules = new ScheduleHttpClient(this.http);
  }

  /** The server root this client talks to. */
  get url(): string {
    return this.http.baseUrl;
  }

  /** Closes the client's idle connections. Optional: idle connections never keep a process alive. */
  close(): void {
    this.http.close();
  }

  // ---- producer -------------------------------------------------------------------------------

  /** `POST /tasks`: creates a task (or returns the one with the same idempotency key). */
  async createTask(body: CreateTaskBody): Promise<TaskJson> {
    return decodeTask(await this.http.json('producer', 'POST', `/tasks?${FULL_VIEW}`, body));
  }

  /** `POST /tasks/batch`: creates many tasks in one round trip; results in input order. */
  async createTasks(tasks: CreateTaskBody[]): Promise<TaskJson[]> {
    const answer = await this.http.json('producer', 'POST', `/tasks/batch?allOrNothing=true&${FULL_VIEW}`, {
      tasks,
    });
    return decodeTasks(listOf<TaskJson>(answer, 'tasks'));
  }

  /** `GET /tasks/:id`. */
  async getTask(id: string): Promise<TaskJson> {
    return decodeTask(await this.http.json('producer', 'GET', `/tasks/${enc(id)}?${FULL_VIEW}`));
  }

  /** `GET /tasks/:id/result`: the task and its result (absent until terminal). */
  async getResult(id: string): Promise<{ task: TaskJson; result?: ResultJson }> {
    const answer = await this.http.json<{ task: TaskJson; result?: ResultJson }>(
      'producer',
      'GET',
      `/tasks/${enc(id)}/result?${FULL_VIEW}`,
    );
    decodeTask(answer.task);
    return answer;
  }

  /** `GET /tasks/:id/history`: every event of the task and the folded state. */
  history(id: string): Promise<{ taskId: string; events: EventJson[]; state: unknown }> {
    return this.http.json('producer', 'GET', `/tasks/${enc(id)}/history`);
  }

  /** `POST /tasks/:id/cancel`: cancels a pending or running task. */
  async cancel(id: string, reason?: string): Promise<TaskJson> {
    const body = reason === undefined ? {} : { reason };
    return decodeTask(
      await this.http.json('producer', 'POST', `/tasks/${enc(id)}/cancel?${FULL_VIEW}`, body),
    );
  }

  // ---- worker ---------------------------------------------------------------------------------

  /** `POST /tasks/claim`: leases up to `count` tasks, long-polling `waitSeconds`; `[]` on 204. */
  async claim(options: ClaimOptions = {}): Promise<TaskJson[]> {
    const body: Record<string, unknown> = {};
    if (options.commands?.length) body.commands = options.commands;
    if (options.leaseSeconds !== undefined) body.leaseSeconds = options.leaseSeconds;
    if (options.waitSeconds !== undefined) body.waitSeconds = options.waitSeconds;
    // Only batch claims send `count`, so a plain claim stays byte-compatible with codeQ.
    if (options.count !== undefined && options.count > 1) body.count = options.count;
    try {
      const answer = await this.http.request('worker', 'POST', `/tasks/claim?${FULL_VIEW}`, body, {
        waitSeconds: options.waitSeconds ?? 0,
        signal: options.signal,
      });
      if (answer === undefined) return [];
      if (Array.isArray(answer)) return decodeTasks(answer as TaskJson[]);
      const obj = answer as Record<string, unknown>;
      return decodeTasks(Array.isArray(obj.tasks) ? (obj.tasks as TaskJson[]) : [answer as TaskJson]);
    } catch (err) {
      if (options.signal?.aborted) return [];
      throw err;
    }
  }

  /** `POST /tasks/:id/heartbeat`: extends the lease. */
  heartbeat(id: string, extendSeconds?: number): Promise<{ ok: boolean; leaseUntil?: string }> {
    const body = extendSeconds === undefined ? {} : { extendSeconds };
    return this.http.json('worker', 'POST', `/tasks/${enc(id)}/heartbeat`, body);
  }

  /**
   * `POST /tasks/:id/progress`: reports progress (percent 0..100, optional JSON of at most 4 KiB).
   * Refused with `TASK_CANCELLED` once the task was cancelled.
   */
  progress(id: string, progress: number, data?: unknown): Promise<{ progress: number; progressAt: string }> {
    const body = data === undefined ? { progress } : { progress, data };
    return this.http.json('worker', 'POST', `/tasks/${enc(id)}/progress`, body);
  }

  /** `POST /tasks/:id/abandon`: gives the task back untouched. */
  abandon(id: string): Promise<{ status: string }> {
    return this.http.json('worker', 'POST', `/tasks/${enc(id)}/abandon`, {});
  }

  /** `POST /tasks/:id/nack`: retry with backoff (or `delaySeconds`), or DLQ at the attempt limit. */
  nack(
    id: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean; rateLimited?: boolean } = {},
  ): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }> {
    return this.http.json('worker', 'POST', `/tasks/${enc(id)}/nack`, options);
  }

  /** `POST /tasks/:id/result`: records a terminal result. */
  submitResult(id: string, body: ResultBody): Promise<ResultJson> {
    return this.http.json('worker', 'POST', `/tasks/${enc(id)}/result`, body);
  }

  /** `POST /tasks/results`: many results in one round trip; answers in input order. */
  async submitResults(results: Array<ResultBody & { taskId: string }>): Promise<unknown[]> {
    return listOf(await this.http.json('worker', 'POST', '/tasks/results', { results }), 'results');
  }

  /** `POST /workers/subscriptions`: registers a callback for worker-availability notifications. */
  subscribe(body: {
    callbackUrl: string;
    eventTypes?: string[];
    ttlSeconds?: number;
    deliveryMode?: 'fanout' | 'group' | 'hash';
    groupId?: string;
    minIntervalSeconds?: number;
  }): Promise<{ subscriptionId: string; expiresAt: string }> {
    return this.http.json('worker', 'POST', '/workers/subscriptions', body);
  }

  /** `POST /workers/subscriptions/:id/heartbeat`: keeps a subscription alive. */
  renewSubscription(id: string, ttlSeconds?: number): Promise<{ subscriptionId: string; expiresAt: string }> {
    const body = ttlSeconds === undefined ? {} : { ttlSeconds };
    return this.http.json('worker', 'POST', `/workers/subscriptions/${enc(id)}/heartbeat`, body);
  }

  // ---- admin ----------------------------------------------------------------------------------

  /** `GET /admin/queues`: counts of every command that has tasks. */
  async listQueues(): Promise<QueueStats[]> {
    return listOf<QueueStats>(await this.http.json('admin', 'GET', '/admin/queues'), 'queues');
  }

  /** `GET /admin/queues/:command`: counts of one command. */
  queueStats(command: string): Promise<QueueStats> {
    return this.http.json('admin', 'GET', `/admin/queues/${enc(command)}`);
  }

  /** `GET /admin/queues/:command`: one command in detail: counts, pause, limits, health figures. */
  queueDetail(command: string): Promise<QueueDetail> {
    return this.http.json('admin', 'GET', `/admin/queues/${enc(command)}`);
  }

  /** `POST /admin/queues/:command/pause`: no claims until resumed (enqueues go on). */
  pauseQueue(command: string, options: { reason?: string } = {}): Promise<QueueControlAnswer> {
    const body = options.reason === undefined ? {} : { reason: options.reason };
    return this.http.json('admin', 'POST', `/admin/queues/${enc(command)}/pause`, body);
  }

  /** `POST /admin/queues/:command/resume`. */
  resumeQueue(command: string): Promise<QueueControlAnswer> {
    return this.http.json('admin', 'POST', `/admin/queues/${enc(command)}/resume`, {});
  }

  /** `PATCH /admin/queues/:command/limits`: a field sets that limit, `null` removes it, absent keeps it. */
  setQueueLimits(command: string, patch: QueueLimitsPatch): Promise<QueueControlAnswer> {
    return this.http.json('admin', 'PATCH', `/admin/queues/${enc(command)}/limits`, patch);
  }

  /** `GET /admin/queues/:command/controls`: the newest `limit` control events, oldest first. */
  async queueControls(command: string, options: { limit?: number } = {}): Promise<ControlEventJson[]> {
    const path = `/admin/queues/${enc(command)}/controls${query(options)}`;
    return listOf<ControlEventJson>(await this.http.json('admin', 'GET', path), 'events');
  }

  /** `GET /admin/dlq/:command`: dead-lettered tasks, oldest first. */
  async listDlq(command: string, options: { cursor?: string; limit?: number } = {}): Promise<TaskPage> {
    const path = `/admin/dlq/${enc(command)}${query({ ...options, view: 'full' })}`;
    return pageOf(await this.http.json('admin', 'GET', path));
  }

  /** `POST /admin/dlq/:command/requeue`: sends dead-lettered tasks back (all when `taskIds` absent). */
  requeueDlq(command: string, taskIds?: string[]): Promise<{ requeued: number }> {
    const body = taskIds?.length ? { taskIds } : {};
    return this.http.json('admin', 'POST', `/admin/dlq/${enc(command)}/requeue`, body);
  }

  /** `GET /admin/tasks`: tasks of a command in a state (`ready`, `delayed`, `inProgress`, `dlq`, `done`). */
  async listTasks(options: {
    command: string;
    status: 'ready' | 'delayed' | 'inProgress' | 'dlq' | 'done';
    cursor?: string;
    limit?: number;
  }): Promise<TaskPage> {
    return pageOf(await this.http.json('admin', 'GET', `/admin/tasks${query({ ...options, view: 'full' })}`));
  }

  /** `POST /admin/tasks/cleanup`: deletes terminal tasks older than `before` (RFC3339). */
  cleanup(options: { before?: string; limit?: number } = {}): Promise<{ deleted: number }> {
    return this.http.json('admin', 'POST', '/admin/tasks/cleanup', options);
  }

  /**
   * `POST /admin/tasks/cancel`: cancels a command's live tasks matching `filter` as one operation
   * (`dryRun`: counts only). The server pages through the queue however long it is: no client-side
   * timeout unless `timeoutMs` is given.
   */
  cancelTasks(
    filter: CancelFilterJson,
    options: { reason?: string; dryRun?: boolean; timeoutMs?: number } = {},
  ): Promise<BulkCancelJson> {
    const { timeoutMs, ...rest } = options;
    return this.http.json(
      'admin',
      'POST',
      '/admin/tasks/cancel',
      { filter, ...rest },
      { timeoutMs: timeoutMs ?? 0 },
    );
  }

  /** `POST /admin/projections/rebuild`: rebuilds the Redis projection from the log. */
  rebuildProjections(signal?: AbortSignal): Promise<Record<string, unknown>> {
    // A rebuild takes as long as the log is big: no client-side timeout.
    return this.http.json('admin', 'POST', '/admin/projections/rebuild', {}, { timeoutMs: 0, signal });
  }

  /**
   * `GET /admin/events`: a page of the event log from `fromSeq` (or `fromTime`, RFC3339 or epoch
   * ms). `waitSeconds` asks the server to hold an empty answer that long (tail).
   */
  async events(options: {
    fromSeq?: number;
    fromTime?: string;
    limit?: number;
    waitSeconds?: number;
    signal?: AbortSignal;
  }): Promise<EventsPage> {
    const { signal, ...params } = options;
    const answer = await this.http.request('admin', 'GET', `/admin/events${query(params)}`, undefined, {
      waitSeconds: options.waitSeconds ?? 0,
      signal,
    });
    const events = listOf<EventJson>(answer ?? [], 'events');
    const obj = (answer ?? {}) as Record<string, unknown>;
    const last = events[events.length - 1];
    const nextSeq = typeof obj.nextSeq === 'number' ? obj.nextSeq : last ? last.seq + 1 : options.fromSeq;
    return { events, nextSeq };
  }

  /** `GET /healthz`. */
  async healthz(): Promise<{ status: string }> {
    return (await this.http.request(undefined, 'GET', '/healthz', undefined, { raw: true })) as {
      status: string;
    };
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Accepts a bare array or an object wrapping it under `key` (or `items`). */
function listOf<T>(answer: unknown, key: string): T[] {
  if (Array.isArray(answer)) return answer as T[];
  const obj = (answer ?? {}) as Record<string, unknown>;
  const list = obj[key] ?? obj.items;
  return Array.isArray(list) ? (list as T[]) : [];
}

/** A task page, from `{tasks}` (the API) or `{items}` (the engine's shape). */
function pageOf(answer: unknown): TaskPage {
  const obj = (answer ?? {}) as { total?: unknown; nextCursor?: unknown };
  const tasks = decodeTasks(listOf<TaskJson>(answer, 'tasks'));
  const page: TaskPage = { tasks, total: typeof obj.total === 'number' ? obj.total : tasks.length };
  if (typeof obj.nextCursor === 'string') page.nextCursor = obj.nextCursor;
  return page;
}
