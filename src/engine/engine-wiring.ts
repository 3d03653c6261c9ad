/**
 * The engine's composition root: connects, provisions the stream and the idempotency bucket, and
 * builds every part once, each given what it needs (no part reaches back into the engine).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { CodeqError } from '../errors.js';
import { EventLog } from '../events/event-log.js';
import { EventPublisher } from '../events/event-publisher.js';
import { IdempotencyRegistry, idempotencyBucket } from '../events/idempotency-registry.js';
import { wakeSubject } from '../events/subjects.js';
import { EventProjector } from '../projections/event.projector.js';
import { ProjectionKeys } from '../projections/keys.js';
import { ProjectionStore } from '../projections/projection.store.js';
import type { RedisClient } from '../projections/redis-client.js';
import { AdminOps } from './admin-ops.js';
import { ArtifactFiles } from './artifact-files.js';
import { ResultArtifacts } from './result-artifacts.js';
import { ResultWaiters } from './result-waiters.js';
import { BackgroundLoop } from './background.js';
import { ClaimWaiters } from './claim-waiters.js';
import { Claimer } from './claimer.js';
import { IntentHandler } from './intent-handler.js';
import { connectEngine } from './engine-connect.js';
import { resolveSettings } from './engine-settings.js';
import type { EngineApi, EngineObserver, EngineOptions, EngineSettings } from './engine.types.js';
import { Schedules } from './schedules.js';
import { EnqueueCoalescer, type EnqueueDeps } from './enqueue.js';
import { planHandOff } from './hand-off.js';
import { LeaderLock } from './leader-lock.js';
import { LeaseCache } from './lease-cache.js';
import { TaskIntents } from './task-intents.js';
import { TaskWriter } from './task-writer.js';
import { QueueControls } from './queue-controls.js';
import { ControlLog } from '../events/control-log.js';
import { QueueStore } from '../projections/queue.store.js';

/** Default of `EngineOptions.dependencyTimeoutMs`, ms. */
const DEFAULT_DEPENDENCY_TIMEOUT_MS = 5000;
/** Longest wait for a rebuild another instance runs, ms. */
const REBUILD_WAIT_MS = 60_000;

/** Every part of one engine. */
export interface EngineParts {
  settings: EngineSettings;
  logger: Logger;
  observer: EngineObserver | undefined;
  nc: NatsConnection;
  redis: RedisClient;
  /** Wake-ups of other instances' enqueues (core NATS). */
  wakeSub: Subscription;
  /** Pause, resume and limits of queues (the control stream and its projection). */
  controls: QueueControls;
  /** The projection's queue keys (settings, group figures, health). */
  queueStore: QueueStore;
  publisher: EventPublisher;
  log: EventLog;
  store: ProjectionStore;
  projector: EventProjector;
  waiters: ClaimWaiters;
  /** Long-polls for results. */
  results: ResultWaiters;
  handler: IntentHandler;
  commands: TaskIntents;
  claimer: Claimer;
  admin: AdminOps;
  enqueueDeps: EnqueueDeps;
  coalescer: EnqueueCoalescer;
  /** The background loop, when this engine runs one. */
  background: BackgroundLoop | undefined;
  /** A loop for one pass: the running one, or one made for the call. */
  loopForOnePass: () => BackgroundLoop;
  /** Rebuilds the projection if Redis does not hold a built one (once per process at a time). */
  ensureBuilt: () => Promise<void>;
  /** Files of results' inline artifacts. */
  files: ArtifactFiles;
  /** The control stream (queue controls and schedules). */
  controlLog: ControlLog;
  /** The durable idempotency keys. */
  registry: IdempotencyRegistry;
  /** The leader lease of schedule ticks; undefined without the background loop. */
  scheduleLock: LeaderLock | undefined;
  /** How often the schedule lease is renewed or tried, ms. */
  scheduleLeaseCheckMs: number;
}

/** Resolves settings, connects and builds the parts; closes what it opened if anything fails. */
export async function wireEngine(options: EngineOptions): Promise<EngineParts> {
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
  const dependencyTimeoutMs = options.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
  if (!Number.isFinite(dependencyTimeoutMs) || dependencyTimeoutMs <= 0) {
    throw new CodeqError('INVALID_INPUT', 'dependencyTimeoutMs must be a positive number of ms', {
      details: { dependencyTimeoutMs },
    });
  }
  const logger = options.logger ?? pino({ level: 'silent' });
  const observer = options.observer;
  const prefix = options.subjectPrefix ?? 'codeq.task';
  const streamName = options.streamName ?? 'CODEQ_TASKS';
  const { nc, redis } = await connectEngine(options, { name: streamName, subjectPrefix: prefix }, logger);
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
  const keys = new ProjectionKeys(options.keyPrefix ?? 'codeq');
  const store = new ProjectionStore(redis, keys, settings.idempotencyTtlMs);
  const log = new EventLog({ nc, stream: streamName, subjectPrefix: prefix });
  // One try never outlasts the whole operation's budget.
  const publisher = new EventPublisher(nc, { timeoutMs: dependencyTimeoutMs });
  const projector = new EventProjector(
    log,
    store,
    logger.child({ component: 'projector' }),
    undefined,
    { completedMs: settings.completedRetentionMs, deadMs: settings.deadRetentionMs },
    () => controls.reapplyAll(),
  );
  const waiters = new ClaimWaiters();
  const results = new ResultWaiters({ nc, subjectPrefix: prefix });
  const queueStore = new QueueStore(redis, keys);
  const controlLog = new ControlLog({
    nc,
    taskStream: streamName,
    replicas: options.streamReplicas,
    timeoutMs: dependencyTimeoutMs,
  });
  const controls = new QueueControls({
    log: controlLog,
    store: queueStore,
    // A resumed queue or a raised limit may have work for claimers that wait.
    onChange: (command) => writer.scheduleWake(command),
    logger: logger.child({ component: 'queue-controls' }),
  });
  const writer = new TaskWriter({
    onApplied: (events) => results.onApplied(events),
    publisher,
    log,
    store,
    subjectPrefix: prefix,
    logger,
    observer,
    dependencyTimeoutMs,
    publishWake: (command) => {
      waiters.wake(command);
      nc.publish(wakeSubject(prefix, command));
    },
    handOff: (stored) => planHandOff(waiters, stored, Date.now(), (c) => controls.isControlled(c)),
    wakesOnLeaseEnd: (command) => controls.hasConcurrencyLimit(command),
  });
  const lock = new LeaderLock(redis, keys.lock('background'), Math.max(5000, settings.sweepIntervalMs * 5));
  // Its own lease, shorter: a tick waits at most this long for a new leader after one dies.
  const scheduleLeaseMs = Math.max(1000, settings.sweepIntervalMs * 5);
  const wakePrefix = wakeSubject(prefix, 'x').slice(0, -1);
  const wakeSub = nc.subscribe(`${wakePrefix}*`, {
    callback: (_err, msg) => waiters.wake(msg.subject.slice(wakePrefix.length)),
  });
  const withBackground = options.background ?? true;
  const ensureBuilt = rebuildGuard(store, lock, projector, !withBackground);
  const leases = new LeaseCache();
  const handler = new IntentHandler({ store, writer, log, settings, ensureBuilt, leases });
  const files = new ArtifactFiles(options.artifactsDir, {
    maxBytes: settings.artifactMaxBytes,
    maxResultBytes: settings.artifactsMaxBytesPerResult,
  });
  const commands = new TaskIntents({
    store,
    handler,
    settings,
    artifacts: new ResultArtifacts({ files, store }),
  });
  const enqueueDeps: EnqueueDeps = { settings, store, handler, registry, publisher, dependencyTimeoutMs };
  const claimer = new Claimer({
    store,
    writer,
    handler,
    requeueInspectLimit: settings.requeueInspectLimit,
    leases,
  });
  const loopDeps = { lock, store, projector, claimer, writer, handler, settings, logger, files };
  const background = withBackground ? new BackgroundLoop(loopDeps) : undefined;
  try {
    await controls.start();
  } catch (err) {
    controls.stop();
    wakeSub.unsubscribe();
    redis.disconnect();
    await nc.close();
    throw err;
  }
  return {
    controls,
    queueStore,
    settings,
    logger,
    observer,
    nc,
    redis,
    wakeSub,
    publisher,
    log,
    store,
    projector,
    waiters,
    results,
    handler,
    commands,
    claimer,
    admin: new AdminOps({ store, log, commands, settings, registry, files }),
    files,
    enqueueDeps,
    coalescer: new EnqueueCoalescer(enqueueDeps),
    background,
    loopForOnePass: () => background ?? new BackgroundLoop(loopDeps),
    ensureBuilt,
    controlLog,
    registry,
    scheduleLock: withBackground ? new LeaderLock(redis, keys.lock('schedules'), scheduleLeaseMs) : undefined,
    scheduleLeaseCheckMs: Math.floor(scheduleLeaseMs / 3),
  };
}

/**
 * Rebuilds the projection when Redis lost it, once per process at a time: the instance that takes
 * the leader lock rebuilds, the others wait for the built marker.
 */
function rebuildGuard(
  store: ProjectionStore,
  lock: LeaderLock,
  projector: EventProjector,
  /** Give the lock back after a rebuild (no background loop of ours keeps it). */
  releaseLock: boolean,
): () => Promise<void> {
  let rebuilding: Promise<void> | undefined;
  return async () => {
    if (await store.isBuilt()) return;
    rebuilding ??= (async () => {
      const deadline = Date.now() + REBUILD_WAIT_MS;
      while (!(await store.isBuilt())) {
        if (await lock.tryLead()) {
          await projector.rebuildIfMissing();
          if (releaseLock) await lock.release();
          return;
        }
        if (Date.now() > deadline)
          throw new CodeqError('UNAVAILABLE', 'projection is being rebuilt elsewhere; timed out');
        await new Promise((r) => setTimeout(r, 50));
      }
    })().finally(() => {
      rebuilding = undefined;
    });
    return rebuilding;
  };
}

/** The schedules of an engine, on its parts and its task operations. */
export function createSchedules(
  parts: EngineParts,
  tasks: Pick<EngineApi, 'enqueue' | 'getTask' | 'cancel'>,
): Schedules {
  return new Schedules({
    log: parts.controlLog,
    lookupKey: (key) => parts.registry.lookup(key),
    tasks: {
      enqueue: (input) => tasks.enqueue(input),
      getTask: (taskId) => tasks.getTask(taskId),
      cancel: (input) => tasks.cancel(input),
    },
    lock: parts.scheduleLock,
    leaseCheckMs: parts.scheduleLeaseCheckMs,
    idempotencyTtlMs: parts.settings.idempotencyTtlMs,
    logger: parts.logger.child({ component: 'schedules' }),
  });
}
