/**
 * The HTTP contract of cancel and progress: a cancelled task's worker is answered 409 with code
 * TASK_CANCELLED on every lease call and its result; progress by the lease holder, in the task, the
 * history and the events stream, bad reports refused with nothing written; the admin bulk cancel.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { uniqueName } from '../support/servers.js';
import { callApi } from '../support/http.js';

const TOKENS = [
  { token: 'cp-producer', role: 'producer', subject: 'producer-1' },
  { token: 'cp-worker-1', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
  { token: 'cp-worker-2', role: 'worker', subject: 'worker-2', eventTypes: ['*'] },
  { token: 'cp-admin', role: 'admin', subject: 'ops' },
];

describe('cancel and progress over HTTP', () => {
  let engine: Engine;
  let app: CodeqServer;
  let base: string;

  beforeAll(async () => {
    const config = loadConfig({ env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent' } });
    const name = uniqueName('API_CXL');
    engine = await Engine.create({
      natsServers: inject('natsUrl'),
      redisUrl: inject('redisUrl'),
      streamName: name,
      subjectPrefix: name.toLowerCase(),
      keyPrefix: name,
      settings: toEngineSettings(config),
    });
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/codeq`;
  });
  afterAll(async () => {
    await closeServer(app);
    await engine.close();
  });

  const call = (path: string, token: string, body?: unknown) => callApi(base, path, token, body);

  /** A new task of `command`, claimed by worker-1. */
  async function leased(command: string): Promise<string> {
    const created = await call('/tasks', 'cp-producer', { command, payload: {} });
    const claimed = await call('/tasks/claim', 'cp-worker-1', { commands: [command], leaseSeconds: 60 });
    expect(claimed.body.id).toBe(created.body.id);
    return created.body.id as string;
  }

  it('cancel of a leased task: every later call of its worker answers 409 TASK_CANCELLED', async () => {
    const command = uniqueName('HCXL');
    const id = await leased(command);
    const cancelled = await call(`/tasks/${id}/cancel?view=full`, 'cp-producer', { reason: 'stop' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', state: 'cancelled', error: 'stop' });

    const refusal = { error: 'cancelled', code: 'TASK_CANCELLED' };
    for (const [path, body] of [
      [`/tasks/${id}/heartbeat`, {}],
      [`/tasks/${id}/progress`, { progress: 10 }],
      [`/tasks/${id}/nack`, { reason: 'x' }],
      [`/tasks/${id}/abandon`, {}],
      [`/tasks/${id}/result`, { status: 'COMPLETED', result: { late: true } }],
    ] as const) {
      const answer = await call(path, 'cp-worker-1', body);
      expect([path, answer.status, answer.body]).toEqual([path, 409, refusal]);
    }
    const batch = await call('/tasks/results', 'cp-worker-1', {
      results: [{ taskId: id, status: 'COMPLETED', result: {} }],
    });
    expect(batch.body.results[0]).toMatchObject({ ok: false, status: 409, code: 'TASK_CANCELLED' });

    const history = await call(`/tasks/${id}/history`, 'cp-producer');
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'cancelled',
    ]);
    expect(history.body.events[2]).toMatchObject({ actor: 'producer:producer-1', data: { reason: 'stop' } });
    const stats = await call(`/admin/queues/${command}`, 'cp-admin');
    expect(stats.body).toMatchObject({ ready: 0, delayed: 0, inProgress: 0 });
  });

  it('progress: recorded by the lease holder, in the task, its history and the events stream', async () => {
    const command = uniqueName('HPROG');
    const id = await leased(command);
    const answer = await call(`/tasks/${id}/progress`, 'cp-worker-1', { progress: 37.5, data: { page: 3 } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, progress: 37.5 });
    expect(Date.parse(answer.body.progressAt)).toBeGreaterThan(0);

    // Progress is a codeq extra: in the full view (codeQ's Task shape stays exact).
    const task = await call(`/tasks/${id}?view=full`, 'cp-producer');
    expect(task.body).toMatchObject({
      progress: 37.5,
      progressData: { page: 3 },
      progressAt: answer.body.progressAt,
    });
    const history = await call(`/tasks/${id}/history`, 'cp-producer');
    const event = history.body.events.at(-1);
    expect(event).toMatchObject({
      type: 'progressed',
      actor: 'worker-1',
      data: { workerId: 'worker-1', progress: 37.5, data: { page: 3 } },
    });
    const stream = await call(`/admin/events?fromSeq=${event.seq}&limit=1`, 'cp-admin');
    expect(stream.body.events[0]).toMatchObject({ type: 'progressed', taskId: id });
  });

  it('progress: bad reports are refused and nothing is written', async () => {
    const command = uniqueName('HPROGBAD');
    const id = await leased(command);
    const refusals = [
      ['cp-worker-2', { progress: 5 }, 403],
      ['cp-worker-1', { progress: 101 }, 400],
      ['cp-worker-1', { progress: -0.5 }, 400],
      ['cp-worker-1', { progress: 'half' }, 400],
      ['cp-worker-1', { progress: null }, 400],
      ['cp-worker-1', {}, 400],
      ['cp-worker-1', { progress: 5, extra: 1 }, 400],
      ['cp-worker-1', { progress: 5, data: { blob: 'x'.repeat(5000) } }, 400],
      ['cp-producer', { progress: 5 }, 403],
    ] as const;
    for (const [token, body, status] of refusals) {
      const answer = await call(`/tasks/${id}/progress`, token, body);
      expect([JSON.stringify(body), answer.status]).toEqual([JSON.stringify(body), status]);
      expect(typeof answer.body.error).toBe('string');
    }
    const history = await call(`/tasks/${id}/history`, 'cp-producer');
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual(['enqueued', 'claimed']);
  });

  it('bulk cancel: admin only, dry run then one audited operation, bad filters refused', async () => {
    const command = uniqueName('HBULK');
    for (let i = 0; i < 4; i++) await call('/tasks', 'cp-producer', { command, payload: { i } });
    const claimed = await call('/tasks/claim', 'cp-worker-1', { commands: [command], leaseSeconds: 60 });
    const running = claimed.body.id as string;
    const body = { filter: { command, state: 'pending' }, dryRun: true };
    expect((await call('/admin/tasks/cancel', 'cp-producer', body)).status).toBe(401);
    const dry = await call('/admin/tasks/cancel', 'cp-admin', body);
    expect(dry.body).toMatchObject({ matched: 3, cancelled: 0, dryRun: true });

    for (const bad of [
      { filter: { state: 'pending' } },
      { filter: { command, state: 'completed' } },
      { filter: { command, createdBefore: 'yesterday' } },
      { filter: { command, groupKey: 'not a key' } },
      { filter: { command }, limit: 5 },
    ]) {
      const answer = await call('/admin/tasks/cancel', 'cp-admin', bad);
      expect([JSON.stringify(bad), answer.status]).toEqual([JSON.stringify(bad), 400]);
    }

    const done = await call('/admin/tasks/cancel', 'cp-admin', {
      filter: { command, createdBefore: new Date(Date.now() + 60_000).toISOString() },
      reason: 'drain',
    });
    expect(done.body).toMatchObject({ matched: 4, cancelled: 4, dryRun: false });
    const events = await call(`/tasks/${running}/history`, 'cp-producer');
    expect(events.body.events.at(-1)).toMatchObject({
      type: 'cancelled',
      actor: 'admin:ops',
      data: { reason: 'drain', operationId: done.body.operationId },
    });
    const heartbeat = await call(`/tasks/${running}/heartbeat`, 'cp-worker-1', {});
    expect([heartbeat.status, heartbeat.body.code]).toEqual([409, 'TASK_CANCELLED']);
  });
});
