/**
 * Real codeq HTTP servers for API tests: one on a given engine (`listenTestApi`), or one with its
 * own engine on an isolated deployment (`startTestApi`), both on a free loopback port.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import type { EngineApi } from '../../src/engine/engine.types.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { dropDeployment, engineOptions, testDeployment } from './engine.js';

/** Starts a server with these static tokens; `base` is its root URL (`http://127.0.0.1:<port>`). */
export async function listenTestApi(
  engine: EngineApi,
  tokens: readonly Record<string, unknown>[],
): Promise<{ app: CodeqServer; base: string }> {
  const config = loadConfig({ env: { TOKENS: JSON.stringify(tokens), LOG_LEVEL: 'silent' } });
  const app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** A running server and the engine behind it. */
export interface TestApi {
  /** The engine (tests check the log and the projection through it). */
  engine: Engine;
  /** `http://127.0.0.1:<port>/v1/codeq`. */
  base: string;
  /** The server root, `http://127.0.0.1:<port>`. */
  root: string;
  /** Closes the server and the engine, and drops the deployment. */
  close(): Promise<void>;
}

/** Starts a server accepting `tokens` (static `TOKENS` entries), with `env` as extra config. */
export async function startTestApi(tokens: object[], env: Record<string, string> = {}): Promise<TestApi> {
  const config = loadConfig({ env: { TOKENS: JSON.stringify(tokens), LOG_LEVEL: 'silent', ...env } });
  const deployment = testDeployment();
  const engine = await Engine.create(engineOptions(deployment, { settings: toEngineSettings(config) }));
  const app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const root = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    engine,
    base: `${root}/v1/codeq`,
    root,
    async close() {
      await closeServer(app);
      await engine.close();
      await dropDeployment(deployment);
    },
  };
}
