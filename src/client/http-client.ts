/**
 * A small typed client for codeq's HTTP API (codeQ's contract plus codeq's extensions). The CLI uses
 * it; scripts may too. Every failure is a `CodeqError`: the HTTP status decides the code and
 * `details.status` keeps it (the request plumbing is in http-request.ts).
 */
import type { QueueStats } from '../contract/views.js';
import type {
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

export type {
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
  createTask(body: CreateTaskBody): Promise<TaskJson> {
    return this.http.json('producer', 'POST', '/tasks', body);
  }

  /** `POST /tasks/batch`: creates many tasks in one round trip; results in input order. */
  async createTasks(tasks: CreateTaskBody[]): Promise<TaskJson[]> {
    return listOf<TaskJson>(
      await this.http.json('producer', 'POST', '/tasks/batch?allOrNothing=true', { tasks }),
      'tasks',
    );
  }

  /** `GET /tasks/:id`. */
  getTask(id: string): Promise<TaskJson> {
    return this.http.json('producer', 'GET', `/tasks/${enc(id)}`);
  }

  /** `GET /tasks/:id/result`: the task and its result (absent until terminal). */
  getResult(id: string): Promise<{ task: TaskJson; result?: ResultJson }> {
    return this.http.json('producer', 'GET', `/tasks/${enc(id)}/result`);
  }

  /** `GET /tasks/:id/history`: every event of the task and the folded state. */
  history(id: string): Promise<{ taskId: string; events: EventJson[]; state: unknown }> {
    return this.http.json('producer', 'GET', `/tasks/${enc(id)}/history`);
  }

  /** `POST /tasks/:id/cancel`: cancels a pending task. */
  cancel(id: string, reason?: string): Promise<TaskJson> {
    return this.http.json(
      'producer',
      'POST',
      `/tasks/${enc(id)}/cancel`,
      reason === undefined ? {} : { reason },
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
      const answer = await this.http.request('worker', 'POST', '/tasks/claim', body, {
        waitSeconds: options.waitSeconds ?? 0,
        signal: options.signal,
      });
      if (answer === undefined) return [];
      if (Array.isArray(answer)) return answer as TaskJson[];
      const obj = answer as Record<string, unknown>;
      return Array.isArray(obj.tasks) ? (obj.tasks as TaskJson[]) : [answer as TaskJson];
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

  /** `POST /tasks/:id/abandon`: gives the task back untouched. */
  abandon(id: string): Promise<{ status: string }> {
    return this.http.json('worker', 'POST', `/tasks/${enc(id)}/abandon`, {});
  }

  /** `POST /tasks/:id/nack`: retry with backoff (or `delaySeconds`), or DLQ at the attempt limit. */
  nack(
    id: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean } = {},
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

  /** `GET /admin/dlq/:command`: dead-lettered tasks, oldest first. */
  async listDlq(command: string, options: { cursor?: string; limit?: number } = {}): Promise<TaskPage> {
    return pageOf(await this.http.json('admin', 'GET', `/admin/dlq/${enc(command)}${query(options)}`));
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
    return pageOf(await this.http.json('admin', 'GET', `/admin/tasks${query(options)}`));
  }

  /** `POST /admin/tasks/cleanup`: deletes terminal tasks older than `before` (RFC3339). */
  cleanup(options: { before?: string; limit?: number } = {}): Promise<{ deleted: number }> {
    return this.http.json('admin', 'POST', '/admin/tasks/cleanup', options);
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
  const tasks = listOf<TaskJson>(answer, 'tasks');
  const page: TaskPage = { tasks, total: typeof obj.total === 'number' ? obj.total : tasks.length };
  if (typeof obj.nextCursor === 'string') page.nextCursor = obj.nextCursor;
  return page;
}
