/**
 * The HTTP transport: codeq's HTTP API through {@link CodeqHttpClient}. What remote workers and
 * producers use. The worker identity is the worker token's subject (the server never takes it from
 * a request body).
 */
import { CLAIM_COUNT_MAX, ENQUEUE_BATCH_MAX } from '../contract/limits.js';
import { CodeqHttpClient } from '../client/http-client.js';
import { errorCodeForStatus } from '../client/http-request.js';
import type {
  CancelFilterJson,
  EventJson,
  ResultJson,
  RoleTokens,
  TaskJson,
} from '../client/http-client.types.js';
import type { QueueIntent } from '../actors/queue.decider.js';
import type { QueueControlAnswer } from '../contract/queue-controls.schema.js';
import type { QueueDetail, ResultRecord } from '../contract/views.js';
import { CodeqError } from '../errors.js';
import type { Settled } from './batcher.js';
import type { QueueAdminTransport, QueueControlEntry } from './queue-admin.js';
import type { ScheduleAdminTransport } from './schedule-admin.js';
import { HttpSchedules } from './schedule-http.transport.js';
import type {
  BulkCancelOptions,
  BulkCancelSummary,
  Task,
  TaskEventEntry,
  TransportCancelFilter,
  Transport,
  TransportClaim,
  TransportCompletion,
  TransportEnqueue,
} from './transport.js';

/** Options of an {@link HttpTransport}. */
export interface HttpTransportOptions {
  /** Server root, e.g. `http://127.0.0.1:8080` (the `/v1/codeq` prefix is added). */
  baseUrl: string;
  /** One bearer token for every role (the simplest setup); `tokens` wins per role. */
  token?: string;
  /** Bearer tokens per role (`producer`, `worker`, `admin`, `default`). */
  tokens?: RoleTokens;
  /** Request timeout in ms on top of a long-poll's wait; default 30 000 ms. */
  timeoutMs?: number;
  /** A fetch implementation to send with (tests count requests with a wrapper); default Node's `http` (see `CodeqHttpClient`). */
  fetch?: typeof fetch;
}

/** Task JSON (RFC3339 times) to a {@link Task} (epoch ms). */
export function taskFromJson(json: TaskJson): Task {
  // Field by field: a rest copy (`{ state, version, ...rest }`) costs more than the JSON.parse of
  // the task, and a claim of 256 tasks pays it 256 times.
  const task: Task = {
    id: json.id,
    command: json.command,
    payload: json.payload,
    priority: json.priority,
    status: json.status,
    attempts: json.attempts,
    maxAttempts: json.maxAttempts,
    createdAt: Date.parse(json.createdAt),
    updatedAt: Date.parse(json.updatedAt),
  };
  if (json.leaseUntil !== undefined) task.leaseUntil = Date.parse(json.leaseUntil);
  if (json.runAt !== undefined) task.runAt = Date.parse(json.runAt);
  if (json.progressAt !== undefined) task.progressAt = Date.parse(json.progressAt);
  // The other fields (webhook, workerId, error, idempotencyKey, and any a newer server adds) as sent.
  const from = json as unknown as Record<string, unknown>;
  const to = task as unknown as Record<string, unknown>;
  for (const key in from) {
    switch (key) {
      case 'id':
      case 'command':
      case 'payload':
      case 'priority':
      case 'status':
      case 'attempts':
      case 'maxAttempts':
      case 'createdAt':
      case 'updatedAt':
      case 'leaseUntil':
      case 'runAt':
      case 'progressAt':
      case 'state':
      case 'version':
      case '__proto__':
        break;
      default:
        to[key] = from[key];
    }
  }
  return task;
}

/** ResultRecord JSON to a {@link ResultRecord}. */
export function resultFromJson(json: ResultJson): ResultRecord {
  // Field by field rather than a rest copy, for the same reason as taskFromJson.
  const record = { completedAt: Date.parse(json.completedAt) } as Record<string, unknown>;
  const from = json as unknown as Record<string, unknown>;
  for (const key in from) if (key !== 'completedAt' && key !== '__proto__') record[key] = from[key];
  return record as unknown as ResultRecord;
}

/** A history answer's events (HTTP and NATS alike) to {@link TaskEventEntry}s. */
export function historyFromJson(events: EventJson[]): TaskEventEntry[] {
  return events.map((e) => ({
    seq: e.seq,
    type: e.type,
    actor: e.actor,
    at: typeof e.at === 'number' ? e.at : Date.parse(e.time ?? String(e.at ?? '')),
    data: e.data,
  }));
}

/** The items of a batch result answer (`{results:[…]}`, HTTP and NATS alike), one outcome per item. */
export function settledResults(items: TransportCompletion[], answers: unknown[]): Settled<ResultRecord>[] {
  return items.map((item, i) => {
    const a = answers[i] as
      { ok?: boolean; result?: ResultJson; status?: number; error?: string; code?: string } | undefined;
    if (a?.ok && a.result) return { ok: true, value: resultFromJson(a.result) };
    const status = a?.status ?? 500;
    const message = a?.error ?? 'no answer for this item';
    // An item's 403 is only ever "not the lease holder": the token was checked for the batch.
    const code = status === 403 ? 'NOT_OWNER' : errorCodeForStatus(status, message, a?.code);
    return {
      ok: false,
      error: new CodeqError(code, message, { details: { status, taskId: item.taskId } }),
    };
  });
}

/** A transport over codeq's HTTP API. */
export class HttpTransport implements Transport, QueueAdminTransport, ScheduleAdminTransport {
  readonly kind = 'http';
  readonly maxEnqueueBatch = ENQUEUE_BATCH_MAX;
  readonly maxClaimBatch = CLAIM_COUNT_MAX;
  readonly abortableClaims = false;
  /** The server claims the worker token's event types when a claim names none. */
  readonly claimsWithoutCommands = true;
  /** The underlying client (for endpoints the SDK does not wrap). */
  readonly client: CodeqHttpClient;
  /** Schedules over the admin endpoints, in the SDK's shapes (see `ScheduleAdmin`). */
  readonly schedules: HttpSchedules;

  constructor(options: HttpTransportOptions) {
    const tokens: RoleTokens = { ...(options.token ? { default: options.token } : {}), ...options.tokens };
    this.client = new CodeqHttpClient({
      baseUrl: options.baseUrl,
      tokens,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    this.schedules = new HttpSchedules(this.client.schedules, taskFromJson);
  }

  async enqueueMany(inputs: TransportEnqueue[]): Promise<Task[]> {
    const bodies = inputs.map(({ runAt, ...rest }) =>
      runAt === undefined ? rest : { ...rest, runAt: new Date(runAt).toISOString() },
    );
    // A single task goes to the contract's own endpoint, so the SDK works with plain codeQ servers.
    if (bodies.length === 1) return [taskFromJson(await this.client.createTask(bodies[0]!))];
    return (await this.client.createTasks(bodies)).map(taskFromJson);
  }

  async claim(input: TransportClaim): Promise<Task[]> {
    const tasks = await this.client.claim({
      commands: input.commands,
      leaseSeconds: input.leaseSeconds,
      waitSeconds: input.waitSeconds,
      count: input.count,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    return tasks.map(taskFromJson);
  }

  async heartbeat(taskId: string, extendSeconds: number): Promise<{ leaseUntil: number }> {
    const answer = await this.client.heartbeat(taskId, extendSeconds);
    // An old server answers `{ok:true}` only: the deadline is then "about now + extend".
    const leaseUntil =
      answer.leaseUntil === undefined ? Date.now() + extendSeconds * 1000 : Date.parse(answer.leaseUntil);
    return { leaseUntil };
  }

  nack(
    taskId: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean; rateLimited?: boolean },
  ): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }> {
    return this.client.nack(taskId, options);
  }

  async abandon(taskId: string): Promise<void> {
    await this.client.abandon(taskId);
  }

  async completeMany(items: TransportCompletion[]): Promise<Settled<ResultRecord>[]> {
    if (items.length === 1) {
      const only = items[0]!;
      try {
        const r = await this.client.submitResult(only.taskId, { status: 'COMPLETED', result: only.result });
        return [{ ok: true, value: resultFromJson(r) }];
      } catch (error) {
        return [{ ok: false, error }];
      }
    }
    const answers = await this.client.submitResults(
      items.map((i) => ({ taskId: i.taskId, status: 'COMPLETED' as const, result: i.result })),
    );
    return settledResults(items, answers);
  }

  async fail(taskId: string, error: string): Promise<ResultRecord> {
    return resultFromJson(await this.client.submitResult(taskId, { status: 'FAILED', error }));
  }

  async getTask(taskId: string): Promise<Task> {
    return taskFromJson(await this.client.getTask(taskId));
  }

  async getResult(taskId: string): Promise<{ task: Task; result?: ResultRecord }> {
    try {
      const { task, result } = await this.client.getResult(taskId);
      return result
        ? { task: taskFromJson(task), result: resultFromJson(result) }
        : { task: taskFromJson(task) };
    } catch (err) {
      // The contract answers 404 both for "no such task" and "no result yet": ask for the task.
      if (err instanceof CodeqError && err.code === 'NOT_FOUND') return { task: await this.getTask(taskId) };
      throw err;
    }
  }

  async history(taskId: string): Promise<TaskEventEntry[]> {
    return historyFromJson((await this.client.history(taskId)).events);
  }

  async progress(taskId: string, progress: number, data?: unknown): Promise<{ progressAt: number }> {
    const answer = await this.client.progress(taskId, progress, data);
    return { progressAt: Date.parse(answer.progressAt) };
  }

  async cancel(taskId: string, reason?: string): Promise<Task> {
    return taskFromJson(await this.client.cancel(taskId, reason));
  }

  async cancelTasks(
    filter: TransportCancelFilter,
    options: BulkCancelOptions = {},
  ): Promise<BulkCancelSummary> {
    const json: CancelFilterJson = { command: filter.command };
    if (filter.state !== undefined) json.state = filter.state;
    if (filter.groupKey !== undefined) json.groupKey = filter.groupKey;
    if (filter.createdBefore !== undefined) json.createdBefore = new Date(filter.createdBefore).toISOString();
    if (filter.createdAfter !== undefined) json.createdAfter = new Date(filter.createdAfter).toISOString();
    return this.client.cancelTasks(json, options);
  }

  queueStats(command: string) {
    return this.client.queueStats(command);
  }

  queueDetail(command: string): Promise<QueueDetail> {
    return this.client.queueDetail(command);
  }

  controlQueue(command: string, intent: QueueIntent): Promise<QueueControlAnswer> {
    switch (intent.type) {
      case 'pause':
        return this.client.pauseQueue(command, intent.reason === undefined ? {} : { reason: intent.reason });
      case 'resume':
        return this.client.resumeQueue(command);
      case 'setLimits':
        return this.client.setQueueLimits(command, intent.patch);
    }
  }

  async queueControls(command: string, limit?: number): Promise<QueueControlEntry[]> {
    const events = await this.client.queueControls(command, limit === undefined ? {} : { limit });
    return events.map((e) => ({
      seq: e.seq,
      type: e.type,
      actor: e.actor,
      at: Date.parse(e.time),
      data: e.data,
      settings: e.settings,
    }));
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
