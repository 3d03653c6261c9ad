/**
 * Shared setup of the SDK integration tests: one engine on an isolated deployment and, for the
 * `http` kind, a real codeq server in-process on port 0 in front of it. The same tests then run
 * against both transports.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { EngineTransport } from '../../src/sdk/engine.transport.js';
import { HttpTransport } from '../../src/sdk/http.transport.js';
import type { QueueAdminTransport } from '../../src/sdk/queue-admin.js';
import type { ScheduleAdminTransport } from '../../src/sdk/schedule-admin.js';
import type { Transport } from '../../src/sdk/transport.js';
import { createTestEngine } from '../support/engine.js';

/** Which transport a test runs on. */
export type TransportKind = 'engine' | 'http';

/** Both kinds, for `describe.each`. */
export const KINDS: TransportKind[] = ['engine', 'http'];

const TOKENS = [
  { token: 'sdk-producer-token', role: 'producer', subject: 'sdk-producer' },
  { token: 'sdk-worker-token-1', role: 'worker', subject: 'sdk-worker-1', eventTypes: ['*'] },
  { token: 'sdk-worker-token-2', role: 'worker', subject: 'sdk-worker-2', eventTypes: ['*'] },
  { token: 'sdk-admin-token', role: 'admin', subject: 'sdk-admin' },
];

/** A running deployment with transports on it. */
export interface SdkHarness {
  kind: TransportKind;
  /** The engine (tests use it to check state and to force server-side lease expiry). */
  engine: Engine;
  /** A transport acting as worker `n` (1 or 2) and producer. `fetch` wraps HTTP requests. */
  transport(options?: {
    worker?: 1 | 2;
    fetch?: typeof fetch;
  }): Transport & QueueAdminTransport & ScheduleAdminTransport;
  /** Closes the server, the engine and drops the deployment. */
  close(): Promise<void>;
}

/** Engine settings overrides, as config environment variables (`BACKOFF_POLICY`...). */
export async function createHarness(
  kind: TransportKind,
  env: Record<string, string> = {},
): Promise<SdkHarness> {
  const config = loadConfig({
    env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent', ...env },
    argv: [],
  });
  const { engine, close } = await createTestEngine({ settings: toEngineSettings(config) });
  let app: CodeqServer | undefined;
  let baseUrl = '';
  if (kind === 'http') {
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }
  return {
    kind,
    engine,
    transport(options = {}) {
      const worker = options.worker ?? 1;
      if (kind === 'engine') return new EngineTransport({ engine, workerId: `sdk-worker-${worker}` });
      return new HttpTransport({
        baseUrl,
        tokens: {
          producer: 'sdk-producer-token',
          worker: `sdk-worker-token-${worker}`,
          admin: 'sdk-admin-token',
        },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
    },
    async close() {
      if (app) await closeServer(app);
      await close();
    },
  };
}

/** Resolves when `check` returns true, polling every `everyMs`; throws after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
