/**
 * The NATS transport: codeq's NATS service (`codeq.v1.*` requests, docs/nats.md) on a connection the
 * caller opened. No HTTP hop, and workers get their tasks pushed (`workers.credit`): a
 * `Worker` on this transport runs no claim loop. The worker identity is
 * the worker token's subject, as over HTTP.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { CLAIM_COUNT_MAX, ENQUEUE_BATCH_MAX } from '../contract/limits.js';
import type { EventJson, ResultJson, RoleTokens, TaskJson } from '../client/http-client.types.js';
import { decodeTask } from '../client/task-wire.js';
import type { ResultRecord } from '../contract/views.js';
import { CodeqError } from '../errors.js';
import type { Settled } from './batcher.js';
import { historyFromJson, resultFromJson, settledResults, taskFromJson } from './http.transport.js';
import { NatsPushFeed } from './nats-push.js';
import { NatsRequester } from './nats-request.js';
import type {
  BulkCancelSummary,
  QueueStats,
  Task,
  TaskEventEntry,
  Transport,
  TransportClaim,
  TransportCompletion,
  TransportEnqueue,
  TransportSubscribe,
  TransportSubscription,
} from './transport.js';

/** Options of a {@link NatsTransport}. */
export interface NatsTransportOptions {
  /** The connection (e.g. `connect()` of `@nats-io/transport-node`); the caller closes it. */
  nc: NatsConnection;
  /** The service's subject prefix (server config `natsApiPrefix`); default `codeq`. */
  prefix?: string;
  /** One bearer token for every role (the simplest setup); `tokens` wins per role. */
  token?: string;
  /** Bearer tokens per role (`producer`, `worker`, `admin`, `default`). */
  tokens?: RoleTokens;
  /** Request timeout in ms on top of a long-poll's wait; default 30 000 ms. */
  timeoutMs?: number;
  /** Workers on this transport get tasks pushed (no claim loop); default true. False: they claim. */
  push?: boolean;
  /**
   * How long a worker's credits stand on the server, ms (100..300 000); default 15 000 ms. The
   * worker renews them as they run out; a server instance that stops takes its credits with it, so
   * this is also the longest a worker may wait for tasks after an instance went away.
   */
  creditExpiresMs?: number;
  /**
   * Delivery subject of the workers; default each worker's own inbox. A shared subject
   * (`<prefix>.v1.deliver.<command>`) with {@link NatsTransportOptions.deliverQueue} lets workers
   * sharing one identity share the deliveries. The server refuses any other subject than an inbox
   * (`_INBOX…`) or `<prefix>.v1.deliver.<…>`.
   */
  deliverSubject?: string;
  /** Queue group of a shared {@link NatsTransportOptions.deliverSubject}. */
  deliverQueue?: string;
}

/** A task answer (full view asked for) to a {@link Task}. */
function task(json: TaskJson): Task {
  return taskFromJson(decodeTask(json));
}

/** The tasks of a claim answer: one task, a list, `{tasks:[…]}`, or nothing. */
function claimedTasks(answer: unknown): Task[] {
  if (answer === undefined || answer === null) return [];
  if (Array.isArray(answer)) return (answer as TaskJson[]).map(task);
  const obj = answer as Record<string, unknown>;
  if (Array.isArray(obj['tasks'])) return (obj['tasks'] as TaskJson[]).map(task);
  return typeof obj['id'] === 'string' ? [task(answer as TaskJson)] : [];
}

/** A transport over codeq's NATS service. */
export class NatsTransport implements Transport {
  readonly kind = 'nats';
  readonly maxEnqueueBatch = ENQUEUE_BATCH_MAX;
  readonly maxClaimBatch = CLAIM_COUNT_MAX;
  readonly abortableClaims = false;
  /** The server claims the worker token's event types when a claim names none. */
  readonly claimsWithoutCommands = true;
  /** Push delivery for workers (absent with `push: false`). */
  readonly subscribe?: (input: TransportSubscribe) => TransportSubscription;
  /** The requests (for endpoints the SDK does not wrap). */
  readonly requester: NatsRequester;

  constructor(options: NatsTransportOptions) {
    const tokens: RoleTokens = { ...(options.token ? { default: options.token } : {}), ...options.tokens };
    this.requester = new NatsRequester({
      nc: options.nc,
      tokens,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    if (options.push ?? true) {
      const push = {
        expiresMs: options.creditExpiresMs ?? 15_000,
        deliverSubject: options.deliverSubject,
        queue: options.deliverQueue,
      };
      this.subscribe = (input) => new NatsPushFeed(options.nc, this.requester, input, push);
    }
  }

  async enqueueMany(inputs: TransportEnqueue[]): Promise<Task[]> {
    const bodies = inputs.map(({ runAt, ...rest }) =>
      runAt === undefined ? rest : { ...rest, runAt: new Date(runAt).toISOString() },
    );
    if (bodies.length === 1)
      return [task(await this.requester.call('producer', 'tasks.enqueue', { ...bodies[0], view: 'full' }))];
    const answer = await this.requester.call<{ tasks?: unknown[] }>('producer', 'tasks.enqueue', {
      tasks: bodies,
      allOrNothing: true,
      view: 'full',
    });
    return (answer.tasks ?? []).map((item) => task(item as TaskJson));
  }

  async claim(input: TransportClaim): Promise<Task[]> {
    const body = {
      commands: input.commands,
      leaseSeconds: input.leaseSeconds,
      waitSeconds: input.waitSeconds,
      count: input.count,
      view: 'full',
    };
    return claimedTasks(await this.requester.call('worker', 'tasks.claim', body, input.waitSeconds));
  }

  async heartbeat(taskId: string, extendSeconds: number): Promise<{ leaseUntil: number }> {
    const answer = await this.requester.call<{ leaseUntil?: string }>('worker', 'tasks.heartbeat', {
      taskId,
      extendSeconds,
    });
    const leaseUntil =
      answer?.leaseUntil === undefined ? Date.now() + extendSeconds * 1000 : Date.parse(answer.leaseUntil);
    return { leaseUntil };
  }

  nack(
    taskId: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean; rateLimited?: boolean },
  ): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }> {
    return this.requester.call('worker', 'tasks.nack', { taskId, ...options });
  }

  async abandon(taskId: string): Promise<void> {
    await this.requester.call('worker', 'tasks.abandon', { taskId });
  }

  async completeMany(items: TransportCompletion[]): Promise<Settled<ResultRecord>[]> {
    if (items.length === 1) {
      const only = items[0]!;
      try {
        const body = { taskId: only.taskId, status: 'COMPLETED', result: only.result };
        return [
          { ok: true, value: resultFromJson(await this.requester.call('worker', 'tasks.result', body)) },
        ];
      } catch (error) {
        return [{ ok: false, error }];
      }
    }
    const results = items.map((i) => ({ taskId: i.taskId, status: 'COMPLETED', result: i.result }));
    const answer = await this.requester.call<{ results?: unknown[] }>('worker', 'tasks.result', { results });
    return settledResults(items, answer?.results ?? []);
  }

  async fail(taskId: string, error: string): Promise<ResultRecord> {
    const body = { taskId, status: 'FAILED', error };
    return resultFromJson(await this.requester.call<ResultJson>('worker', 'tasks.result', body));
  }

  async getTask(taskId: string): Promise<Task> {
    return task(await this.requester.call('producer', 'tasks.get', { taskId, view: 'full' }));
  }

  async getResult(taskId: string): Promise<{ task: Task; result?: ResultRecord }> {
    let answer: { task: TaskJson; result?: ResultJson };
    try {
      answer = await this.requester.call('producer', 'tasks.getResult', { taskId, view: 'full' });
    } catch (err) {
      // As over HTTP, NOT_FOUND is both "no such task" and "no result yet": ask for the task.
      if (err instanceof CodeqError && err.code === 'NOT_FOUND') return { task: await this.getTask(taskId) };
      throw err;
    }
    return answer.result
      ? { task: task(answer.task), result: resultFromJson(answer.result) }
      : { task: task(answer.task) };
  }

  async history(taskId: string): Promise<TaskEventEntry[]> {
    const answer = await this.requester.call<{ events: EventJson[] }>('producer', 'tasks.history', {
      taskId,
    });
    return historyFromJson(answer.events);
  }

  async progress(taskId: string, progress: number, data?: unknown): Promise<{ progressAt: number }> {
    const body = data === undefined ? { taskId, progress } : { taskId, progress, data };
    const answer = await this.requester.call<{ progressAt: string }>('worker', 'tasks.progress', body);
    return { progressAt: Date.parse(answer.progressAt) };
  }

  async cancel(taskId: string, reason?: string): Promise<Task> {
    const body = reason === undefined ? { taskId, view: 'full' } : { taskId, reason, view: 'full' };
    return task(await this.requester.call('producer', 'tasks.cancel', body));
  }

  cancelTasks(): Promise<BulkCancelSummary> {
    // Admin operations are HTTP-only (docs/nats.md): the NATS service serves producers and workers.
    return Promise.reject(
      new CodeqError('UNSUPPORTED', 'bulk cancel is not served over NATS; use the HTTP transport'),
    );
  }

  queueStats(command: string): Promise<QueueStats> {
    // An admin read, as `GET /admin/queues/:command`.
    return this.requester.call('admin', 'queues.stats', { command });
  }

  async close(): Promise<void> {
    // The connection belongs to the caller; workers close their own subscriptions.
  }
}
