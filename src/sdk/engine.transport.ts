/**
 * The in-process transport: calls the engine directly (NATS and Redis, no HTTP hop). The highest
 * throughput; use it for workers and producers that run next to the infrastructure.
 */
import { CLAIM_COUNT_MAX, ENQUEUE_BATCH_MAX } from '../contract/limits.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EngineApi, ResultInput } from '../engine/engine.types.js';
import type { QueueIntent } from '../actors/queue.decider.js';
import { CONTROLS_LIMIT_DEFAULT } from '../contract/queue-controls.js';
import { queueControlAnswer, type QueueControlAnswer } from '../contract/queue-controls.schema.js';
import type { QueueDetail, ResultRecord, TaskView } from '../contract/views.js';
import type { Settled } from './batcher.js';
import type { QueueAdminTransport, QueueControlEntry } from './queue-admin.js';
import type { ScheduleAdminTransport } from './schedule-admin.js';
import { EngineSchedules } from './schedule-engine.transport.js';
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

/** Options of an {@link EngineTransport}. */
export interface EngineTransportOptions {
  /** The engine to call (the caller owns it; {@link EngineTransport.close} leaves it open). */
  engine: EngineApi;
  /** The worker identity leases are held under; default `sdk-<host>-<pid>-<random>`. */
  workerId?: string;
  /** Recorded as the actor of enqueues and cancels; default `producer:sdk`. */
  actor?: string;
  /** Recorded as the actor of admin operations (bulk cancels, queue controls, schedules); default `admin:sdk`. */
  adminActor?: string;
}

/** Strips the engine-only fields of a view. */
export function taskFromView(view: TaskView): Task {
  const { state: _state, version: _version, ...task } = view;
  return task;
}

/** A transport on an in-process {@link EngineApi}. */
export class EngineTransport implements Transport, QueueAdminTransport, ScheduleAdminTransport {
  readonly kind = 'engine';
  // The contract's limits, the same as over HTTP.
  readonly maxEnqueueBatch = ENQUEUE_BATCH_MAX;
  readonly maxClaimBatch = CLAIM_COUNT_MAX;
  readonly abortableClaims = true;
  /** The identity leases are held under. */
  readonly workerId: string;
  /** Schedules in-process, changes recorded with `adminActor` (see `ScheduleAdmin`). */
  readonly schedules: EngineSchedules;
  private readonly engine: EngineApi;
  private readonly actor: string;
  private readonly adminActor: string;

  constructor(options: EngineTransportOptions) {
    this.engine = options.engine;
    this.workerId =
      options.workerId ?? `sdk-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.slice(0, 128);
    this.actor = options.actor ?? 'producer:sdk';
    this.adminActor = options.adminActor ?? 'admin:sdk';
    this.schedules = new EngineSchedules(this.engine.schedules, this.adminActor, taskFromView);
  }

  async enqueueMany(inputs: TransportEnqueue[]): Promise<Task[]> {
    const views = await this.engine.enqueueMany(inputs.map((i) => ({ ...i, actor: this.actor })));
    return views.map(taskFromView);
  }

  async claim(input: TransportClaim): Promise<Task[]> {
    const views = await this.engine.claim({ ...input, workerId: this.workerId });
    return views.map(taskFromView);
  }

  heartbeat(taskId: string, extendSeconds: number): Promise<{ leaseUntil: number }> {
    return this.engine.heartbeat({ taskId, workerId: this.workerId, extendSeconds });
  }

  nack(
    taskId: string,
    options: { delaySeconds?: number; reason?: string; deadLetter?: boolean; rateLimited?: boolean },
  ): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }> {
    return this.engine.nack({ taskId, workerId: this.workerId, ...options });
  }

  abandon(taskId: string): Promise<void> {
    return this.engine.abandon({ taskId, workerId: this.workerId });
  }

  async completeMany(items: TransportCompletion[]): Promise<Settled<ResultRecord>[]> {
    // One engine call for the whole batch: a fixed number of round trips, however many results.
    const workerId = this.workerId;
    const answers = await this.engine.submitResults(
      items.map((i) => {
        // No conditional spread: it would cost two objects and a copy per item.
        const input: ResultInput = { taskId: i.taskId, workerId, status: 'COMPLETED', result: i.result };
        if (i.command !== undefined) input.command = i.command;
        return input;
      }),
    );
    return answers.map((a) => (a instanceof Error ? { ok: false, error: a } : { ok: true, value: a }));
  }

  fail(taskId: string, error: string): Promise<ResultRecord> {
    return this.engine.fail({ taskId, workerId: this.workerId, error });
  }

  async getTask(taskId: string): Promise<Task> {
    return taskFromView(await this.engine.getTask(taskId));
  }

  async getResult(taskId: string): Promise<{ task: Task; result?: ResultRecord }> {
    const { task, result } = await this.engine.getResult(taskId);
    return result ? { task: taskFromView(task), result } : { task: taskFromView(task) };
  }

  async history(taskId: string): Promise<TaskEventEntry[]> {
    const { events } = await this.engine.history(taskId);
    return events.map((e) => ({ seq: e.seq, type: e.type, actor: e.actor, at: e.at, data: e.data }));
  }

  async progress(taskId: string, progress: number, data?: unknown): Promise<{ progressAt: number }> {
    const input = { taskId, workerId: this.workerId, progress };
    const { progressAt } = await this.engine.progress(data === undefined ? input : { ...input, data });
    return { progressAt };
  }

  cancelTasks(filter: TransportCancelFilter, options: BulkCancelOptions = {}): Promise<BulkCancelSummary> {
    return this.engine.cancelTasks({ filter, actor: this.adminActor, ...options });
  }

  async cancel(taskId: string, reason?: string): Promise<Task> {
    const input =
      reason === undefined ? { taskId, actor: this.actor } : { taskId, actor: this.actor, reason };
    return taskFromView(await this.engine.cancel(input));
  }

  queueStats(command: string) {
    return this.engine.queueStats(command);
  }

  queueDetail(command: string): Promise<QueueDetail> {
    return this.engine.queueDetail(command);
  }

  async controlQueue(command: string, intent: QueueIntent): Promise<QueueControlAnswer> {
    const { settings, event } = await this.engine.controlQueue(command, intent, this.adminActor);
    return queueControlAnswer(command, settings, event !== undefined);
  }

  async queueControls(command: string, limit = CONTROLS_LIMIT_DEFAULT): Promise<QueueControlEntry[]> {
    const events = await this.engine.queueControlHistory(command, limit);
    return events.map((e) => ({
      seq: e.seq,
      type: e.type,
      actor: e.actor,
      at: e.at,
      data: e.data,
      settings: e.settings,
    }));
  }

  async close(): Promise<void> {
    // The engine belongs to the caller.
  }
}
