/** A real codeq HTTP server in-process (port 0) on an isolated deployment, for API tests. */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { dropDeployment, engineOptions, testDeployment } from './engine.js';

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
