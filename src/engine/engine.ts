/**
 * The engine: every queue operation on top of the event log (JetStream, the source of truth) and
 * the Redis projection. Instances are stateless apart from connections and waiting claimers, so
 * any number of them may share one NATS and one Redis.
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { foldEvents } from '../actors/task.decider.js';
import { ABSENT_SNAPSHOT, type TaskCommand } from '../actors/task.types.js';
import { ENQUEUE_BATCH_MAX, RESULT_BATCH_MAX } from '../contract/limits.js';
import { CodeqError } from '../errors.js';
import { EventLog } from '../events/event-log.js';
import { IdempotencyRegistry, idempotencyBucket } from '../events/idempotency-registry.js';
import { EventPublisher } from '../events/event-publisher.js';
import { assertValidCommand, wakeSubject } from '../events/subjects.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import { EventProjector } from '../projections/event.projector.js';
import { ProjectionKeys } from '../projections/keys.js';
import { ProjectionStore } from '../projections/projection.store.js';
import { closeRedisClient, type RedisClient } from '../projections/redis-client.js';
import { resultFromHash, viewFromHash } from '../projections/task-record.js';
import { AdminOps } from './admin-ops.js';
import { BackgroundLoop } from './background.js';
import { connectEngine } from './engine-connect.js';
import { Claimer } from './claimer.js';
import { LeaseCache } from './lease-cache.js';
import { ClaimWaiters } from './claim-waiters.js';
import { planHandOff } from './hand-off.js';
import { longPollClaim } from './long-poll-claim.js';
import { resolveSettings } from './engine-settings.js';
import type {
  Artifact,
  ClaimInput,
  EngineApi,
  EngineOptions,
  EngineSettings,
  EnqueueInput,
  Page,
  QueueStats,
  ResultRecord,
  TaskHistory,
  TaskView,
} from './engine.types.js';
import { EnqueueCoalescer, enqueueMany } from './enqueue.js';
import { assertBatch, assertNackDelay, assertReason, assertWorkerId } from './input-validation.js';
import { LeaderLock } from './leader-lock.js';
import { CommandHandler } from './command-handler.js';
import {
  recordWebhookOutcome,
  resultWebhookOf,
  type WebhookOutcome,
  type WebhookOutcomeDeps,
} from './webhook-outcomes.js';
import { TaskCommands, type ResultSubmission } from './task-commands.js';
import { TaskWriter } from './task-writer.js';

/** codeq's engine. Build it with {@link Engine.create}. */
export class Engine implements EngineApi {
  private readonly waiters = new ClaimWaiters();
  private readonly claimer: Claimer;
  private readonly commands: TaskCommands;
  /** The one write path (load, decide, append, apply, retry). */
  private readonly handler: CommandHandler;
  private readonly admin: AdminOps;
  private readonly background: BackgroundLoop | undefined;
  private rebuilding: Promise<void> | undefined;
  private readonly coalescer: EnqueueCoalescer;
  private closed = false;

  private constructor(
    /** Resolved settings. */
    readonly settings: EngineSettings,
    private readonly nc: NatsConnection,
    private readonly redis: RedisClient,
    private readonly wakeSub: Subscription,
    private readonly publisher: EventPublisher,
    /** The event log (read side). */
    readonly log: EventLog,
    /** The Redis projection. */
    readonly store: ProjectionStore,
    /** Catch-up and rebuild of the projection. */
    readonly projector: EventProjector,
    private readonly writer: TaskWriter,
    private readonly lock: LeaderLock,
    private readonly logger: Logger,
    withBackground: boolean,
    private readonly observer: EngineOptions['observer'],
    private readonly registry: IdempotencyRegistry,
    private readonly dependencyTimeoutMs: number,
  ) {
    const leases = new LeaseCache();
    this.handler = new CommandHandler({
      store,
      writer,
      log,
      settings,
      ensureBuilt: () => this.ensureBuilt(),
      leases,
    });
    this.commands = new TaskCommands({ store, handler: this.handler, settings });
    this.coalescer = new EnqueueCoalescer(this.enqueueDeps());
    this.admin = new AdminOps({ store, log, commands: this.commands, settings, registry });
    this.claimer = new Claimer({
      store,
      writer,
      handler: this.handler,
      requeueInspectLimit: settings.requeueInspectLimit,
      leases,
    });
    if (withBackground) {
      this.background = new BackgroundLoop({
        lock,
        store,
        projector,
        claimer: this.claimer,
        writer,
        handler: this.handler,
        settings,
        logger,
        observer,
      });
    }
  }

  /** Connects, provisions the stream, loads the scripts, builds the projection if Redis lost it. */
  static async create(options: EngineOptions): Promise<Engine> {
    const settings = resolveSettings({
      // Snapshots come well before the log forgets a task's first events.
      ...(options.streamMaxAgeMs === undefined
        ? {}
        : {
            snapshotAfterMs:
              options.streamMaxAgeMs > 0 ? (options.streamMaxAgeMs * 3) / 4 : Number.POSITIVE_INFINITY,
          }),
      ...options.settings,
    });
    const dependencyTimeoutMs = options.dependencyTimeoutMs ?? 5000;
    if (!Number.isFinite(dependencyTimeoutMs) || dependencyTimeoutMs <= 0) {
      throw new CodeqError('INVALID_INPUT', 'dependencyTimeoutMs must be a positive number of ms', {
        details: { dependencyTimeoutMs },
      });
    }
    const logger = options.logger ?? pino({ level: 'silent' });
    const prefix = options.subjectPrefix ?? 'codeq.task';
    const streamName = options.streamName ?? 'CODEQ_TASKS';
    const { nc, redis } = await connectEngine(options, { name: streamName, subjectPrefix: prefix }, logger);
    const keys = new ProjectionKeys(options.keyPrefix ?? 'codeq');
    const store = new ProjectionStore(redis, keys, settings.idempotencyTtlMs);
    const log = new EventLog({ nc, stream: streamName, subjectPrefix: prefix });
    let registry: IdempotencyRegistry;
    try {
      registry = await IdempotencyRegistry.open(nc, {
        bucket: idempotencyBucket(streamName),
        ttlMs: settings.idempotencyTtlMs,
        replicas: options.streamReplicas ?? 1,
        timeoutMs: dependencyTimeoutMs,
      });
    } catch (err) {
      redis.disconnect();
      await nc.close();
      throw err;
    }
    // One try never outlasts the whole operation's budget.
    const publisher = new EventPublisher(nc, { timeoutMs: dependencyTimeoutMs });
    const projector = new EventProjector(log, store, logger.child({ component: 'projector' }), undefined, {
      completedMs: settings.completedRetentionMs,
      deadMs: settings.deadRetentionMs,
    });
    // Callbacks wired before the engine exists reach it through this holder.
    const holder: { engine?: Engine } = {};
    const writer = new TaskWriter({
      publisher,
      log,
      store,
      subjectPrefix: prefix,
      logger,
      observer: options.observer,
      dependencyTimeoutMs,
      publishWake: (command) => {
        holder.engine?.waiters.wake(command);
        nc.publish(wakeSubject(prefix, command));
      },
      handOff: (stored) =>
        holder.engine ? planHandOff(holder.engine.waiters, stored, Date.now()) : undefined,
    });
    const lock = new LeaderLock(redis, keys.lock('background'), Math.max(5000, settings.sweepIntervalMs * 5));
    const wakePrefix = wakeSubject(prefix, 'x').slice(0, -1);
    const wakeSub = nc.subscribe(`${wakePrefix}*`, {
      callback: (_err, msg) => holder.engine?.waiters.wake(msg.subject.slice(wakePrefix.length)),
    });
    const engine = new Engine(
      settings,
      nc,
      redis,
      wakeSub,
      publisher,
      log,
      store,
      projector,
      writer,
      lock,
      logger,
      options.background ?? true,
      options.observer,
      registry,
      dependencyTimeoutMs,
    );
    holder.engine = engine;
    try {
      await engine.ensureBuilt();
    } catch (err) {
      await engine.close();
      throw err;
    }
    engine.background?.start();
    return engine;
  }

  /** Rebuilds the projection if Redis does not hold a built one (once per process at a time). */
  async ensureBuilt(): Promise<void> {
    if (await this.store.isBuilt()) return;
    this.rebuilding ??= (async () => {
      const deadline = Date.now() + 60_000;
      while (!(await this.store.isBuilt())) {
        if (await this.lock.tryLead()) {
          await this.projector.rebuildIfMissing();
          if (!this.background) await this.lock.release();
          return;
        }
        if (Date.now() > deadline)
          throw new CodeqError('UNAVAILABLE', 'projection is being rebuilt elsewhere; timed out');
        await new Promise((r) => setTimeout(r, 50));
      }
    })().finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  /** Rebuilds the projection from the log now (flush + replay); returns the number of events. */
  async rebuildProjection(onProgress?: (p: { events: number; lastSeq: number }) => void): Promise<number> {
    return this.projector.rebuild(onProgress);
  }

  /** Runs one background pass now (sweeper and projector), whether or not the loop runs. */
  async runBackgroundOnce(now?: number): Promise<void> {
    const loop =
      this.background ??
      new BackgroundLoop({
        lock: this.lock,
        store: this.store,
        projector: this.projector,
        claimer: this.claimer,
        writer: this.writer,
        handler: this.handler,
        settings: this.settings,
        logger: this.logger,
        observer: this.observer,
      });
    await loop.tick(now);
  }

  /**
   * Creates one task. Concurrent calls without an idempotency key are coalesced into one append
   * batch (those made within one microtask turn), each still answering on its own; keyed calls take
   * the batch path directly, which resolves keys against the index first.
   */
  async enqueue(input: EnqueueInput): Promise<TaskView> {
    if (typeof input !== 'object' || input === null || input.idempotencyKey !== undefined) {
      const [view] = await this.enqueueMany([input]);
      return view as TaskView;
    }
    return this.coalescer.add(input);
  }

  private enqueueDeps(): Parameters<typeof enqueueMany>[1] {
    return {
      settings: this.settings,
      store: this.store,
      handler: this.handler,
      registry: this.registry,
      publisher: this.publisher,
      dependencyTimeoutMs: this.dependencyTimeoutMs,
    };
  }

  async enqueueMany(inputs: EnqueueInput[]): Promise<TaskView[]> {
    assertBatch(inputs, ENQUEUE_BATCH_MAX, 'tasks');
    return enqueueMany(inputs, this.enqueueDeps());
  }

  async claim(input: ClaimInput): Promise<TaskView[]> {
    return longPollClaim(input, {
      claimer: this.claimer,
      waiters: this.waiters,
      settings: this.settings,
      observer: this.observer,
      isClosed: () => this.closed,
    });
  }

  async heartbeat(input: {
    taskId: string;
    workerId: string;
    extendSeconds?: number;
    allowedCommands?: readonly string[];
  }): Promise<{ leaseUntil: number }> {
    assertWorkerId(input.workerId);
    const extendMs = this.commands.leaseMs(input.extendSeconds);
    const event = await this.commands.run(
      input.taskId,
      { type: 'heartbeat', workerId: input.workerId, extendMs },
      input.workerId,
      { allowedCommands: input.allowedCommands },
    );
    return { leaseUntil: event.type === 'heartbeat' ? event.data.leaseUntil : 0 };
  }

  async nack(input: {
    taskId: string;
    workerId: string;
    delaySeconds?: number;
    reason?: string;
    deadLetter?: boolean;
    allowedCommands?: readonly string[];
  }): Promise<{ status: 'requeued' | 'dlq'; delaySeconds: number }> {
    assertWorkerId(input.workerId);
    assertNackDelay(input.delaySeconds);
    assertReason(input.reason);
    const command: TaskCommand = input.deadLetter
      ? { type: 'deadLetter', workerId: input.workerId, reason: input.reason }
      : {
          type: 'nack',
          workerId: input.workerId,
          delayOverrideSeconds: input.delaySeconds,
          reason: input.reason,
        };
    const event = await this.commands.run(input.taskId, command, input.workerId, {
      allowedCommands: input.allowedCommands,
    });
    if (event.type === 'nacked')
      return { status: 'requeued', delaySeconds: Math.round(event.data.delayMs / 1000) };
    return { status: 'dlq', delaySeconds: 0 };
  }

  async abandon(input: {
    taskId: string;
    workerId: string;
    allowedCommands?: readonly string[];
  }): Promise<void> {
    assertWorkerId(input.workerId);
    await this.commands.run(input.taskId, { type: 'abandon', workerId: input.workerId }, input.workerId, {
      allowedCommands: input.allowedCommands,
    });
  }

  async complete(input: {
    taskId: string;
    workerId: string;
    result: unknown;
    artifacts?: Artifact[];
    allowedCommands?: readonly string[];
  }): Promise<ResultRecord> {
    return this.submitOne({ ...input, status: 'COMPLETED' });
  }

  async fail(input: {
    taskId: string;
    workerId: string;
    error: string;
    artifacts?: Artifact[];
    allowedCommands?: readonly string[];
  }): Promise<ResultRecord> {
    return this.submitOne({ ...input, status: 'FAILED' });
  }

  private async submitOne(input: ResultSubmission): Promise<ResultRecord> {
    return this.commands.submitResult(input);
  }

  async submitResults(inputs: ResultSubmission[]): Promise<(ResultRecord | CodeqError)[]> {
    assertBatch(inputs, RESULT_BATCH_MAX, 'results');
    return this.commands.submitResults(inputs);
  }

  async cancel(input: {
    taskId: string;
    actor: string;
    reason?: string;
    allowedCommands?: readonly string[];
  }): Promise<TaskView> {
    assertReason(input.reason);
    await this.commands.run(input.taskId, { type: 'cancel', reason: input.reason }, input.actor, {
      allowedCommands: input.allowedCommands,
    });
    return this.getTask(input.taskId);
  }

  async getTask(taskId: string): Promise<TaskView> {
    const task = await this.commands.load(taskId);
    return viewFromHash(task.id, task.command, task.hash);
  }

  async getResult(taskId: string): Promise<{ task: TaskView; result?: ResultRecord }> {
    const task = await this.commands.load(taskId);
    const result = resultFromHash(task.id, task.hash);
    const view = viewFromHash(task.id, task.command, task.hash);
    return result ? { task: view, result } : { task: view };
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
    return { handler: this.handler, log: this.log, getTask: (id) => this.getTask(id) };
  }

  async history(taskId: string): Promise<TaskHistory> {
    const task = await this.commands.load(taskId);
    const events = await this.log.history(task.command, task.id);
    return { taskId, events, state: events.length > 0 ? foldEvents(events) : ABSENT_SNAPSHOT };
  }

  async queueStats(command: string): Promise<QueueStats> {
    assertValidCommand(command);
    return { command, ...(await this.store.counts(command)) };
  }

  async allQueueStats(): Promise<QueueStats[]> {
    const commands = await this.store.commands();
    return Promise.all(commands.map((c) => this.queueStats(c)));
  }

  async listTasks(
    command: string,
    state: 'ready' | 'delayed' | 'inProgress' | 'dlq' | 'done',
    options: { cursor?: string; limit?: number } = {},
  ): Promise<Page<TaskView>> {
    return this.admin.listTasks(command, state, options);
  }

  async listDlq(command: string, options: { cursor?: string; limit?: number } = {}): Promise<Page<TaskView>> {
    return this.admin.listTasks(command, 'dlq', options);
  }

  async requeueDlq(input: {
    command: string;
    taskIds?: string[];
    actor: string;
  }): Promise<{ requeued: number }> {
    return this.admin.requeueDlq(input);
  }

  async cleanup(input: { before: number; limit: number }): Promise<{ deleted: number }> {
    return this.admin.cleanup(input);
  }

  async readEvents(
    input: Parameters<AdminOps['readEvents']>[0],
  ): Promise<{ events: StoredTaskEvent[]; nextSeq: number }> {
    return this.admin.readEvents(input, () => this.closed);
  }

  async readiness(): Promise<{ nats: boolean; redis: boolean; projectionLag: number }> {
    const nats =
      !this.nc.isClosed() &&
      (await this.nc.flush().then(
        () => true,
        () => false,
      ));
    const redis = (await this.redis.ping().catch(() => '')) === 'PONG';
    const projectionLag = nats && redis ? await this.projector.lag().catch(() => -1) : -1;
    return { nats, redis, projectionLag };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.close();
    await this.background?.stop();
    this.wakeSub.unsubscribe();
    this.publisher.close();
    await this.nc.drain().catch(() => this.nc.close());
    await closeRedisClient(this.redis);
  }

  /** A fresh task id (UUID v4). */
  static newTaskId(): string {
    return randomUUID();
  }
}
