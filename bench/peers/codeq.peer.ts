/**
 * codeq in-process: the engine directly on NATS and Redis (no HTTP hop). Processing runs either
 * several raw claim loops (each claims a batch and records its results in one call) or the SDK's
 * Worker on the in-process transport.
 */
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/engine/engine.types.js';
import { deleteStream, openManager } from '../../src/events/stream.js';
import { EngineTransport, Worker } from '../../src/sdk/index.js';
import { verifyRun } from './codeq-verify.js';
import {
  inBatches,
  cpuNow,
  cpuSince,
  redisCommands,
  redisUsedMemory,
  sdkLatency,
  sdkWorkerUntilDone,
  sleepMs,
  type Figure,
  type Peer,
  type ProcessFigure,
} from './peer.js';

/** Settings of the codeq peer. */
export interface CodeqPeerOptions {
  /** Engine connection options (stream/key names are made unique per run). */
  engine: Omit<EngineOptions, 'streamName' | 'subjectPrefix' | 'keyPrefix'>;
  /** How backlogs are processed: raw engine claim loops, or the SDK Worker (in-process transport). */
  via?: 'engine' | 'sdk';
  /** Raw claim loops while processing; default 16. */
  loops?: number;
  /** Tasks per claim; default 128. */
  batch?: number;
  /** Reads nats-server's received-message counter (monitoring `/varz` `in_msgs`), for the idle figure. */
  natsMessages?: () => Promise<number>;
  /** Check the invariants over the stream of each processing run; default true. */
  verify?: boolean;
}

/** Enqueues `n` no-op tasks on `commands` (round robin) in calls of 1,000; returns their ids. */
export async function fillBacklog(
  engine: Engine,
  n: number,
  commands: readonly string[] = ['noop'],
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const views = await engine.enqueueMany(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        command: commands[(i + j) % commands.length] as string,
        payload: { i: i + j },
      })),
    );
    for (const v of views) ids.push(v.id);
  }
  return ids;
}

/**
 * Claims and completes until `n` tasks are done: `loops` loops of `batch`, one result call per
 * batch; `onCompleted` hears each batch's completed task ids as its result call returns.
 */
export async function claimLoops(
  engine: Engine,
  n: number,
  loops: number,
  batch: number,
  commandsOf: (loop: number) => string[],
  onCompleted?: (taskIds: string[]) => void,
): Promise<void> {
  let done = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      const workerId = `bench-${loop}`;
      const commands = commandsOf(loop);
      while (done < n) {
        const tasks = await engine.claim({ workerId, commands, count: batch });
        if (tasks.length === 0) {
          await sleepMs(1);
          continue;
        }
        const answers = await engine.submitResults(
          tasks.map((t) => ({ taskId: t.id, workerId, status: 'COMPLETED' as const, result: null })),
        );
        if (onCompleted) {
          const ok = tasks.filter((_, i) => !(answers[i] instanceof Error)).map((t) => t.id);
          done += ok.length;
          onCompleted(ok);
        } else done += answers.filter((a) => !(a instanceof Error)).length;
      }
    }),
  );
}

/** codeq through the engine API (or the SDK Worker on it). */
export class CodeqPeer implements Peer {
  readonly name: string;
  private run = 0;
  readonly redis: Redis;

  constructor(private readonly options: CodeqPeerOptions) {
    this.name = options.via === 'sdk' ? 'codeq SDK' : 'codeq';
    this.redis = new Redis(options.engine.redisUrl);
  }

  /** A fresh engine on its own stream and key prefix. */
  async createEngine(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
    const id = `${process.pid}_${this.run++}`;
    return Engine.create({
      ...this.options.engine,
      streamName: `BENCH_${id}`,
      subjectPrefix: `bench.${id}`,
      keyPrefix: `bench_${id}`,
      ...overrides,
    });
  }

  /** JetStream bytes of the engine's stream. */
  async streamBytes(engine: Engine): Promise<number> {
    const nc = await connect({ servers: this.options.engine.natsServers });
    try {
      const info = await (await openManager(nc)).streams.info(engine.log.stream);
      return info.state.bytes;
    } finally {
      await nc.close();
    }
  }

  /** Flushes the projection, closes the engine and deletes its stream. */
  async dispose(engine: Engine): Promise<void> {
    const stream = engine.log.stream;
    await engine.store.flush();
    await engine.close();
    const nc = await connect({ servers: this.options.engine.natsServers });
    await deleteStream(nc, stream);
    await nc.close();
  }

  async enqueueBatched(n: number, batch: number, inFlight = 1): Promise<ProcessFigure> {
    const engine = await this.createEngine();
    const cpu0 = cpuNow();
    const started = performance.now();
    await inBatches(n, batch, inFlight, (from, count) =>
      engine.enqueueMany(
        Array.from({ length: count }, (_, j) => ({ command: 'noop', payload: { i: from + j } })),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = cpuSince(cpu0);
    await this.dispose(engine);
    return { value: n / seconds, unit: 'tasks/s', cpuUs };
  }

  async enqueueSingle(n: number, inFlight: number): Promise<Figure> {
    const engine = await this.createEngine();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < n) {
          const i = next++;
          await engine.enqueue({ command: 'noop', payload: { i } });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await this.dispose(engine);
    return { value: n / seconds, unit: 'tasks/s' };
  }

  async processBacklog(n: number): Promise<ProcessFigure> {
    const engine = await this.createEngine();
    const memBefore = await redisUsedMemory(this.redis);
    const ids = await fillBacklog(engine, n);
    const memPending = await redisUsedMemory(this.redis);
    const cpu0 = cpuNow();
    const started = performance.now();
    let close: (() => Promise<void>) | undefined;
    if (this.options.via === 'sdk')
      close = await sdkWorkerUntilDone(new EngineTransport({ engine, workerId: 'bench-sdk' }), n, {
        concurrency: 1024,
        claimBatchSize: 128,
        claimLoops: 8,
        completionBatch: { maxSize: 256, maxDelayMs: 2 },
      });
    else await claimLoops(engine, n, this.options.loops ?? 16, this.options.batch ?? 128, () => ['noop']);
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = cpuSince(cpu0);
    await close?.(); // untimed, like BullMQ's worker.close()
    const memCompleted = await redisUsedMemory(this.redis);
    const stream = await this.streamBytes(engine);
    const invariants = this.options.verify === false ? undefined : await verifyRun(engine, ids);
    await this.dispose(engine);
    return {
      value: n / seconds,
      unit: 'tasks/s',
      memory: {
        pending: (memPending - memBefore) / n,
        completed: (memCompleted - memBefore) / n,
        stream: stream / n,
      },
      cpuUs,
      ...(invariants === undefined ? {} : { invariants }),
    };
  }

  /**
   * `n` tasks over `commands` distinct commands; 16 claim loops, each claiming from its share of
   * the commands (every command when there are fewer commands than loops).
   */
  async processDistinct(n: number, commands: number): Promise<Figure> {
    const engine = await this.createEngine();
    const names = Array.from({ length: commands }, (_, k) => `c${k}`);
    await fillBacklog(engine, n, names);
    const loops = this.options.loops ?? 16;
    const share = (loop: number) => (commands < loops ? names : names.filter((_, k) => k % loops === loop));
    const started = performance.now();
    await claimLoops(engine, n, loops, this.options.batch ?? 128, share);
    const seconds = (performance.now() - started) / 1000;
    await this.dispose(engine);
    return { value: n / seconds, unit: 'tasks/s' };
  }

  /**
   * Enqueue → handler start, open loop. The handler side is the SDK Worker on the in-process
   * transport with concurrency 64 (as BullMQ's Worker): claims long-poll in 4 loops of up to 16 and
   * completions are batched beside them, so finishing one task never holds up the start of the next.
   */
  async latency(ratePerSecond: number, seconds: number): Promise<{ p50: number; p95: number; p99: number }> {
    const engine = await this.createEngine();
    const summary = await sdkLatency(engine, new EngineTransport({ engine, workerId: 'lat' }), {
      ratePerSecond,
      seconds,
    });
    await this.dispose(engine);
    return summary;
  }

  /** An idle SDK Worker (in-process transport, long-poll 30 s) on an engine without background loops. */
  async idleCommandsPerSecond(seconds: number): Promise<Figure> {
    const engine = await this.createEngine({ background: false });
    const transport = new EngineTransport({ engine, workerId: 'idle' });
    const worker = new Worker({ transport, commands: ['noop'], handler: () => undefined, waitSeconds: 30 });
    worker.on('error', () => undefined);
    await sleepMs(1000);
    const redisBefore = await redisCommands(this.redis);
    const natsBefore = (await this.options.natsMessages?.()) ?? 0;
    await sleepMs(seconds * 1000);
    const redisAfter = await redisCommands(this.redis);
    const natsAfter = (await this.options.natsMessages?.()) ?? 0;
    await worker.close();
    await this.dispose(engine);
    const commands = Math.max(0, redisAfter - redisBefore - 1) + (natsAfter - natsBefore);
    return { value: commands / seconds, unit: 'commands/s' };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
