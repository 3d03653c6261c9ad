/**
 * A real workload for fault tests: a producer that enqueues tasks in paced batches (retrying a
 * failed batch with the same idempotency keys, as a careful producer would) and worker loops that
 * claim, work and complete, tolerating the errors a production worker must expect while a
 * dependency is down (it retries later). Used in-process by the tests and by `engine-child.ts`.
 */
import { CodeqError } from '../../src/errors.js';
import type { EngineApi, EnqueueInput } from '../../src/engine/engine.types.js';
import type { TaskView } from '../../src/contract/views.js';

/** Error codes a worker or producer meets during a fault and answers by trying again later. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'UNAVAILABLE',
  'TIMEOUT',
  'NOT_FOUND',
  'WRONG_STATE',
  'LEASE_EXPIRED',
  'VERSION_CONFLICT',
  'NOT_OWNER',
]);

/** Errors seen, by `code` (CodeqError) or `raw:<name>: <message>` for anything else. */
export class ErrorTally {
  readonly counts = new Map<string, number>();

  /** Records one error; returns its key. */
  add(err: unknown): string {
    const key =
      err instanceof CodeqError
        ? err.code
        : `raw:${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`.slice(0, 200);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return key;
  }

  /** Errors that are neither a CodeqError nor of a transient code. */
  unexpected(): Record<string, number> {
    return Object.fromEntries([...this.counts].filter(([k]) => !TRANSIENT_CODES.has(k)));
  }

  /** Everything, as a plain object (for logs). */
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of {@link runProducer}. */
export interface ProducerOptions {
  engine: EngineApi;
  command: string;
  /** Tasks to enqueue. */
  total: number;
  /** Tasks per `enqueueMany` call. */
  batchSize: number;
  /** Pause between batches, ms (paces the run so faults land mid-run). */
  pauseMs: number;
  /** Idempotency keys are `${keyPrefix}-${i}`. */
  keyPrefix: string;
  /** Deliveries allowed per task (high, so a fault never dead-letters a task). */
  maxAttempts?: number;
  /** Gives up retrying a batch after this time (epoch ms). */
  deadline: number;
  errors: ErrorTally;
}

/** What a producer achieved. */
export interface ProducerProgress {
  /** Idempotency key → task id, for every enqueue that resolved. */
  ids: Map<string, string>;
  /** Batches that had to be retried (same keys). */
  retries: number;
  /** True once every batch resolved. */
  done: boolean;
}

/**
 * Enqueues `total` tasks in batches; a batch that fails is retried with the same idempotency keys
 * until it resolves or the deadline passes. `progress` is updated as batches resolve.
 */
export async function runProducer(options: ProducerOptions, progress: ProducerProgress): Promise<void> {
  for (let start = 0; start < options.total; start += options.batchSize) {
    const inputs: (EnqueueInput & { idempotencyKey: string })[] = [];
    for (let i = start; i < Math.min(options.total, start + options.batchSize); i++) {
      inputs.push({
        command: options.command,
        payload: { i },
        idempotencyKey: `${options.keyPrefix}-${i}`,
        maxAttempts: options.maxAttempts ?? 100,
      });
    }
    for (;;) {
      try {
        const views = await options.engine.enqueueMany(inputs);
        views.forEach((v, j) => progress.ids.set(inputs[j]!.idempotencyKey, v.id));
        break;
      } catch (err) {
        options.errors.add(err);
        if (Date.now() > options.deadline) throw err;
        progress.retries++;
        await sleep(200);
      }
    }
    if (options.pauseMs > 0) await sleep(options.pauseMs);
  }
  progress.done = true;
}

/** Hooks of a worker loop (the child process prints them). */
export interface WorkerHooks {
  /** Before each claim call. */
  onClaimStart?(workerId: string): void;
  /** A claim returned tasks; `held` are the ids {@link WorkerHooks.hold} picked. */
  onClaimed?(workerId: string, tasks: readonly TaskView[], held: readonly string[]): void;
  /** A complete call resolved. */
  onCompleted?(workerId: string, taskId: string): void;
  /** True to hold this task (heartbeating, never completing) instead of completing it. */
  hold?(task: TaskView): boolean;
}

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  engine: EngineApi;
  workerId: string;
  command: string;
  leaseSeconds: number;
  /** Simulated work per task: a random time in [0, maxWorkMs) ms. */
  maxWorkMs: number;
  /** Set `stop` to end the loop (after the current claim). */
  control: { stop: boolean };
  errors: ErrorTally;
  stats: WorkerStats;
  hooks?: WorkerHooks;
}

/** Counters shared by worker loops. */
export interface WorkerStats {
  claimed: number;
  completed: number;
  /** Task ids whose `complete` resolved (a task may appear once only; a repeat is a bug). */
  completedIds: Set<string>;
  /** Completes that resolved for an id already in `completedIds`. */
  doubleCompletes: number;
}

/** Fresh counters. */
export function newWorkerStats(): WorkerStats {
  return { claimed: 0, completed: 0, completedIds: new Set(), doubleCompletes: 0 };
}

/** Claims (count 1..16, long-poll 1 s), works and completes until told to stop. */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const { engine, workerId, control, errors, stats, hooks } = options;
  const held: Promise<void>[] = [];
  while (!control.stop) {
    let tasks: TaskView[];
    try {
      hooks?.onClaimStart?.(workerId);
      tasks = await engine.claim({
        workerId,
        commands: [options.command],
        count: 1 + Math.floor(Math.random() * 16),
        waitSeconds: 1,
        leaseSeconds: options.leaseSeconds,
      });
    } catch (err) {
      errors.add(err);
      await sleep(100 + Math.random() * 200);
      continue;
    }
    stats.claimed += tasks.length;
    const holds = new Set(tasks.filter((t) => hooks?.hold?.(t) === true).map((t) => t.id));
    if (tasks.length > 0) hooks?.onClaimed?.(workerId, tasks, [...holds]);
    for (const task of tasks) {
      if (holds.has(task.id)) {
        held.push(holdTask(options, task.id));
        continue;
      }
      if (options.maxWorkMs > 0) await sleep(Math.random() * options.maxWorkMs);
      try {
        await engine.complete({ taskId: task.id, workerId, result: { by: workerId } });
        stats.completed++;
        if (stats.completedIds.has(task.id)) stats.doubleCompletes++;
        stats.completedIds.add(task.id);
        hooks?.onCompleted?.(workerId, task.id);
      } catch (err) {
        errors.add(err);
      }
    }
  }
  await Promise.all(held);
}

/** Keeps a task's lease alive (heartbeat every second) until the loop stops or the lease is lost. */
async function holdTask(options: WorkerOptions, taskId: string): Promise<void> {
  const extendSeconds = options.leaseSeconds;
  while (!options.control.stop) {
    await sleep(1000);
    try {
      await options.engine.heartbeat({ taskId, workerId: options.workerId, extendSeconds });
    } catch (err) {
      const key = options.errors.add(err);
      if (key === 'LEASE_EXPIRED' || key === 'NOT_OWNER' || key === 'WRONG_STATE') return;
    }
  }
}

/** A running workload: one producer and worker loops. */
export interface Workload {
  progress: ProducerProgress;
  producer: Promise<void>;
  stats: WorkerStats;
  errors: ErrorTally;
  /** Set `stop` to end the worker loops. */
  control: { stop: boolean };
  workers: Promise<void>[];
}

/** Options of {@link startWorkload}. */
export interface WorkloadOptions {
  /** The engine the producer enqueues on. */
  producer: EngineApi;
  /** One worker loop per entry (repeat an engine for several loops on it). */
  workers: EngineApi[];
  command: string;
  /** Tasks to enqueue, in batches of `batchSize` every `pauseMs` ms. */
  total: number;
  batchSize: number;
  pauseMs: number;
  /** Lease of each claim, s. */
  leaseSeconds: number;
  /** The producer gives up retrying a batch after this long, ms. */
  producerDeadlineMs: number;
}

/** Starts a producer (idempotency keys unique to this run) and the worker loops. */
export function startWorkload(options: WorkloadOptions): Workload {
  const errors = new ErrorTally();
  const progress: ProducerProgress = { ids: new Map(), retries: 0, done: false };
  const producer = runProducer(
    {
      engine: options.producer,
      command: options.command,
      total: options.total,
      batchSize: options.batchSize,
      pauseMs: options.pauseMs,
      keyPrefix: `k${Date.now().toString(36)}`,
      deadline: Date.now() + options.producerDeadlineMs,
      errors,
    },
    progress,
  );
  const control = { stop: false };
  const stats = newWorkerStats();
  const workers = options.workers.map((engine, i) =>
    runWorker({
      engine,
      workerId: `w-${i + 1}`,
      command: options.command,
      leaseSeconds: options.leaseSeconds,
      maxWorkMs: 5,
      control,
      errors,
      stats,
    }),
  );
  return { progress, producer, stats, errors, control, workers };
}
