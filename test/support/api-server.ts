/** A codeq HTTP server on an engine, listening on a free loopback port, for tests over real HTTP. */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import type { EngineApi } from '../../src/engine/engine.types.js';
import { createMetrics } from '../../src/metrics/metrics.js';

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
