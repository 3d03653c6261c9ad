/**
 * What every benchmarked queue implements. Each call runs one measured figure and returns it;
 * setup and teardown (connections, queues) are not timed.
 */
import type { Redis } from 'ioredis';
import type { EngineApi } from '../../src/engine/engine.types.js';
import { Worker, type Transport, type WorkerOptions } from '../../src/sdk/index.js';

/** One measured figure. */
export interface Figure {
  /** Tasks (or events) per second, or milliseconds for latencies, or a count. */
  value: number;
  /** Unit shown in the table. */
  unit: string;
}

/** Redis memory (INFO used_memory deltas) per task of a processing run, bytes. */
export interface MemoryPerTask {
  /** After the backlog was enqueued, per waiting task. */
  pending: number;
  /** After every task completed (results kept, as both peers do by default), per task. */
  completed: number;
  /** codeq only: JetStream stream bytes (`state.bytes`) per task after processing. */
  stream?: number;
}

/** A processing run: throughput, and what it left behind. */
export interface ProcessFigure extends Figure {
  /** Redis memory per task (and stream bytes for codeq). */
  memory?: MemoryPerTask;
  /** codeq only: invariant check of the run's whole stream (`ok` or the violations). */
  invariants?: string;
  /** CPU µs spent in the timed part only, per process, as {@link cpuNow} lists them. */
  cpuUs?: number[];
}

let cpuProbe: () => number[] = () => [];

/** Sets what {@link cpuNow} reads (the runner passes node, nats-server and redis-server CPU). */
export function setCpuProbe(probe: () => number[]): void {
  cpuProbe = probe;
}

/** CPU µs used so far by each watched process (empty when no probe is set). */
export function cpuNow(): number[] {
  return cpuProbe();
}

/** CPU µs per watched process since `since` (a {@link cpuNow} reading). */
export function cpuSince(since: readonly number[]): number[] {
  return cpuNow().map((v, i) => v - (since[i] ?? 0));
}

/** A queue under test. */
export interface Peer {
  /** Name in the table. */
  readonly name: string;
  /** Enqueues `n` tasks in batches of `batch`; tasks/s (and the CPU it took). */
  enqueueBatched(n: number, batch: number, inFlight?: number): Promise<Figure & { cpuUs?: number[] }>;
  /** Enqueues `n` tasks one call each, `inFlight` at a time; tasks/s. */
  enqueueSingle(n: number, inFlight: number): Promise<Figure>;
  /** Enqueues a backlog of `n` no-op tasks (untimed), then processes it; tasks/s. */
  processBacklog(n: number): Promise<ProcessFigure>;
  /** Processes `n` no-op tasks spread evenly over `commands` distinct commands (queues); tasks/s. */
  processDistinct(n: number, commands: number): Promise<Figure>;
  /**
   * Open-loop arrivals at `ratePerSecond` for {@link LATENCY_WARMUP_SECONDS} (not counted) plus
   * `seconds`; enqueue → handler start latencies in ms.
   */
  latency(ratePerSecond: number, seconds: number): Promise<{ p50: number; p95: number; p99: number }>;
  /** Starts an idle worker and counts the commands it sends per second over `seconds`. */
  idleCommandsPerSecond(seconds: number): Promise<Figure>;
  /** Removes everything this peer created. */
  close(): Promise<void>;
}

/** Percentile of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** p50 / p95 / p99 of unsorted values (sorts in place). */
export function latencySummary(values: number[]): { p50: number; p95: number; p99: number } {
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99) };
}

/** Arrivals of the first second of a latency run are not counted (JIT and connection warm-up). */
export const LATENCY_WARMUP_SECONDS = 1;

/** Open-loop schedule: calls `fire(i)` at `ratePerSecond` for `seconds`, not waiting for completions. */
export async function openLoop(
  ratePerSecond: number,
  seconds: number,
  fire: (i: number) => void,
): Promise<number> {
  const total = Math.round(ratePerSecond * seconds);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.floor(((performance.now() - started) / 1000) * ratePerSecond);
    while (sent < Math.min(due, total)) fire(sent++);
    await new Promise((r) => setTimeout(r, 1));
  }
  return total;
}

/**
 * Runs an SDK Worker with a no-op handler until `n` tasks completed and returns its `close`, for the
 * caller to run after stopping its clock (as the BullMQ peer closes its Worker untimed).
 */
export async function sdkWorkerUntilDone(
  transport: Transport,
  n: number,
  tuning: Pick<WorkerOptions, 'concurrency' | 'claimBatchSize' | 'claimLoops' | 'completionBatch'>,
): Promise<() => Promise<void>> {
  let done = 0;
  const worker = new Worker({
    transport,
    commands: ['noop'],
    handler: () => undefined,
    waitSeconds: 1,
    ...tuning,
  });
  worker.on('completed', () => void done++);
  worker.on('error', () => undefined);
  await waitFor(() => done >= n, 600_000);
  return () => worker.close();
}

/** Counts commands the Redis server processed so far (INFO stats `total_commands_processed`). */
export async function redisCommands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Redis `used_memory` (INFO memory), bytes. */
export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Resolves after `ms` milliseconds. */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `done()` is true or `timeoutMs` passed (polling every 20 ms). */
export async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await sleepMs(20);
}

/** Sends `n` items in calls of `batch`, `inFlight` calls at a time (1 = one after another). */
export async function inBatches(
  n: number,
  batch: number,
  inFlight: number,
  send: (from: number, count: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, inFlight) }, async () => {
      while (next < n) {
        const from = next;
        next += batch;
        await send(from, Math.min(batch, n - from));
      }
    }),
  );
}

/**
 * Enqueue → handler start, open loop, with enqueues in-process on `engine` and the SDK Worker on
 * `transport` (concurrency 64, as BullMQ's Worker): on a claiming transport, claims long-poll in 4
 * loops of up to 16; on a pushing one (NATS) the credits are the 64 slots. Completions are batched
 * beside them, so finishing one task never holds up the start of the next. Closes the worker, not
 * the transport or the engine.
 */
export async function sdkLatency(
  engine: Pick<EngineApi, 'enqueue'>,
  transport: Transport,
  run: { ratePerSecond: number; seconds: number },
): Promise<{ p50: number; p95: number; p99: number }> {
  const latencies: number[] = [];
  const warmup = Math.round(run.ratePerSecond * LATENCY_WARMUP_SECONDS);
  const worker = new Worker({
    transport,
    commands: ['noop'],
    concurrency: 64,
    claimBatchSize: 16,
    claimLoops: 4,
    waitSeconds: 30,
    handler: (job) => {
      const now = performance.timeOrigin + performance.now();
      const { t: sent, i } = job.payload as { t: number; i: number };
      if (i >= warmup) latencies.push(now - sent);
    },
  });
  worker.on('error', () => undefined);
  await sleepMs(200);
  const total = await openLoop(run.ratePerSecond, LATENCY_WARMUP_SECONDS + run.seconds, (i) => {
    void engine.enqueue({ command: 'noop', payload: { t: performance.timeOrigin + performance.now(), i } });
  });
  await waitFor(() => latencies.length >= total - warmup, 30_000);
  await worker.close();
  return latencySummary(latencies);
}
