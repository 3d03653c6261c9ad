/**
 * The engine: every queue operation on top of the event log (JetStream, the source of truth) and
 * the Redis projection. Instances are stateless apart from connections and waiting claimers, so
 * any number of them may share one NATS and one Redis.
 */
import { randomUUID } from 'node:crypto';
import { foldEvents } from '../actors/task.decider.js';
import { ABSENT_SNAPSHOT } from '../actors/task.types.js';
import { ENQUEUE_BATCH_MAX, RESULT_BATCH_MAX, RESULT_WAIT_SECONDS_MAX } from '../contract/limits.js';
import { CONTROLS_LIMIT_MAX } from '../contract/queue-controls.js';
import { CodeqError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import { assertValidCommand } from '../events/subjects.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import type { EventProjector } from '../projections/event.projector.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import { closeRedisClient } from '../projections/redis-client.js';
import { resultFromHash, viewFromHash } from '../projections/task-record.js';
import type { AdminOps } from './admin-ops.js';
import { createSchedules, wireEngine, type EngineParts } from './engine-wiring.js';
import type { Schedules } from './schedules.js';
import type {
  ClaimInput,
  EngineApi,
  EngineOptions,
  EngineSettings,
  EnqueueInput,
  ResultInput,
} from './engine.types.js';
import type { QueueIntent } from '../actors/queue.decider.js';
import type { StoredControlEvent } from '../events/control-event.schema.js';
import type { QueueControlOutcome } from './queue-controls.js';
import type {
  Page,
  QueueDetail,
  QueueStats,
  ResultRecord,
  TaskHistory,
  TaskView,
  QueueHealthSummary,
} from '../contract/views.js';
import { bulkCancel, type BulkCancelInput, type BulkCancelResult } from './bulk-cancel.js';
import { enqueueMany } from './enqueue.js';
import { traceClaim, traceEnqueue, traceResult, traceResults } from './engine-tracing.js';
import {
  assertBatch,
  assertQueueIntent,
  assertReason,
  assertWorkerId,
  integerIn,
} from './input-validation.js';
import { QueueReads } from './queue-reads.js';
import { DlqOps, type DlqSelection } from './dlq-ops.js';
import { DashboardReads, type Overview, type WorkerSeen } from './dashboard-reads.js';
import { searchTasks, type SearchInput, type SearchPage } from './task-search.js';
import { waitForResult } from './result-wait.js';
import { longPollClaim } from './long-poll-claim.js';
import {
  recordWebhookOutcome,
  resultWebhookOf,
  type WebhookOutcome,
  type WebhookOutcomeDeps,
} from './webhook-outcomes.js';

/** The input of an engine operation (its one parameter), as {@link EngineApi} declares it. */
type Input<K extends keyof EngineApi> = EngineApi[K] extends (input: infer I, ...rest: never[]) => unknown
  ? I
  : never;

/** codeq's engine. Build it with {@link Engine.create}. */
export class Engine implements EngineApi {
  /** Resolved settings. */
  readonly settings: EngineSettings;
  /** The event log (read side). */
  readonly log: EventLog;
  /** The Redis projection. */
  readonly store: ProjectionStore;
  /** Catch-up and rebuild of the projection. */
  readonly projector: EventProjector;
  /** Recurring tasks: cron and interval schedules (`schedules.ts`). */
  readonly schedules: Schedules;
  private closed = false;
  private readonly queues: QueueReads;
  private readonly dashboard: DashboardReads;
  private readonly dlq: DlqOps;

  private constructor(private readonly parts: EngineParts) {
    this.settings = parts.settings;
    this.log = parts.log;
    this.store = parts.store;
    this.projector = parts.projector;
    this.schedules = createSchedules(parts, this);
    this.queues = new QueueReads(parts);
    this.dlq = new DlqOps(parts);
    this.dashboard = new DashboardReads({ store: parts.store, allStats: () => this.queues.allStats() });
  }

  /** Connects, provisions the stream, loads the scripts, builds the projection if Redis lost it. */
  static async create(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(await wireEngine(options));
    try {
      await engine.ensureBuilt();
      await engine.schedules.start();
    } catch (err) {
      await engine.close();
      throw err;
    }
    engine.parts.background?.start();
    return engine;
  }

  /** Rebuilds the projection if Redis does not hold a built one (once per process at a time). */
  ensureBuilt(): Promise<void> {
    return this.parts.ensureBuilt();
  }

  /** Rebuilds the projection from the log now (flush + replay); returns the number of events. */
  async rebuildProjection(onProgress?: (p: { events: number; lastSeq: number }) => void): Promise<number> {
    return this.projector.rebuild(onProgress);
  }

  /** Runs one background pass now (sweeper and projector), whether or not the loop runs. */
  async runBackgroundOnce(now?: number): Promise<void> {
    await this.parts.loopForOnePass().tick(now);
  }

  /**
   * Creates one task. Concurrent calls without an idempotency key are coalesced into one append
   * batch (those made within one microtask turn), each still answering on its own; keyed calls take
   * the batch path directly, which resolves keys against the index first.
   */
  async enqueue(input: EnqueueInput): Promise<TaskView> {
    return traceEnqueue([input], false, async ([traced]) => {
      if (typeof traced !== 'object' || traced === null || traced.idempotencyKey !== undefined) {
        const [view] = await enqueueMany([traced!], this.parts.enqueueDeps);
        return view as TaskView;
      }
      return this.parts.coalescer.add(traced);
    });
  }

  async enqueueMany(inputs: EnqueueInput[]): Promise<TaskView[]> {
    assertBatch(inputs, ENQUEUE_BATCH_MAX, 'tasks');
    return traceEnqueue(inputs, true, (traced) => enqueueMany(traced, this.parts.enqueueDeps));
  }

  async claim(input: ClaimInput): Promise<TaskView[]> {
    return traceClaim(input, () =>
      longPollClaim(input, {
        claimer: this.parts.claimer,
        waiters: this.parts.waiters,
        settings: this.settings,
        observer: this.parts.observer,
        isClosed: () => this.closed,
      }),
    );
  }

  async heartbeat(input: Input<'heartbeat'>): Promise<{ leaseUntil: number }> {
    assertWorkerId(input.workerId);
    const extendMs = this.parts.commands.leaseMs(input.extendSeconds);
    const { workerId, allowedCommands } = input;
    const event = await this.parts.commands.run(
      input.taskId,
      { type: 'heartbeat', workerId, extendMs },
      workerId,
      {
        allowedCommands,
      },
    );
    return { leaseUntil: event.type === 'heartbeat' ? event.data.leaseUntil : 0 };
  }

  progress(input: Input<'progress'>): Promise<{ progress: number; progressAt: number }> {
    return this.parts.commands.reportProgress(input);
  }

  nack(input: Input<'nack'>): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }> {
    return this.parts.commands.nack(input);
  }

  async abandon(input: Input<'abandon'>): Promise<void> {
    assertWorkerId(input.workerId);
    const { workerId, allowedCommands } = input;
    await this.parts.commands.run(input.taskId, { type: 'abandon', workerId }, workerId, { allowedCommands });
  }

  complete(input: Input<'complete'>): Promise<ResultRecord> {
    return traceResult(input, 'complete', (span) =>
      this.parts.commands.submitResult({ ...input, status: 'COMPLETED' }, span),
    );
  }

  fail(input: Input<'fail'>): Promise<ResultRecord> {
    return traceResult(input, 'fail', (span) =>
      this.parts.commands.submitResult({ ...input, status: 'FAILED' }, span),
    );
  }

  async submitResults(inputs: ResultInput[]): Promise<(ResultRecord | CodeqError)[]> {
    assertBatch(inputs, RESULT_BATCH_MAX, 'results');
    return traceResults(inputs, () => this.parts.commands.submitResults(inputs));
  }

  async cancel(input: Input<'cancel'>): Promise<TaskView> {
    assertReason(input.reason);
    await this.parts.commands.run(input.taskId, { type: 'cancel', reason: input.reason }, input.actor, {
      allowedCommands: input.allowedCommands,
    });
    return this.getTask(input.taskId);
  }

  async cancelTasks(input: BulkCancelInput): Promise<BulkCancelResult> {
    return bulkCancel(input, { store: this.store, handler: this.parts.handler });
  }

  async getTask(taskId: string): Promise<TaskView> {
    const task = await this.parts.commands.load(taskId);
    return viewFromHash(task.id, task.command, task.hash);
  }

  async getResult(taskId: string): Promise<{ task: TaskView; result?: ResultRecord }> {
    const task = await this.parts.commands.load(taskId);
    const result = resultFromHash(task.id, task.hash);
    const view = viewFromHash(task.id, task.command, task.hash);
    return result ? { task: view, result } : { task: view };
  }

  async waitForResult(
    taskId: string,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<{ task: TaskView; result?: ResultRecord }> {
    const seconds = integerIn(waitSeconds, 'waitSeconds', 0, RESULT_WAIT_SECONDS_MAX, 0);
    const deps = {
      read: (id: string) => this.getResult(id),
      resync: (command: string, id: string) => this.parts.handler.syncFromLog(command, id),
      waiters: this.parts.results,
    };
    return waitForResult(taskId, this.closed ? 0 : seconds * 1000, deps, signal);
  }

  async artifactFile(
    taskId: string,
    name: string,
  ): Promise<{ task: TaskView; file: { path: string; size: number; contentType?: string } }> {
    const { task, result } = await this.getResult(taskId);
    const artifact = result?.artifacts?.find((a) => a.name === name && a.sha256 !== undefined);
    const found = artifact && (await this.parts.files.find(taskId, artifact));
    if (!artifact || !found) {
      throw new CodeqError('NOT_FOUND', 'artifact not found', { details: { taskId, name } });
    }
    const file = artifact.contentType === undefined ? found : { ...found, contentType: artifact.contentType };
    return { task, file };
  }

  /** A task's result webhook: from the projection, or its `enqueued` event when Redis lost it. */
  resultWebhookOf(command: string, taskId: string): Promise<string | undefined> {
    return resultWebhookOf(this.webhookDeps(), command, taskId);
  }

  /** Records a result callback's outcome in the task's history (see `webhook-outcomes.ts`). */
  recordWebhookOutcome(command: string, taskId: string, outcome: WebhookOutcome): Promise<boolean> {
    return recordWebhookOutcome(this.webhookDeps(), command, taskId, outcome);
  }

  private webhookDeps(): WebhookOutcomeDeps {
    return { handler: this.parts.handler, log: this.log, getTask: (id) => this.getTask(id) };
  }

  async history(taskId: string): Promise<TaskHistory> {
    const task = await this.parts.commands.load(taskId);
    const events = await this.log.history(task.command, task.id);
    return { taskId, events, state: events.length > 0 ? foldEvents(events) : ABSENT_SNAPSHOT };
  }

  queueStats(command: string): Promise<QueueStats> {
    return this.queues.stats(command);
  }

  queueDetail(command: string): Promise<QueueDetail> {
    return this.queues.detail(command);
  }

  allQueueHealth(): Promise<QueueHealthSummary[]> {
    return this.queues.allHealth();
  }

  async controlQueue(command: string, intent: QueueIntent, actor: string): Promise<QueueControlOutcome> {
    assertValidCommand(command);
    assertQueueIntent(intent);
    return this.parts.controls.run(command, intent, actor);
  }

  queueControlHistory(command: string, limit?: number): Promise<StoredControlEvent[]> {
    assertValidCommand(command);
    const most = integerIn(limit, 'limit', 1, CONTROLS_LIMIT_MAX, CONTROLS_LIMIT_MAX);
    return this.parts.controls.history(command, most);
  }

  allQueueStats(): Promise<QueueStats[]> {
    return this.queues.allStats();
  }

  async oldestReady(commands: readonly string[]): Promise<Map<string, number>> {
    return this.store.oldestReady(commands);
  }

  overview(visible: (command: string) => boolean): Promise<Overview> {
    return this.dashboard.overview(visible);
  }

  searchTasks(input: SearchInput): Promise<SearchPage> {
    return searchTasks(this.store, input);
  }

  workersSeen(visible: (command: string) => boolean): Promise<WorkerSeen[]> {
    return this.dashboard.workers(visible);
  }

  followEvents(onEvent: (event: StoredTaskEvent) => void, signal: AbortSignal): Promise<void> {
    return this.log.follow(onEvent, signal);
  }

  async projectionLag(): Promise<number> {
    return this.projector.lag();
  }

  async listTasks(
    command: string,
    state: 'ready' | 'delayed' | 'inProgress' | 'dlq' | 'done',
    options: { cursor?: string; limit?: number } = {},
  ): Promise<Page<TaskView>> {
    return this.parts.admin.listTasks(command, state, options);
  }

  async listDlq(command: string, options: { cursor?: string; limit?: number } = {}): Promise<Page<TaskView>> {
    return this.parts.admin.listTasks(command, 'dlq', options);
  }

  async requeueDlq(input: {
    command: string;
    taskIds?: string[];
    actor: string;
  }): Promise<{ requeued: number }> {
    return this.parts.admin.requeueDlq(input);
  }

  requeueDlqWhere(selection: DlqSelection): Promise<{ requeued: number } | { matched: number }> {
    return this.dlq.requeue(selection);
  }

  deleteDlq(selection: DlqSelection): Promise<{ deleted: number } | { matched: number }> {
    return this.dlq.delete(selection);
  }

  async cleanup(input: { before: number; limit: number }): Promise<{ deleted: number }> {
    return this.parts.admin.cleanup(input);
  }

  async readEvents(
    input: Parameters<AdminOps['readEvents']>[0],
  ): Promise<{ events: StoredTaskEvent[]; nextSeq: number }> {
    return this.parts.admin.readEvents(input, () => this.closed);
  }

  async readiness(): Promise<{ nats: boolean; redis: boolean; projectionLag: number }> {
    const nats =
      !this.parts.nc.isClosed() &&
      (await this.parts.nc.flush().then(
        () => true,
        () => false,
      ));
    const redis = (await this.parts.redis.ping().catch(() => '')) === 'PONG';
    const projectionLag = nats && redis ? await this.projector.lag().catch(() => -1) : -1;
    return { nats, redis, projectionLag };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.parts.waiters.close();
    this.parts.results.close();
    this.parts.controls.stop();
    await this.schedules.stop();
    await this.parts.background?.stop();
    this.parts.wakeSub.unsubscribe();
    this.parts.publisher.close();
    await this.parts.nc.drain().catch(() => this.parts.nc.close());
    await closeRedisClient(this.parts.redis);
  }

  /** A fresh task id (UUID v4). */
  static newTaskId(): string {
    return randomUUID();
  }
}
