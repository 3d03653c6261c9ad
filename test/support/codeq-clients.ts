/**
 * A codeq server on a real engine for replaying codeQ's clients (test/integration/api-codeq-*.test.ts):
 * static tokens, a fixed 7 s backoff and a 120 s default lease so defaults are visible, and
 * `app.inject` calls that may claim another peer address.
 */
import { pino } from 'pino';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createTestEngine } from './engine.js';

const TOKENS = [
  { token: 'producer-token', role: 'producer', subject: 'producer-1' },
  { token: 'worker-token', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
  { token: 'admin-token', role: 'admin', subject: 'admin-1' },
];

/** Headers of the producer, worker and admin tokens. */
export const P = { authorization: 'Bearer producer-token' };
/** The worker's (subject `worker-1`, every command and scope). */
export const W = { authorization: 'Bearer worker-token' };
/** The admin's. */
export const A = { authorization: 'Bearer admin-token' };

const ENV = {
  TOKENS: JSON.stringify(TOKENS),
  BACKOFF_POLICY: 'fixed',
  BACKOFF_BASE_SECONDS: '7',
  BACKOFF_MAX_SECONDS: '60',
  DEFAULT_LEASE_SECONDS: '120',
};

/** An answer: status, parsed body, headers. */
export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, unknown>;
}

/** The engine, servers on it, and a call helper; `close` closes all of them. */
export interface ClientsHarness {
  engine: Engine;
  /** The default server (default config). */
  app: CodeqServer;
  /** Another server on the same engine, with more environment (e.g. `PAYLOAD_FORMAT`). */
  server(env?: Record<string, string>): CodeqServer;
  close(): Promise<void>;
}

/** Starts the engine and the default server. */
export async function startClientsHarness(): Promise<ClientsHarness> {
  const { engine, close: closeEngine } = await createTestEngine({
    settings: toEngineSettings(loadConfig({ env: ENV })),
  });
  const servers: CodeqServer[] = [];
  const server = (env: Record<string, string> = {}) => {
    const config = loadConfig({ env: { ...ENV, ...env } });
    const app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    servers.push(app);
    return app;
  };
  const app = server();
  await app.ready();
  return {
    engine,
    app,
    server,
    close: async () => {
      for (const s of servers) await closeServer(s);
      await closeEngine();
    },
  };
}

/** One request under `/v1/codeq`; a string body is sent as is, `remoteAddress` fakes the peer. */
export async function call(
  app: CodeqServer,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string>,
  body?: unknown,
  remoteAddress?: string,
): Promise<Answer> {
  const res = await app.inject({
    method,
    url: `/v1/codeq${url}`,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}
