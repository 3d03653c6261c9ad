/**
 * Request logging: one line per request, never two; the per-task routes (enqueue, claim,
 * heartbeat, result) and the probes at debug, so an info log shows the rest; a refusal's code on
 * the request's own line.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, closeServer, type CodeqServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createTestEngine } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [
  { token: 'producer-token', role: 'producer', subject: 'p' },
  { token: 'worker-token', role: 'worker', subject: 'w', eventTypes: ['*'] },
  { token: 'admin-token', role: 'admin', subject: 'a' },
];

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  url?: string;
  status?: number;
  err?: { code?: string };
}

describe('request log lines', () => {
  let close: () => Promise<void>;
  const servers: CodeqServer[] = [];
  let engine: Awaited<ReturnType<typeof createTestEngine>>['engine'];
  beforeAll(async () => {
    ({ engine, close } = await createTestEngine());
  });
  afterAll(async () => {
    for (const app of servers) await closeServer(app);
    await close();
  });

  /** A server logging at `level` into an array; runs one task's life and two admin calls. */
  async function run(level: 'info' | 'debug'): Promise<{ lines: LogLine[]; requests: number }> {
    const lines: LogLine[] = [];
    const logger = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
    const config = loadConfig({ env: { TOKENS: JSON.stringify(TOKENS) } });
    const app = buildServer({ engine, config, logger, metrics: createMetrics() });
    servers.push(app);
    await app.ready();
    const command = uniqueName('LOGGED');
    let requests = 0;
    const call = async (method: 'GET' | 'POST', url: string, token: string, payload?: object) => {
      requests++;
      const res = await app.inject({
        method,
        url: `/v1/codeq${url}`,
        headers: { authorization: `Bearer ${token}` },
        payload,
      });
      return res;
    };
    const created = (await call('POST', '/tasks', 'producer-token', { command, payload: {} })).json() as {
      id: string;
    };
    const claimed = await call('POST', '/tasks/claim', 'worker-token', { commands: [command] });
    expect(claimed.statusCode).toBe(200);
    await call('POST', `/tasks/${created.id}/heartbeat`, 'worker-token', { extendSeconds: 60 });
    await call('POST', `/tasks/${created.id}/result`, 'worker-token', { status: 'COMPLETED', result: {} });
    expect((await call('GET', `/tasks/${created.id}`, 'producer-token')).statusCode).toBe(200);
    expect((await call('GET', '/admin/queues', 'admin-token')).statusCode).toBe(200);
    // Refused: a result for a task no longer in progress.
    expect(
      (
        await call('POST', `/tasks/${created.id}/result`, 'worker-token', {
          status: 'COMPLETED',
          result: { x: 1 },
        })
      ).statusCode,
    ).toBe(409);
    requests++;
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    return { lines, requests };
  }

  it('at info: one line each for the reads and admin calls, none for the per-task routes', async () => {
    const { lines } = await run('info');
    const requestLines = lines.filter((l) => l.msg === 'request');
    expect(lines.length).toBe(requestLines.length); // nothing but the request lines
    expect(requestLines.map((l) => `${l.status} ${l.url}`)).toEqual([
      expect.stringMatching(/^200 \/v1\/codeq\/tasks\/[0-9a-f-]+$/),
      '200 /v1/codeq/admin/queues',
    ]);
  });

  it('at debug: exactly one line per request, a refusal with its code on it', async () => {
    const { lines, requests } = await run('debug');
    const requestLines = lines.filter((l) => l.msg === 'request');
    expect(requestLines).toHaveLength(requests);
    // One line per request id: Fastify's "incoming request"/"request completed" pair is gone.
    const byRequest = new Map<string, number>();
    for (const l of lines) if (l.reqId) byRequest.set(l.reqId, (byRequest.get(l.reqId) ?? 0) + 1);
    expect([...byRequest.values()].every((n) => n === 1)).toBe(true);
    expect(byRequest.size).toBe(requests);
    const refused = requestLines.find((l) => l.status === 409);
    expect(refused?.err?.code).toBe('WRONG_STATE');
  });
});
