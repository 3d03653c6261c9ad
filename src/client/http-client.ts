/**
 * A small typed client for codeq's HTTP API (codeQ's contract plus codeq's extensions). The CLI uses
 * it; scripts may too. Every failure is a {@link CodeqError}: the HTTP status decides the code and
 * `details.status` keeps it.
 */
import type { CodeqErrorCode } from '../errors.js';
import { CodeqError } from '../errors.js';
import type { QueueStats } from '../contract/views.js';
import type {
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
import { fetchSender, nodeHttpSender, type HttpAnswer, type HttpSender } from './http-send.js';

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

const PREFIX = '/v1/codeq';

/** Maps an HTTP error status (and the server's message) to a codeq error code. */
export function errorCodeForStatus(status: number, message: string): CodeqErrorCode {
  if (status === 400 || status === 413 || status === 422) return 'INVALID_INPUT';
  if (status === 401) return 'INVALID_INPUT';
  // 403 means either "not the lease holder" or "this token may not do that" (scope, event type).
  if (status === 403) return /not[-_ ]?owner/i.test(message) ? 'NOT_OWNER' : 'INVALID_INPUT';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return /idempotency/i.test(message) ? 'IDEMPOTENCY_CONFLICT' : 'WRONG_STATE';
  if (status === 408 || status === 429 || status >= 500) return 'UNAVAILABLE';
  return 'INTERNAL';
}

/** Typed access to every endpoint of codeq's HTTP API. Stateless apart from its options. */
export class CodeqHttpClient {
  private readonly baseUrl: string;
  private readonly tokens: RoleTokens;
  private readonly timeoutMs: number;
  private readonly sender: HttpSender;

  constructor(options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.tokens = options.tokens ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.sender = options.fetch ? fetchSender(options.fetch) : nodeHttpSender();
  }

  /** The server root this client talks to. */
  get url(): string {
    return this.baseUrl;
  }

  /** Closes the client's idle connections. Optional: idle connections never keep a process alive. */
  close(): void {
    this.sender.close();
  }

  // ---- producer -------------------------------------------------------------------------------

  /** `POST /tasks`: creates a task (or returns the one with the same idempotency key). */
  createTask(body: CreateTaskBody): Promise<TaskJson> {
    return this.json('producer', 'POST', '/tasks', body);
  }

  /** `POST /tasks/batch`: creates many tasks in one round trip; results in input order. */
  async createTasks(tasks: CreateTaskBody[]): Promise<TaskJson[]> {
    return listOf<TaskJson>(await this.json('producer', 'POST', '/tasks/batch', { tasks }), 'tasks');
  }

  /** `GET /tasks/:id`. */
  getTask(id: string): Promise<TaskJson> {
    return this.json('producer', 'GET', `/tasks/${enc(id)}`);
  }

  /** `GET /tasks/:id/result`: the task and its result (absent until terminal). */
  getResult(id: string): Promise<{ task: TaskJson; result?: ResultJson }> {
    return this.json('producer', 'GET', `/tasks/${enc(id)}/result`);
  }

  /** `GET /tasks/:id/history`: every event of the task and the folded state. */
  history(id: string): Promise<{ taskId: string; events: EventJson[]; state: unknown }> {
    return this.json('producer', 'GET', `/tasks/${enc(id)}/history`);
  }

  /** `POST /tasks/:id/cancel`: cancels a pending task. */
  cancel(id: string, reason?: string): Promise<TaskJson> {
    return this.json('producer', 'POST', `/tasks/${enc(id)}/cancel`, reason === undefined ? {} : { reason });
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
      const answer = await this.request('worker', 'POST', '/tasks/claim', body, {
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
    return this.json('worker', 'POST', `/tasks/${enc(id)}/heartbeat`, body);
  }

  /** `POST /tasks/:id/abandon`: gives the task back untouched. */
  abandon(id: string): Promise<{ status: string }> {
    return this.json('worker', 'POST', `/tasks/${enc(id)}/abandon`, {});
  }

  /** `POST /tasks/:id/nack`: retry with backoff (or `delaySeconds`), or DLQ at the attempt limit. */
  nack(
    id: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean } = {},
  ): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }> {
    return this.json('worker', 'POST', `/tasks/${enc(id)}/nack`, options);
  }

  /** `POST /tasks/:id/result`: records a terminal result. */
  submitResult(id: string, body: ResultBody): Promise<ResultJson> {
    return this.json('worker', 'POST', `/tasks/${enc(id)}/result`, body);
  }

  /** `POST /tasks/results`: many results in one round trip; answers in input order. */
  async submitResults(results: Array<ResultBody & { taskId: string }>): Promise<unknown[]> {
    return listOf(await this.json('worker', 'POST', '/tasks/results', { results }), 'results');
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
    return this.json('worker', 'POST', '/workers/subscriptions', body);
  }

  /** `POST /workers/subscriptions/:id/heartbeat`: keeps a subscription alive. */
  renewSubscription(id: string, ttlSeconds?: number): Promise<{ subscriptionId: string; expiresAt: string }> {
    const body = ttlSeconds === undefined ? {} : { ttlSeconds };
    return this.json('worker', 'POST', `/workers/subscriptions/${enc(id)}/heartbeat`, body);
  }

  // ---- admin ----------------------------------------------------------------------------------

  /** `GET /admin/queues`: counts of every command that has tasks. */
  async listQueues(): Promise<QueueStats[]> {
    return listOf<QueueStats>(await this.json('admin', 'GET', '/admin/queues'), 'queues');
  }

  /** `GET /admin/queues/:command`: counts of one command. */
  queueStats(command: string): Promise<QueueStats> {
    return this.json('admin', 'GET', `/admin/queues/${enc(command)}`);
  }

  /** `GET /admin/dlq/:command`: dead-lettered tasks, oldest first. */
  async listDlq(command: string, options: { cursor?: string; limit?: number } = {}): Promise<TaskPage> {
    return pageOf(await this.json('admin', 'GET', `/admin/dlq/${enc(command)}${query(options)}`));
  }

  /** `POST /admin/dlq/:command/requeue`: sends dead-lettered tasks back (all when `taskIds` absent). */
  requeueDlq(command: string, taskIds?: string[]): Promise<{ requeued: number }> {
    const body = taskIds?.length ? { taskIds } : {};
    return this.json('admin', 'POST', `/admin/dlq/${enc(command)}/requeue`, body);
  }

  /** `GET /admin/tasks`: tasks of a command in a state (`ready`, `delayed`, `inProgress`, `dlq`, `done`). */
  async listTasks(options: {
    command: string;
    status: 'ready' | 'delayed' | 'inProgress' | 'dlq' | 'done';
    cursor?: string;
    limit?: number;
  }): Promise<TaskPage> {
    return pageOf(await this.json('admin', 'GET', `/admin/tasks${query(options)}`));
  }

  /** `POST /admin/tasks/cleanup`: deletes terminal tasks older than `before` (RFC3339). */
  cleanup(options: { before?: string; limit?: number } = {}): Promise<{ deleted: number }> {
    return this.json('admin', 'POST', '/admin/tasks/cleanup', options);
  }

  /** `POST /admin/projections/rebuild`: rebuilds the Redis projection from the log. */
  rebuildProjections(signal?: AbortSignal): Promise<Record<string, unknown>> {
    // A rebuild takes as long as the log is big: no client-side timeout.
    return this.json('admin', 'POST', '/admin/projections/rebuild', {}, { timeoutMs: 0, signal });
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
    const answer = await this.request('admin', 'GET', `/admin/events${query(params)}`, undefined, {
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
    return (await this.request(undefined, 'GET', '/healthz', undefined, { raw: true })) as { status: string };
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private async json<T>(
    role: Role,
    method: string,
    path: string,
    body?: unknown,
    options: { timeoutMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    return (await this.request(role, method, path, body, options)) as T;
  }

  /** One request; resolves the decoded body, or `undefined` for 204. */
  private async request(
    role: Role | undefined,
    method: string,
    path: string,
    body: unknown,
    options: {
      waitSeconds?: number;
      timeoutMs?: number;
      signal?: AbortSignal | undefined;
      raw?: boolean;
    } = {},
  ): Promise<unknown> {
    const url = `${this.baseUrl}${options.raw ? '' : PREFIX}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = role ? (this.tokens[role] ?? this.tokens.default) : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const signals: AbortSignal[] = [];
    const timeout = options.timeoutMs ?? this.timeoutMs;
    if (timeout > 0) signals.push(AbortSignal.timeout(timeout + (options.waitSeconds ?? 0) * 1000));
    if (options.signal) signals.push(options.signal);
    let res: HttpAnswer;
    try {
      res = await this.sender.send(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // AbortSignal.any only when there are two: it is not free, and requests are per batch.
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
    } catch (err) {
      if (options.signal?.aborted)
        throw new CodeqError('ABORTED', `${method} ${path} aborted`, { cause: err });
      const reason = err instanceof Error ? (causeMessage(err) ?? codedMessage(err)) : String(err);
      throw new CodeqError('UNAVAILABLE', `cannot reach codeq at ${this.baseUrl}: ${reason}`, {
        cause: err,
        details: { url },
      });
    }
    if (res.status === 204) return undefined;
    const text = res.text;
    let decoded: unknown = undefined;
    if (text) {
      try {
        decoded = JSON.parse(text);
      } catch {
        decoded = text;
      }
    }
    if (res.status >= 200 && res.status < 300) return decoded;
    const message =
      decoded && typeof decoded === 'object' && typeof (decoded as { error?: unknown }).error === 'string'
        ? (decoded as { error: string }).error
        : text || res.statusText;
    throw new CodeqError(errorCodeForStatus(res.status, message), message, {
      details: { status: res.status, method, path, requestId: res.header('x-request-id') },
    });
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

/**
 * fetch wraps socket errors ("fetch failed") and an abort wraps its reason (a timeout): the cause
 * says what really happened.
 */
function causeMessage(err: Error): string | undefined {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? codedMessage(cause) : undefined;
}

/** A socket error's message with its code (`ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1`). */
function codedMessage(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${err.message}` : err.message;
}
