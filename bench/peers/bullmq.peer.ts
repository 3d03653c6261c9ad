/**
 * BullMQ 6.7, the peer codeq is measured against: one Worker with concurrency 64 and a no-op
 * processor, `addBulk` in chunks for batched enqueue, `add` with N in flight for single enqueue.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  inBatches,
  LATENCY_WARMUP_SECONDS,
  cpuNow,
  cpuSince,
  latencySummary,
  openLoop,
  redisCommands,
  redisUsedMemory,
  sleepMs,
  waitFor,
  type Figure,
  type Peer,
  type ProcessFigure,
} from './peer.js';

export { redisCommands } from './peer.js';

type Connection = { host: string; port: number; maxRetriesPerRequest: null };

/** BullMQ on a Redis URL. */
export class BullmqPeer implements Peer {
  readonly name = 'BullMQ';
  private run = 0;
  private readonly connection: Connection;
  private readonly redis: Redis;

  constructor(
    redisUrl: string,
    /** Worker concurrency (64 as in shared/perf-notes.md). */
    private readonly concurrency = 64,
  ) {
    const url = new URL(redisUrl);
    this.connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
    this.redis = new Redis({ ...this.connection });
  }

  private queue(suffix = ''): Queue {
    return new Queue(`bench-${process.pid}-${this.run++}${suffix}`, { connection: this.connection });
  }

  private static async fill(queue: Queue, n: number, offset = 0): Promise<void> {
    for (let i = 0; i < n; i += 1000) {
      const size = Math.min(1000, n - i);
      await queue.addBulk(
        Array.from({ length: size }, (_, j) => ({ name: 'noop', data: { i: offset + i + j } })),
      );
    }
  }

  private static async drop(queue: Queue): Promise<void> {
    await queue.obliterate({ force: true });
    await queue.close();
  }

  async enqueueBatched(n: number, batch: number, inFlight = 1): Promise<ProcessFigure> {
    const queue = this.queue();
    const cpu0 = cpuNow();
    const started = performance.now();
    await inBatches(n, batch, inFlight, (from, count) =>
      queue.addBulk(Array.from({ length: count }, (_, j) => ({ name: 'noop', data: { i: from + j } }))),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = cpuSince(cpu0);
    await BullmqPeer.drop(queue);
    return { value: n / seconds, unit: 'tasks/s', cpuUs };
  }

  async enqueueSingle(n: number, inFlight: number): Promise<Figure> {
    const queue = this.queue();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < n) {
          const i = next++;
          await queue.add('noop', { i });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await BullmqPeer.drop(queue);
    return { value: n / seconds, unit: 'tasks/s' };
  }

  async processBacklog(n: number): Promise<ProcessFigure> {
    const queue = this.queue();
    const memBefore = await redisUsedMemory(this.redis);
    await BullmqPeer.fill(queue, n);
    const memPending = await redisUsedMemory(this.redis);
    let done = 0;
    const cpu0 = cpuNow();
    const started = performance.now();
    const worker = new Worker(queue.name, async () => undefined, {
      connection: this.connection,
      concurrency: this.concurrency,
    });
    worker.on('completed', () => void done++);
    await waitFor(() => done >= n, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = cpuSince(cpu0);
    await worker.close();
    const memCompleted = await redisUsedMemory(this.redis);
    await BullmqPeer.drop(queue);
    return {
      value: n / seconds,
      unit: 'tasks/s',
      memory: { pending: (memPending - memBefore) / n, completed: (memCompleted - memBefore) / n },
      cpuUs,
    };
  }

  /**
   * One queue per command (BullMQ's analogue of a command), one Worker per queue with concurrency
   * `max(1, round(64 / commands))`. Thousands of Workers (two connections each) are impractical.
   */
  async processDistinct(n: number, commands: number): Promise<Figure> {
    const queues = Array.from({ length: commands }, (_, k) => this.queue(`-k${k}`));
    const per = Math.ceil(n / commands);
    for (let k = 0; k < commands; k++) await BullmqPeer.fill(queues[k]!, Math.min(per, n - k * per), k * per);
    const total = Math.min(n, per * commands);
    let done = 0;
    const concurrency = Math.max(1, Math.round(this.concurrency / commands));
    const started = performance.now();
    const workers = queues.map((q) => {
      const w = new Worker(q.name, async () => undefined, { connection: this.connection, concurrency });
      w.on('completed', () => void done++);
      return w;
    });
    await waitFor(() => done >= total, 600_000);
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(workers.map((w) => w.close()));
    for (const q of queues) await BullmqPeer.drop(q);
    return { value: total / seconds, unit: 'tasks/s' };
  }

  async latency(ratePerSecond: number, seconds: number): Promise<{ p50: number; p95: number; p99: number }> {
    const queue = this.queue();
    const latencies: number[] = [];
    const warmup = Math.round(ratePerSecond * LATENCY_WARMUP_SECONDS);
    const worker = new Worker(
      queue.name,
      async (job) => {
        const { t, i } = job.data as { t: number; i: number };
        if (i >= warmup) latencies.push(performance.timeOrigin + performance.now() - t);
      },
      { connection: this.connection, concurrency: this.concurrency },
    );
    await worker.waitUntilReady();
    await sleepMs(200);
    const total = await openLoop(ratePerSecond, LATENCY_WARMUP_SECONDS + seconds, (i) => {
      void queue.add('noop', { t: performance.timeOrigin + performance.now(), i });
    });
    await waitFor(() => latencies.length >= total - warmup, 30_000);
    await worker.close();
    await BullmqPeer.drop(queue);
    return latencySummary(latencies);
  }

  async idleCommandsPerSecond(seconds: number): Promise<Figure> {
    const queue = this.queue();
    const worker = new Worker(queue.name, async () => undefined, {
      connection: this.connection,
      concurrency: 1,
    });
    await worker.waitUntilReady();
    await sleepMs(1000);
    const before = await redisCommands(this.redis);
    await sleepMs(seconds * 1000);
    const after = await redisCommands(this.redis);
    await worker.close();
    await BullmqPeer.drop(queue);
    // One INFO call of ours falls inside the window.
    return { value: Math.max(0, after - before - 1) / seconds, unit: 'commands/s' };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
