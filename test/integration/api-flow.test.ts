/**
 * The codeQ end-to-end flow over HTTP against the real engine: create 202 → claim 200 (long-poll)
 * → heartbeat → nack → claim again → result COMPLETED → get result.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics, engineObserver } from '../../src/metrics/metrics.js';
import { uniqueName } from '../support/servers.js';
import { callApi } from '../support/http.js';

const TOKENS = [
  { token: 'producer-token-1', role: 'producer', subject: 'producer-1' },
  { token: 'worker-token-1', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
  { token: 'admin-token-1', role: 'admin', subject: 'admin-1' },
];

describe('codeQ flow over HTTP', () => {
  let engine: Engine;
  let app: CodeqServer;
  let base: string;
  const command = uniqueName('GEN');

  beforeAll(async () => {
    const config = loadConfig({
      env: {
        TOKENS: JSON.stringify(TOKENS),
        BACKOFF_POLICY: 'fixed',
        BACKOFF_BASE_SECONDS: '0',
        LOG_LEVEL: 'silent',
      },
    });
    const metrics = createMetrics();
    engine = await Engine.create({
      natsServers: inject('natsUrl'),
      redisUrl: inject('redisUrl'),
      streamName: uniqueName('API_FLOW'),
      subjectPrefix: uniqueName('apiflow').toLowerCase(),
      keyPrefix: uniqueName('apiflow'),
      settings: toEngineSettings(config),
      observer: engineObserver(metrics),
    });
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/codeq`;
  });
  afterAll(async () => {
    await closeServer(app);
    await engine.close();
  });

  const call = (path: string, token: string, body?: unknown, method?: string) =>
    callApi(base, path, token, body, method);

  it('runs create → claim (long-poll) → heartbeat → nack → claim → result → get result', async () => {
    // A long-poll that starts before the task exists wakes up when it is created.
    const claimStarted = Date.now();
    const waiting = call('/tasks/claim', 'worker-token-1', {
      commands: [command],
      waitSeconds: 10,
      leaseSeconds: 60,
    });
    await new Promise((r) => setTimeout(r, 200));

    const created = await call('/tasks', 'producer-token-1', {
      command,
      payload: { jobId: 'j-1' },
      priority: 7,
    });
    expect(created.status).toBe(202);
    expect(created.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const task = created.body;
    // codeQ's wire (test/local_flow.py's create; codeQ's server answers the payload as JSON text).
    expect(task).toMatchObject({
      command,
      payload: '{"jobId":"j-1"}',
      priority: 7,
      status: 'PENDING',
      attempts: 0,
    });
    expect(task.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(task.createdAt).toISOString()).toBe(task.createdAt);

    const claimed = await waiting;
    expect(claimed.status).toBe(200);
    expect(Date.now() - claimStarted).toBeLessThan(5000);
    expect(claimed.body).toMatchObject({
      id: task.id,
      status: 'IN_PROGRESS',
      workerId: 'worker-1',
      attempts: 1,
    });
    expect(Date.parse(claimed.body.leaseUntil)).toBeGreaterThan(Date.now() + 30_000);

    const hb = await call(`/tasks/${task.id}/heartbeat`, 'worker-token-1', { extendSeconds: 120 });
    expect(hb.status).toBe(200);
    expect(hb.body.ok).toBe(true);

    const nack = await call(`/tasks/${task.id}/nack`, 'worker-token-1', { reason: 'try again' });
    expect(nack.status).toBe(200);
    expect(nack.body).toEqual({ status: 'requeued', delaySeconds: 0 });

    const again = await call('/tasks/claim', 'worker-token-1', { commands: [command], waitSeconds: 5 });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: task.id, status: 'IN_PROGRESS', attempts: 2 });

    const result = await call(`/tasks/${task.id}/result`, 'worker-token-1', {
      status: 'COMPLETED',
      result: { url: 'https://cdn.example/master.mp4' },
      artifacts: [{ name: 'master', url: 'https://cdn.example/master.mp4' }],
    });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      taskId: task.id,
      status: 'COMPLETED',
      result: { url: 'https://cdn.example/master.mp4' },
      artifacts: [{ name: 'master', url: 'https://cdn.example/master.mp4' }],
    });
    expect(new Date(result.body.completedAt).toISOString()).toBe(result.body.completedAt);

    const got = await call(`/tasks/${task.id}/result`, 'producer-token-1');
    expect(got.status).toBe(200);
    expect(got.body.task).toMatchObject({ id: task.id, status: 'COMPLETED' });
    expect(got.body.result).toMatchObject({ taskId: task.id, status: 'COMPLETED' });

    const history = await call(`/tasks/${task.id}/history`, 'producer-token-1');
    expect(history.status).toBe(200);
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'heartbeat',
      'nacked',
      'claimed',
      'completed',
    ]);
    expect(history.body.state.status).toBe('completed');

    const empty = await call('/tasks/claim', 'worker-token-1', { commands: [command], waitSeconds: 0 });
    expect(empty.status).toBe(204);

    const metrics = await (await fetch(base.replace('/v1/codeq', '/metrics'))).text();
    expect(metrics).toContain(`codeq_tasks_created_total{command="${command}"} 1`);
    expect(metrics).toContain(`codeq_tasks_completed_total{command="${command}"} 1`);
    expect(metrics).toMatch(
      /codeq_api_request_duration_seconds_count\{route="\/v1\/codeq\/tasks",method="POST",status="202"\} 1/,
    );
  });
});
