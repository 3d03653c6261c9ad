/**
 * The CLI over NATS (`--nats-url`, env `CODEQ_NATS_URL`): the task, worker and queue commands talk to
 * codeq's NATS service (docs/nats.md) instead of its HTTP API, with the same tokens and the same JSON.
 * The NATS client is loaded only when used, like the server.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { CreateTaskBody, EventJson, ResultJson, TaskJson } from '../client/http-client.js';
import type { RoleTokens } from '../client/http-client.types.js';
import { decodeTask } from '../client/task-wire.js';
import type { QueueStats } from '../contract/views.js';
import { CodeqError } from '../errors.js';
import { NatsRequester } from '../sdk/nats-request.js';
import { NatsTransport } from '../sdk/nats.transport.js';

/** What the task and queue commands ask of a server; `CodeqHttpClient` has it too. */
export interface TaskClient {
  /** Creates a task. */
  createTask(body: CreateTaskBody): Promise<TaskJson>;
  /** One task. */
  getTask(id: string): Promise<TaskJson>;
  /** A task and its result (absent until terminal). */
  getResult(id: string): Promise<{ task: TaskJson; result?: ResultJson }>;
  /** Every event of a task and the state they fold into. */
  history(id: string): Promise<{ taskId: string; events: EventJson[]; state: unknown }>;
  /** Cancels a task. */
  cancel(id: string, reason?: string): Promise<TaskJson>;
}

/** Where codeq's NATS service is. */
export interface NatsTarget {
  /** NATS server URL(s), comma-separated (`nats://127.0.0.1:4222`). */
  url: string;
  /** The service's subject prefix (`natsApiPrefix`; env `CODEQ_NATS_PREFIX`), default `codeq`. */
  prefix: string;
  /** Tokens per role. */
  tokens: RoleTokens;
}

async function connectTo(url: string): Promise<NatsConnection> {
  const { connect } = await import('@nats-io/transport-node');
  try {
    return await connect({ servers: url.split(',').map((s) => s.trim()), name: 'codeq-cli' });
  } catch (err) {
    throw new CodeqError('UNAVAILABLE', `cannot connect to NATS at ${url}`, { cause: err });
  }
}

/** The task and queue commands over NATS: one connection, opened on first use. */
export class NatsCliClient implements TaskClient {
  private readonly target: NatsTarget;
  private connection: Promise<{ nc: NatsConnection; requester: NatsRequester }> | undefined;

  constructor(target: NatsTarget) {
    this.target = target;
  }

  /** The server URL (for messages). */
  get url(): string {
    return this.target.url;
  }

  private async call<T>(role: 'producer' | 'worker' | 'admin', endpoint: string, body: unknown): Promise<T> {
    this.connection ??= connectTo(this.target.url).then((nc) => ({
      nc,
      requester: new NatsRequester({ nc, prefix: this.target.prefix, tokens: this.target.tokens }),
    }));
    const { requester } = await this.connection;
    return requester.call<T>(role, endpoint, body);
  }

  async createTask(body: CreateTaskBody): Promise<TaskJson> {
    return decodeTask(await this.call('producer', 'tasks.enqueue', { ...body, view: 'full' }));
  }

  async getTask(id: string): Promise<TaskJson> {
    return decodeTask(await this.call('producer', 'tasks.get', { taskId: id, view: 'full' }));
  }

  async getResult(id: string): Promise<{ task: TaskJson; result?: ResultJson }> {
    const answer = await this.call<{ task: TaskJson; result?: ResultJson }>('producer', 'tasks.getResult', {
      taskId: id,
      view: 'full',
    });
    decodeTask(answer.task);
    return answer;
  }

  history(id: string): Promise<{ taskId: string; events: EventJson[]; state: unknown }> {
    return this.call('producer', 'tasks.history', { taskId: id });
  }

  async cancel(id: string, reason?: string): Promise<TaskJson> {
    const body = reason === undefined ? { taskId: id, view: 'full' } : { taskId: id, reason, view: 'full' };
    return decodeTask(await this.call('producer', 'tasks.cancel', body));
  }

  /** One command's counts. */
  queueStats(command: string): Promise<QueueStats> {
    return this.call('admin', 'queues.stats', { command });
  }

  /** Every command's counts. */
  async listQueues(): Promise<QueueStats[]> {
    const answer = await this.call<QueueStats[] | { queues?: QueueStats[] }>('admin', 'queues.list', {});
    return Array.isArray(answer) ? answer : (answer.queues ?? []);
  }

  /** Closes the connection, if one was opened. */
  async close(): Promise<void> {
    const open = this.connection;
    this.connection = undefined;
    if (open) await (await open).nc.close();
  }
}

/** A {@link NatsTransport} on a connection of its own (for `worker start`); `close` closes both. */
export async function natsWorkerTransport(
  target: NatsTarget,
): Promise<{ transport: NatsTransport; close: () => Promise<void> }> {
  const nc = await connectTo(target.url);
  const transport = new NatsTransport({ nc, prefix: target.prefix, tokens: target.tokens });
  return {
    transport,
    close: async () => {
      await transport.close();
      await nc.drain().catch(() => nc.close());
    },
  };
}
