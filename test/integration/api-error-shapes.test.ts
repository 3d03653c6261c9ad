/**
 * Answers that used to leave the contract (issue 12, defect 7): a JSON body sent as text/plain is
 * 415, a `runAt` before 1970 is just in the past (due now), and over-long path parameters are
 * answered in the `{"error": …}` shape without echoing the path. Real engine, NATS and Redis.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { MAX_PATH_PARAM_LENGTH, buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, engineOptions, testDeployment } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [
  { token: 'producer-token', role: 'producer', subject: 'producer-1' },
  { token: 'worker-token', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
  { token: 'admin-token', role: 'admin', subject: 'admin-1' },
];

describe('error answers on the contract', () => {
  let deployment: TestDeployment;
  let engine: Engine;
  let app: CodeqServer;

  beforeAll(async () => {
    const config = loadConfig({ env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent' } });
    deployment = testDeployment();
    engine = await Engine.create(engineOptions(deployment, { settings: toEngineSettings(config) }));
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    await app.ready();
  });
  afterAll(async () => {
    await closeServer(app);
    await engine.close();
    await dropDeployment(deployment);
  });

  async function send(method: 'GET' | 'POST', url: string, token: string, body?: string, type?: string) {
    const res = await app.inject({
      method,
      url: `/v1/codeq${url}`,
      headers: {
        authorization: `Bearer ${token}-token`,
        ...(type === undefined ? {} : { 'content-type': type }),
      },
      ...(body === undefined ? {} : { payload: body }),
    });
    return {
      status: res.statusCode,
      body: res.body ? res.json() : undefined,
      headers: res.headers,
      raw: res.body,
    };
  }

  describe('content type', () => {
    it.each([
      ['POST', '/tasks', 'producer'],
      ['POST', '/tasks/claim', 'worker'],
    ] as const)(
      '%s %s with a JSON body as text/plain answers 415 and writes nothing',
      async (method, url, token) => {
        const command = uniqueName('PLAIN');
        const json = JSON.stringify(
          url === '/tasks' ? { command, payload: { n: 1 } } : { commands: [command] },
        );
        const res = await send(method, url, token, json, 'text/plain');
        expect({ status: res.status, body: res.body }).toEqual({
          status: 415,
          body: { error: 'unsupported content type (use application/json)' },
        });
        expect((await engine.queueStats(command)).ready).toBe(0);
      },
    );

    it('still takes application/json with a charset', async () => {
      const command = uniqueName('CHARSET');
      const body = JSON.stringify({ command, payload: 1 });
      expect((await send('POST', '/tasks', 'producer', body, 'application/json; charset=utf-8')).status).toBe(
        202,
      );
    });
  });

  describe('runAt before 1970', () => {
    it.each(['1969-12-31T23:59:59Z', '1900-01-01T00:00:00.5+01:00', '0001-01-01T00:00:00Z'])(
      'accepts %s as in the past: the task is due now',
      async (runAt) => {
        const command = uniqueName('PAST');
        const res = await send(
          'POST',
          '/tasks',
          'producer',
          JSON.stringify({ command, payload: 1, runAt }),
          'application/json',
        );
        expect(res.status).toBe(202);
        expect(res.body.runAt).toBeUndefined();
        const claimed = await send(
          'POST',
          '/tasks/claim',
          'worker',
          JSON.stringify({ commands: [command] }),
          'application/json',
        );
        expect(claimed.body.id).toBe(res.body.id);
      },
    );

    it('still refuses a malformed runAt with the contract string', async () => {
      const res = await send(
        'POST',
        '/tasks',
        'producer',
        JSON.stringify({ command: uniqueName('BAD'), payload: 1, runAt: '1969-13-01T00:00:00Z' }),
        'application/json',
      );
      expect({ status: res.status, body: res.body }).toEqual({
        status: 400,
        body: { error: "invalid 'runAt' (use RFC3339)" },
      });
    });
  });

  describe('over-long path parameters', () => {
    const longId = 'a'.repeat(101);

    it.each([
      ['GET', `/tasks/${longId}`, 'producer', 404, 'not found'],
      ['GET', `/tasks/${longId}/result`, 'producer', 404, 'not found'],
      ['POST', `/tasks/${longId}/heartbeat`, 'worker', 404, 'not-found'],
      ['POST', `/tasks/${longId}/result`, 'worker', 404, 'task not found'],
      ['GET', `/admin/queues/${'c'.repeat(129)}`, 'admin', 400, 'invalid command'],
    ] as const)("%s %s (%s) answers the route's own %i", async (method, url, token, status, error) => {
      const body = method === 'POST' ? '{"status":"FAILED","error":"x"}' : undefined;
      const res = await send(method, url, token, body, body && 'application/json');
      expect({ status: res.status, body: res.body }).toEqual({ status, body: { error } });
    });

    it('a valid command of 101..128 characters is routed', async () => {
      const command = `${uniqueName('LONG')}_`.padEnd(128, 'x');
      const res = await send('GET', `/admin/queues/${command}`, 'admin');
      expect(res.status).toBe(200);
      expect(res.body.command).toBe(command);
    });

    it(`a parameter over ${MAX_PATH_PARAM_LENGTH} characters answers 414 {error}, without the path`, async () => {
      const id = 'z'.repeat(MAX_PATH_PARAM_LENGTH + 1);
      const res = await send('GET', `/tasks/${id}`, 'producer');
      expect({ status: res.status, body: res.body }).toEqual({
        status: 414,
        body: { error: 'request path too long' },
      });
      expect(res.raw).not.toContain('zzzz');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    });

    it('a malformed percent-encoding answers 400 {error}, without the path', async () => {
      const res = await send('GET', '/tasks/%E0%A4%A', 'producer');
      expect({ status: res.status, body: res.body }).toEqual({
        status: 400,
        body: { error: 'invalid request path' },
      });
      expect(res.raw).not.toContain('%E0');
    });
  });
});
