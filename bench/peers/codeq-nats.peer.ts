/**
 * codeq over its NATS service: the interface (`serveNatsInterface`, its own connection, static
 * tokens, silent logs) runs in this process on the engine, and the SDK Worker on `NatsTransport`
 * gets its tasks pushed (`workers.credit`) and records results with `tasks.result` batches. The
 * same process, machine and servers as the in-process and HTTP figures.
 */
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { createAuthenticator } from '../../src/api/auth/authenticator.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { serveNatsInterface, type NatsInterface } from '../../src/nats/nats-interface.js';
import { NatsTransport } from '../../src/sdk/nats.transport.js';
import type { CodeqPeer } from './codeq.peer.js';
import { fillBacklog } from './codeq.peer.js';
import { verifyRun } from './codeq-verify.js';
import { cpuNow, cpuSince, sdkLatency, sdkWorkerUntilDone, type ProcessFigure } from './peer.js';

const TOKENS = [
  { token: 'bench-producer', role: 'producer', subject: 'bench-producer' },
  { token: 'bench-worker', role: 'worker', subject: 'bench-worker' },
];

/** codeq's NATS service in-process, driven over the NATS server. */
export class CodeqNatsPeer {
  readonly name = 'codeq SDK over NATS';
  private run = 0;

  constructor(
    private readonly codeq: CodeqPeer,
    private readonly natsUrl: string,
  ) {}

  private async start(): Promise<{
    engine: Engine;
    api: NatsInterface;
    transport: NatsTransport;
    close: () => Promise<void>;
  }> {
    const prefix = `benchapi${process.pid}x${this.run++}`;
    const config = loadConfig({
      env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent', NATS_API_PREFIX: prefix },
    });
    const engine = await this.codeq.createEngine({ settings: toEngineSettings(config) });
    const api = await serveNatsInterface([this.natsUrl], {
      engine,
      authenticator: createAuthenticator(config),
      config,
      logger: pino({ level: 'silent' }),
    });
    const nc = await connect({ servers: this.natsUrl });
    const transport = new NatsTransport({ nc, prefix, token: 'bench-worker' });
    return {
      engine,
      api,
      transport,
      close: async () => {
        await nc.close();
        await api.stop();
        await this.codeq.dispose(engine);
      },
    };
  }

  /** Enqueues `n` tasks in-process (untimed), then an SDK Worker over NATS processes them; tasks/s. */
  async processBacklog(n: number): Promise<ProcessFigure> {
    const { engine, transport, close } = await this.start();
    const ids = await fillBacklog(engine, n);
    const cpu0 = cpuNow();
    const started = performance.now();
    // The HTTP worker's slots: a slot is held until its result is recorded, so the credits must
    // cover the round trips of delivery and result.
    const closeWorker = await sdkWorkerUntilDone(transport, n, {
      concurrency: 4096,
      completionBatch: { maxSize: 256, maxDelayMs: 2 },
    });
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = cpuSince(cpu0);
    await closeWorker();
    const invariants = await verifyRun(engine, ids);
    await close();
    return { value: n / seconds, unit: 'tasks/s', invariants, cpuUs };
  }

  /** Enqueue (in-process) → handler start of an SDK Worker over NATS, open loop. */
  async latency(ratePerSecond: number, seconds: number): Promise<{ p50: number; p95: number; p99: number }> {
    const { engine, transport, close } = await this.start();
    const summary = await sdkLatency(engine, transport, { ratePerSecond, seconds });
    await close();
    return summary;
  }
}
