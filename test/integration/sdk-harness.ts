/**
 * Shared setup of the SDK integration tests: one engine on an isolated deployment and, for the
 * `http` kind, a real codeq server in-process on port 0 in front of it; for the `nats` kind, codeq's
 * NATS service on it (a prefix of its own). The same tests then run against every transport.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { connect } from '@nats-io/transport-node';
import { createAuthenticator } from '../../src/api/auth/authenticator.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { EngineTransport } from '../../src/sdk/engine.transport.js';
import { HttpTransport } from '../../src/sdk/http.transport.js';
import { serveNatsInterface, type NatsInterface } from '../../src/nats/nats-interface.js';
import { NatsTransport } from '../../src/sdk/nats.transport.js';
import type { QueueAdminTransport } from '../../src/sdk/queue-admin.js';
import type { ScheduleAdminTransport } from '../../src/sdk/schedule-admin.js';
import type { Transport } from '../../src/sdk/transport.js';
import { createTestEngine } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';

/** Which transport a test runs on. */
export type TransportKind = 'engine' | 'http' | 'nats';

/** Every kind, for `describe.each`. */
export const KINDS: TransportKind[] = ['engine', 'http', 'nats'];

/** The kinds with admin operations (queue controls, schedules, bulk cancel): NATS has none. */
export const ADMIN_KINDS: TransportKind[] = ['engine', 'http'];

const TOKENS = [
  { token: 'sdk-producer-token', role: 'producer', subject: 'sdk-producer' },
  { token: 'sdk-worker-token-1', role: 'worker', subject: 'sdk-worker-1', eventTypes: ['*'] },
  { token: 'sdk-worker-token-2', role: 'worker', subject: 'sdk-worker-2', eventTypes: ['*'] },
  { token: 'sdk-admin-token', role: 'admin', subject: 'sdk-admin' },
];

/** A transport with the admin operations of the engine and HTTP transports. */
type AdminTransport = Transport & QueueAdminTransport & ScheduleAdminTransport;

/** A running deployment with transports on it. */
export interface SdkHarness {
  kind: TransportKind;
  /** The engine (tests use it to check state and to force server-side lease expiry). */
  engine: Engine;
  /** A transport acting as worker `n` (1 or 2) and producer. `fetch` wraps HTTP requests. */
  transport(options?: { worker?: 1 | 2; fetch?: typeof fetch }): AdminTransport;
  /** Closes the server, the engine and drops the deployment. */
  close(): Promise<void>;
}

/** Engine settings overrides, as config environment variables (`BACKOFF_POLICY`...). */
export async function createHarness(
  kind: TransportKind,
  env: Record<string, string> = {},
): Promise<SdkHarness> {
  const prefix = uniqueName('sdk').toLowerCase();
  const config = loadConfig({
    env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent', NATS_API_PREFIX: prefix, ...env },
    argv: [],
  });
  const { engine, close, deployment } = await createTestEngine({ settings: toEngineSettings(config) });
  let app: CodeqServer | undefined;
  let baseUrl = '';
  if (kind === 'http') {
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }
  let api: NatsInterface | undefined;
  const nc = kind === 'nats' ? await connect({ servers: deployment.natsUrl }) : undefined;
  if (kind === 'nats') {
    const logger = pino({ level: 'silent' });
    api = await serveNatsInterface([deployment.natsUrl], {
      engine,
      authenticator: createAuthenticator(config),
      config,
      logger,
    });
  }
  return {
    kind,
    engine,
    transport(options = {}) {
      const worker = options.worker ?? 1;
      if (kind === 'engine') return new EngineTransport({ engine, workerId: `sdk-worker-${worker}` });
      const tokens = {
        producer: 'sdk-producer-token',
        worker: `sdk-worker-token-${worker}`,
        admin: 'sdk-admin-token',
      };
      // NATS serves no admin operations: the admin tests run on ADMIN_KINDS only.
      if (nc) return new NatsTransport({ nc, prefix, tokens }) as unknown as AdminTransport;
      return new HttpTransport({ baseUrl, tokens, ...(options.fetch ? { fetch: options.fetch } : {}) });
    },
    async close() {
      if (app) await closeServer(app);
      await nc?.close();
      await api?.stop();
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
