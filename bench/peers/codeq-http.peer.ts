/**
 * codeq over HTTP: the API server runs in this process (port 0, static tokens, silent logs), the
 * client goes through the batch endpoints (`POST /tasks/batch`, claim with `count`,
 * `POST /tasks/results`), either with raw loops of codeq's HTTP client or with the SDK Worker on its
 * HTTP transport (the same client underneath).
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { buildServer, closeServer, type CodeqServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createMetrics, engineObserver } from '../../src/metrics/metrics.js';
import { CodeqHttpClient } from '../../src/client/http-client.js';
import { HttpTransport } from '../../src/sdk/index.js';
import type { CodeqPeer } from './codeq.peer.js';
import { fillBacklog } from './codeq.peer.js';
import { verifyRun } from './codeq-verify.js';
import {
  cpuNow,
  cpuSince,
  sdkLatency,
  sdkWorkerUntilDone,
  sleepMs,
  type Figure,
  type ProcessFigure,
} from './peer.js';

const TOKENS = [
  { token: 'bench-producer', role: 'producer', subject: 'bench-producer' },
  { token: 'bench-worker', role: 'worker', subject: 'bench-worker' },
];

/** Settings of {@link CodeqHttpPeer}. */
export interface CodeqHttpPeerOptions {
  /** `raw`: client loops on the batch endpoints; `sdk`: the SDK Worker with the HTTP transport. */
  via: 'raw' | 'sdk';
  /** Raw loops (default 16) and tasks per claim (default 256, the API's maximum). */
  loops?: number;
  batch?: number;
}

/** codeq's HTTP API in-process, driven over loopback. */
export class CodeqHttpPeer {
  readonly name: string;

  constructor(
    private readonly codeq: CodeqPeer,
    private readonly options: CodeqHttpPeerOptions,
  ) {
    this.name = options.via === 'sdk' ? 'codeq SDK over HTTP' : 'codeq HTTP (raw batch calls)';
  }

  private async start(): Promise<{ engine: Engine; app: CodeqServer; base: string }> {
    const config = loadConfig({ env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent' } });
    const metrics = createMetrics();
    const engine = await this.codeq.createEngine({
      settings: toEngineSettings(config),
      observer: engineObserver(metrics),
    });
    const app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return { engine, app, base };
  }

  private async stop(engine: Engine, app: CodeqServer): Promise<void> {
    await closeServer(app);
    await this.codeq.dispose(engine);
  }

  /** `POST /tasks/batch` with `batch` tasks per call; tasks/s. */
  async enqueueBatched(n: number, batch: number): Promise<Figure> {
    const { engine, app, base } = await this.start();
    const client = new CodeqHttpClient({ baseUrl: base, tokens: { default: 'bench-producer' } });
    const started = performance.now();
    for (let i = 0; i < n; i += batch) {
      const tasks = Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({
        command: 'noop',
        payload: { i: i + j },
      }));
      const created = await client.createTasks(tasks);
      if (created.length !== tasks.length) throw new Error(`batch create returned ${created.length} tasks`);
    }
    const seconds = (performance.now() - started) / 1000;
    await this.stop(engine, app);
    return { value: n / seconds, unit: 'tasks/s' };
  }

  private async rawLoops(base: string, n: number): Promise<void> {
    let done = 0;
    const batch = this.options.batch ?? 256;
    const client = new CodeqHttpClient({ baseUrl: base, tokens: { default: 'bench-worker' } });
    await Promise.all(
      Array.from({ length: this.options.loops ?? 16 }, async () => {
        while (done < n) {
          const tasks = await client.claim({ commands: ['noop'], count: batch });
          if (tasks.length === 0) {
            await sleepMs(1);
            continue;
          }
          const answers = await client.submitResults(
            tasks.map((t) => ({ taskId: t.id, status: 'COMPLETED' as const, result: {} })),
          );
          done += answers.filter((a) => (a as { ok?: boolean }).ok).length;
        }
      }),
    );
  }

  /** Enqueues `n` tasks in-process (untimed), then processes them over HTTP; tasks/s. */
  async processBacklog(n: number): Promise<ProcessFigure> {
    const { engine, app, base } = await this.start();
    const ids = await fillBacklog(engine, n);
    const cpu0 = cpuNow();
    const started = performance.now();
    let close: (() => Promise<void>) | undefined;
    if (this.options.via === 'sdk')
      // The pipeline depth of the raw loops (16 claims of 256 in flight): a worker holds a task's
      // slot until its result is recorded, so over HTTP its concurrency must cover the round trips
      // (with 1,024 it idled ~28 % of the time at ~0.85x the raw loops' throughput).
      close = await sdkWorkerUntilDone(new HttpTransport({ baseUrl: base, token: 'bench-worker' }), n, {
        concurrency: 4096,
        claimLoops: 16,
        claimBatchSize: 256,
        completionBatch: { maxSize: 256, maxDelayMs: 2 },
      });
    else await this.rawLoops(base, n);
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = cpuSince(cpu0);
    // Like the BullMQ peer, the clock stops when the last task completed, before the worker closes
    // (an SDK worker's close waits for its long-polls in flight).
    await close?.();
    const invariants = await verifyRun(engine, ids);
    await this.stop(engine, app);
    return { value: n / seconds, unit: 'tasks/s', invariants, cpuUs };
  }

  /** Enqueue (in-process) → handler start of an SDK Worker over HTTP, open loop. */
  async latency(ratePerSecond: number, seconds: number): Promise<{ p50: number; p95: number; p99: number }> {
    const { engine, app, base } = await this.start();
    const transport = new HttpTransport({ baseUrl: base, token: 'bench-worker' });
    const summary = await sdkLatency(engine, transport, { ratePerSecond, seconds });
    await transport.close();
    await this.stop(engine, app);
    return summary;
  }
}
