/**
 * The HTTP transport: codeq's HTTP API through {@link CodeqHttpClient}. What remote workers and
 * producers use. The worker identity is the worker token's subject (the server never takes it from
 * a request body).
 */
import { CodeqHttpClient } from '../client/http-client.js';
import type { ResultJson, RoleTokens, TaskJson } from '../client/http-client.types.js';
import type { ResultRecord } from '../engine/engine.types.js';
import { CodeqError } from '../errors.js';
import type { Settled } from './batcher.js';
import type {
  Task,
  TaskEventEntry,
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
  /** The fetch implementation; default the global `fetch` (tests count requests with a wrapper). */
  fetch?: typeof fetch;
}

const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/** Task JSON (RFC3339 times) to a {@link Task} (epoch ms). */
export function taskFromJson(json: TaskJson): Task {
  const {
    state: _state,
    version: _version,
    leaseUntil,
    runAt,
    createdAt,
    updatedAt,
    ...rest
  } = json as TaskJson & { state?: unknown; version?: unknown };
  const task: Task = { ...rest, createdAt: Date.parse(createdAt), updatedAt: Date.parse(updatedAt) };
  if (leaseUntil !== undefined) task.leaseUntil = ms(leaseUntil);
  if (runAt !== undefined) task.runAt = ms(runAt);
  return task;
}

/** ResultRecord JSON to a {@link ResultRecord}. */
export function resultFromJson(json: ResultJson): ResultRecord {
  const { completedAt, ...rest } = json;
  return { ...rest, completedAt: Date.parse(completedAt) };
}

/** A transport over codeq's HTTP API. */
export class HttpTransport implements Transport {
  readonly kind = 'http';
  readonly maxEnqueueBatch = 1000;
  readonly maxClaimBatch = 256;
  readonly abortableClaims = false;
  /** The underlying client (for endpoints the SDK does not wrap). */
  readonly client: CodeqHttpClient;

  constructor(options: HttpTransportOptions) {
    const tokens: RoleTokens = { ...(options.token ? { default: options.token } : {}), ...options.tokens };
    this.client = new CodeqHttpClient({
      baseUrl: options.baseUrl,
      tokens,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
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
    const leaseUntil = ms(answer.leaseUntil);
    // An old server answers `{ok:true}` only: the deadline is then "about now + extend".
    return { leaseUntil: leaseUntil ?? Date.now() + extendSeconds * 1000 };
  }

  nack(
    taskId: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean },
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
    return items.map((item, i) => {
      const a = answers[i] as
        { ok?: boolean; result?: ResultJson; status?: number; error?: string } | undefined;
      if (a?.ok && a.result) return { ok: true, value: resultFromJson(a.result) };
      const status = a?.status ?? 500;
      const message = a?.error ?? 'no answer for this item';
      const code =
        status === 404
          ? 'NOT_FOUND'
          : status === 403
            ? 'NOT_OWNER'
            : status === 409
              ? 'WRONG_STATE'
              : 'UNAVAILABLE';
      return {
        ok: false,
        error: new CodeqError(code, message, { details: { status, taskId: item.taskId } }),
      };
    });
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
    const { events } = await this.client.history(taskId);
    return events.map((e) => ({
      seq: e.seq,
      type: e.type,
      actor: e.actor,
      at: typeof e.at === 'number' ? e.at : Date.parse(e.time ?? String(e.at ?? '')),
      data: e.data,
    }));
  }

  async cancel(taskId: string, reason?: string): Promise<Task> {
    return taskFromJson(await this.client.cancel(taskId, reason));
  }

  queueStats(command: string) {
    return this.client.queueStats(command);
  }

  async close(): Promise<void> {
    // fetch keeps no state the transport owns.
  }
}
