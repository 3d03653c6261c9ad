/**
 * Contract tests per endpoint against the real engine (app.inject): success shapes, every listed
 * error including auth failures, and hostile input (4xx with a clear message, nothing written).
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { uniqueName } from '../support/servers.js';

const CMD = uniqueName('CONTRACT');
const OTHER = uniqueName('OTHER');
const TOKENS = [
  { token: 'producer-token', role: 'producer', subject: 'producer-1' },
  { token: 'narrow-producer', role: 'producer', subject: 'producer-2', eventTypes: [OTHER] },
  { token: 'worker-a-token', role: 'worker', subject: 'worker-a', eventTypes: ['*'] },
  { token: 'worker-b-token', role: 'worker', subject: 'worker-b', eventTypes: ['*'] },
  {
    token: 'narrow-worker',
    role: 'worker',
    subject: 'worker-n',
    eventTypes: [OTHER],
    scopes: ['codeq:claim'],
  },
  { token: 'admin-token', role: 'admin', subject: 'admin-1' },
];
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const P = auth('producer-token');
const WA = auth('worker-a-token');
const WB = auth('worker-b-token');
const A = auth('admin-token');

let engine: Engine;
let app: CodeqServer;

async function createEngine(): Promise<Engine> {
  const config = loadConfig({ env: { BACKOFF_POLICY: 'fixed', BACKOFF_BASE_SECONDS: '0' } });
  return Engine.create({
    natsServers: inject('natsUrl'),
    redisUrl: inject('redisUrl'),
    streamName: uniqueName('API_CONTRACT'),
    subjectPrefix: uniqueName('apicontract').toLowerCase(),
    keyPrefix: uniqueName('apicontract'),
    settings: toEngineSettings(config),
  });
}

function server(e: Engine, env: Record<string, string> = {}): CodeqServer {
  const config = loadConfig({
    env: { TOKENS: JSON.stringify(TOKENS), BACKOFF_POLICY: 'fixed', BACKOFF_BASE_SECONDS: '0', ...env },
  });
  const metrics = createMetrics();
  return buildServer({ engine: e, config, logger: pino({ level: 'silent' }), metrics });
}

async function req(method: string, url: string, headers: Record<string, string>, payload?: unknown) {
  const res = await app.inject({
    method: method as 'GET',
    url: `/v1/codeq${url}`,
    headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined
      ? {}
      : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

async function createTask(body: Record<string, unknown> = {}, command = CMD) {
  const res = await req('POST', '/tasks', P, { command, payload: { n: 1 }, ...body });
  expect(res.status).toBe(202);
  return res.body as { id: string; [k: string]: unknown };
}

async function claimOne(headers = WA, command = CMD) {
  const res = await req('POST', '/tasks/claim', headers, { commands: [command] });
  expect(res.status).toBe(200);
  return res.body as { id: string; [k: string]: unknown };
}

beforeAll(async () => {
  engine = await createEngine();
  app = server(engine);
  await app.ready();
});
afterAll(async () => {
  await closeServer(app);
  await engine.close();
});

describe('POST /tasks', () => {
  it('answers 202 with the Task JSON, clamping priority', async () => {
    const res = await req('POST', '/tasks', P, {
      command: CMD,
      payload: { jobId: 'x' },
      priority: 42,
      webhook: 'https://hooks.example/cb',
      maxAttempts: 0,
    });
    expect(res.status).toBe(202);
    // codeQ's wire: the payload as its JSON text (codeQ's CLI decodes `Payload string`).
    expect(res.body).toMatchObject({
      command: CMD,
      payload: '{"jobId":"x"}',
      priority: 9,
      webhook: 'https://hooks.example/cb',
      status: 'PENDING',
      attempts: 0,
      maxAttempts: 5,
    });
    for (const k of ['id', 'createdAt', 'updatedAt']) expect(res.body[k]).toBeTypeOf('string');
    expect((await req('POST', '/tasks', P, { command: CMD, payload: 1, priority: -3 })).body.priority).toBe(
      0,
    );
  });

  it('delays with runAt or delaySeconds (runAt wins)', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const t = await createTask({ runAt, delaySeconds: 5 });
    // runAt is codeq's field: only in the full view.
    expect(t.runAt).toBeUndefined();
    const full = await req('GET', `/tasks/${t.id}?view=full`, P);
    expect(Date.parse(full.body.runAt as string)).toBe(Date.parse(runAt));
    const stats = await req('GET', `/admin/queues/${CMD}`, A);
    expect(stats.body.delayed).toBeGreaterThanOrEqual(1);
  });

  it('returns the first task for a repeated idempotency key', async () => {
    const key = randomUUID();
    const a = await createTask({ idempotencyKey: key });
    const b = await createTask({ idempotencyKey: key });
    expect(b.id).toBe(a.id);
  });

  it.each([
    [{ command: 'a.b', payload: 1 }, 'invalid command'],
    [{ command: 'has space', payload: 1 }, 'invalid command'],
    [{ command: 'GEN.*', payload: 1 }, 'invalid command'],
    [{ command: 'GEN>', payload: 1 }, 'invalid command'],
    [{ command: 'X'.repeat(10_240), payload: 1 }, 'invalid command'],
    [{ command: 7, payload: 1 }, 'invalid command'],
    [{ command: CMD }, "invalid body: 'payload' is required"],
    [{ command: CMD, payload: 1, priority: 1.5 }, "invalid body: 'priority' must be integer"],
    [{ command: CMD, payload: 1, priority: '5' }, "invalid body: 'priority' must be integer"],
    [{ command: CMD, payload: 1, runAt: '2030-01-01' }, "invalid 'runAt' (use RFC3339)"],
    [{ command: CMD, payload: 1, runAt: '2030-02-30T00:00:00Z' }, "invalid 'runAt' (use RFC3339)"],
    [{ command: CMD, payload: 1, runAt: 'tomorrow' }, "invalid 'runAt' (use RFC3339)"],
    [{ command: CMD, payload: 1, delaySeconds: -1 }, "invalid 'delaySeconds' (must be >= 0)"],
    [{ command: CMD, payload: 1, webhook: 'ftp://x.example' }, 'invalid webhook url'],
    [{ command: CMD, payload: 1, webhook: '/relative' }, 'invalid webhook url'],
    [{ command: CMD, payload: 1, webhook: 'http://user:secret@hooks.example.com/x' }, 'invalid webhook url'],
    ['{"command":', 'invalid body: malformed JSON'],
    ['[1,2]', 'invalid body: expected a JSON object'],
    ['', 'invalid body: expected a JSON object'],
  ])('refuses hostile create body #%# with 400 and writes nothing', async (body, message) => {
    const before = await engine.queueStats(CMD);
    const res = await req('POST', '/tasks', P, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: message });
    expect(await engine.queueStats(CMD)).toEqual(before);
  });

  it('refuses oversized bodies with 413', async () => {
    const res = await req('POST', '/tasks', P, { command: CMD, payload: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/too large/);
  });

  it('refuses a payload over maxPayloadBytes with 400', async () => {
    const res = await req('POST', '/tasks', P, { command: CMD, payload: 'x'.repeat(950_000) });
    expect(res.status).toBe(400);
  });

  it('needs a producer token allowed for the command', async () => {
    const body = { command: CMD, payload: 1 };
    expect(await req('POST', '/tasks', {}, body)).toMatchObject({
      status: 401,
      body: { error: 'missing Authorization header' },
    });
    expect(await req('POST', '/tasks', auth('wrong-token'), body)).toMatchObject({
      status: 401,
      body: { error: 'invalid token' },
    });
    expect((await req('POST', '/tasks', WA, body)).status).toBe(403);
    expect(await req('POST', '/tasks', auth('narrow-producer'), body)).toMatchObject({
      status: 403,
      body: { error: 'event type not allowed' },
    });
    expect(
      (await req('POST', '/tasks', auth('narrow-producer'), { command: OTHER, payload: 1 })).status,
    ).toBe(202);
    expect((await req('POST', '/tasks', A, body)).status).toBe(202);
  });

  it('echoes X-Request-Id, or generates 32 hex chars', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/codeq/healthz',
      headers: { 'x-request-id': 'req-42' },
    });
    expect(res.headers['x-request-id']).toBe('req-42');
    const gen = await app.inject({ method: 'GET', url: '/v1/codeq/healthz' });
    expect(gen.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect((await req('POST', '/tasks', {}, {})).headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('POST /tasks/batch?allOrNothing=true and POST /tasks/results', () => {
  it('creates many tasks and records many results', async () => {
    const cmd = uniqueName('BATCH');
    const res = await req('POST', '/tasks/batch?allOrNothing=true', P, {
      tasks: [
        { command: cmd, payload: 1 },
        { command: cmd, payload: 2, priority: 5 },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.tasks).toHaveLength(2);
    const bad = await req('POST', '/tasks/batch?allOrNothing=true', P, {
      tasks: [
        { command: cmd, payload: 1 },
        { command: 'a b', payload: 1 },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('tasks[1]');
    const credentialed = await req('POST', '/tasks/batch?allOrNothing=true', P, {
      tasks: [
        { command: cmd, payload: 3 },
        { command: cmd, payload: 4, webhook: 'https://user:secret@hooks.example.com/x' },
      ],
    });
    expect(credentialed).toMatchObject({ status: 400, body: { error: 'tasks[1]: invalid webhook url' } });
    // Neither batch wrote anything: the claim below finds the first batch's two tasks only.

    const claimed = await req('POST', '/tasks/claim', WA, { commands: [cmd], count: 5 });
    expect(claimed.status).toBe(200);
    expect(claimed.body.tasks).toHaveLength(2);
    const [t1, t2] = claimed.body.tasks as Array<{ id: string }>;
    const results = await req('POST', '/tasks/results', WA, {
      results: [
        { taskId: t1!.id, status: 'COMPLETED', result: { ok: 1 } },
        { taskId: t2!.id, status: 'FAILED', error: 'boom' },
        { taskId: randomUUID(), status: 'FAILED', error: 'x' },
      ],
    });
    expect(results.status).toBe(200);
    expect(results.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true, false]);
    expect(results.body.results[2]).toMatchObject({ status: 404, error: 'task not found' });
    expect((await req('POST', '/tasks/claim', WA, { commands: [cmd], count: 5 })).status).toBe(204);
  });
});

describe('POST /tasks/claim', () => {
  it('answers 204 when nothing comes, 403 for a command outside eventTypes, 400 for bad input', async () => {
    const none = uniqueName('NONE');
    expect((await req('POST', '/tasks/claim', WA, { commands: [none], waitSeconds: 0 })).status).toBe(204);
    expect(await req('POST', '/tasks/claim', auth('narrow-worker'), { commands: [CMD] })).toMatchObject({
      status: 403,
      body: { error: 'event type not allowed' },
    });
    // Without `commands` the token's eventTypes are used: only OTHER can come back.
    const own = await req('POST', '/tasks/claim', auth('narrow-worker'), {});
    expect([200, 204]).toContain(own.status);
    if (own.status === 200) expect(own.body.command).toBe(OTHER);
    expect((await req('POST', '/tasks/claim', WA, { commands: ['a.b'] })).body).toEqual({
      error: 'invalid command',
    });
    expect((await req('POST', '/tasks/claim', WA, { commands: [CMD], waitSeconds: -1 })).status).toBe(400);
    expect((await req('POST', '/tasks/claim', WA, { commands: [CMD], leaseSeconds: 'x' })).status).toBe(400);
    expect((await req('POST', '/tasks/claim', P, { commands: [CMD] })).status).toBe(403);
    expect((await req('POST', '/tasks/claim', {}, { commands: [CMD] })).status).toBe(401);
  });

  it('takes the highest priority first and uses the token subject as workerId', async () => {
    const cmd = uniqueName('PRIO');
    await createTask({ priority: 1 }, cmd);
    const high = await createTask({ priority: 8 }, cmd);
    const t = await claimOne(WA, cmd);
    expect(t).toMatchObject({ id: high.id, workerId: 'worker-a', status: 'IN_PROGRESS' });
  });
});

describe('lease operations', () => {
  it('heartbeat: 200 {ok}, 403 not-owner, 404 not-found, 409 not-in-progress', async () => {
    const cmd = uniqueName('HB');
    const t = await createTask({}, cmd);
    expect(await req('POST', `/tasks/${t.id}/heartbeat`, WA, {})).toMatchObject({
      status: 409,
      body: { error: 'not-in-progress' },
    });
    await claimOne(WA, cmd);
    const ok = await req('POST', `/tasks/${t.id}/heartbeat`, WA, { extendSeconds: 60 });
    expect(ok.status).toBe(200);
    expect(ok.body.ok).toBe(true);
    expect(
      (await app.inject({ method: 'POST', url: `/v1/codeq/tasks/${t.id}/heartbeat`, headers: WA }))
        .statusCode,
    ).toBe(200);
    expect(await req('POST', `/tasks/${t.id}/heartbeat`, WB, {})).toMatchObject({
      status: 403,
      body: { error: 'not-owner' },
    });
    expect(await req('POST', `/tasks/${randomUUID()}/heartbeat`, WA, {})).toMatchObject({
      status: 404,
      body: { error: 'not-found' },
    });
    // 0 is the default lease (codeQ's rule); only a negative or oversized one is refused.
    expect((await req('POST', `/tasks/${t.id}/heartbeat`, WA, { extendSeconds: 0 })).status).toBe(200);
    expect((await req('POST', `/tasks/${t.id}/heartbeat`, WA, { extendSeconds: -1 })).status).toBe(400);
    expect((await req('POST', `/tasks/${t.id}/heartbeat`, auth('narrow-worker'), {})).status).toBe(403);
  });

  it('abandon: 200 {status: requeued}, attempts kept; 403/404/409', async () => {
    const cmd = uniqueName('AB');
    const t = await createTask({}, cmd);
    await claimOne(WA, cmd);
    expect(await req('POST', `/tasks/${t.id}/abandon`, WB)).toMatchObject({
      status: 403,
      body: { error: 'not-owner' },
    });
    expect(await req('POST', `/tasks/${t.id}/abandon`, WA)).toMatchObject({
      status: 200,
      body: { status: 'requeued' },
    });
    expect(await req('POST', `/tasks/${t.id}/abandon`, WA)).toMatchObject({
      status: 409,
      body: { error: 'not-in-progress' },
    });
    expect((await req('POST', `/tasks/${randomUUID()}/abandon`, WA)).status).toBe(404);
    const again = await claimOne(WB, cmd);
    expect(again).toMatchObject({ id: t.id, attempts: 2, workerId: 'worker-b' });
  });

  it('nack: requeued with delay (capped), dlq at the attempt limit; 403/404/409', async () => {
    const cmd = uniqueName('NACK');
    const t = await createTask({ maxAttempts: 2 }, cmd);
    await claimOne(WA, cmd);
    expect(await req('POST', `/tasks/${t.id}/nack`, WB, {})).toMatchObject({
      status: 403,
      body: { error: 'not-owner' },
    });
    expect((await req('POST', `/tasks/${t.id}/nack`, WA, { delaySeconds: -5 })).body).toEqual({
      error: "invalid 'delaySeconds' (must be >= 0)",
    });
    expect(await req('POST', `/tasks/${t.id}/nack`, WA, { delaySeconds: 0 })).toMatchObject({
      status: 200,
      body: { status: 'requeued', delaySeconds: 0 },
    });
    expect(await req('POST', `/tasks/${t.id}/nack`, WA, {})).toMatchObject({
      status: 409,
      body: { error: 'not-in-progress' },
    });
    await claimOne(WA, cmd);
    expect(await req('POST', `/tasks/${t.id}/nack`, WA, { reason: 'still broken' })).toMatchObject({
      status: 200,
      body: { status: 'dlq', delaySeconds: 0 },
    });
    expect((await req('GET', `/tasks/${t.id}?view=full`, P)).body).toMatchObject({
      status: 'FAILED',
      state: 'deadLettered',
    });
    expect(await req('POST', `/tasks/${randomUUID()}/nack`, WA, {})).toMatchObject({
      status: 404,
      body: { error: 'not-found' },
    });

    // DLQ listing and requeue (admin).
    const dlq = await req('GET', `/admin/dlq/${cmd}?limit=10`, A);
    expect(dlq.status).toBe(200);
    expect(dlq.body.tasks.map((x: { id: string }) => x.id)).toEqual([t.id]);
    expect(dlq.body.total).toBe(1);
    expect((await req('GET', `/admin/dlq/${cmd}?limit=0`, A)).status).toBe(400);
    expect((await req('GET', `/admin/dlq/${cmd}`, P)).status).toBe(401);
    expect(await req('POST', `/admin/dlq/${cmd}/requeue`, A, { taskIds: [t.id] })).toMatchObject({
      status: 200,
      body: { requeued: 1 },
    });
    expect((await claimOne(WA, cmd)).attempts).toBe(1);
  });

  it('result: 200 ResultRecord; 400 for missing result/error; 403, 404 task not found, 409 not-in-progress', async () => {
    const cmd = uniqueName('RES');
    const t = await createTask({}, cmd);
    expect(await req('POST', `/tasks/${t.id}/result`, WA, { status: 'COMPLETED', result: {} })).toMatchObject(
      {
        status: 409,
        body: { error: 'not-in-progress' },
      },
    );
    await claimOne(WA, cmd);
    expect((await req('POST', `/tasks/${t.id}/result`, WA, { status: 'COMPLETED' })).status).toBe(400);
    expect((await req('POST', `/tasks/${t.id}/result`, WA, { status: 'FAILED' })).status).toBe(400);
    expect((await req('POST', `/tasks/${t.id}/result`, WA, { status: 'DONE', result: {} })).status).toBe(400);
    expect(
      (await req('POST', `/tasks/${t.id}/result`, WA, { status: 'COMPLETED', result: 'x', workerId: 'x' }))
        .body,
    ).toEqual({ error: "'result' must be a JSON object" });
    expect(await req('POST', `/tasks/${t.id}/result`, WB, { status: 'FAILED', error: 'x' })).toMatchObject({
      status: 403,
      body: { error: 'not-owner' },
    });
    expect(
      await req('POST', `/tasks/${randomUUID()}/result`, WA, { status: 'FAILED', error: 'x' }),
    ).toMatchObject({
      status: 404,
      body: { error: 'task not found' },
    });
    expect(await req('GET', `/tasks/${t.id}/result`, P)).toMatchObject({ status: 404 });
    const ok = await req('POST', `/tasks/${t.id}/result`, WA, { status: 'FAILED', error: 'render crashed' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ taskId: t.id, status: 'FAILED', error: 'render crashed' });
    expect(
      await req('POST', `/tasks/${t.id}/result`, WA, { status: 'FAILED', error: 'again' }),
    ).toMatchObject({
      status: 409,
      body: { error: 'not-in-progress' },
    });
    const got = await req('GET', `/tasks/${t.id}/result`, WA);
    expect(got.body.task.status).toBe('FAILED');
    expect(got.body.result.error).toBe('render crashed');
  });
});

describe('reads and cancel', () => {
  it('GET /tasks/:id: 200 for producers and workers, 404 not found, 401 without token', async () => {
    const t = await createTask();
    expect((await req('GET', `/tasks/${t.id}`, P)).body.id).toBe(t.id);
    expect((await req('GET', `/tasks/${t.id}`, WA)).body.id).toBe(t.id);
    expect(await req('GET', `/tasks/${randomUUID()}`, P)).toMatchObject({
      status: 404,
      body: { error: 'not found' },
    });
    expect(await req('GET', '/tasks/..%2F..%2Fetc', P)).toMatchObject({ status: 404 });
    expect((await req('GET', `/tasks/${t.id}`, {})).status).toBe(401);
    expect((await req('GET', `/tasks/${randomUUID()}/history`, P)).status).toBe(404);
  });

  it('cancels a pending task; 409 once it is not pending', async () => {
    const cmd = uniqueName('CANCEL');
    const t = await createTask({}, cmd);
    const res = await req('POST', `/tasks/${t.id}/cancel`, P, { reason: 'not needed' });
    expect(res).toMatchObject({ status: 200, body: { id: t.id, status: 'CANCELLED' } });
    expect((await req('POST', `/tasks/${t.id}/cancel`, P)).status).toBe(409);
    expect((await req('POST', `/tasks/${t.id}/cancel`, WA)).status).toBe(403);
    expect((await req('POST', '/tasks/claim', WA, { commands: [cmd] })).status).toBe(204);
  });
});

describe('admin', () => {
  it('GET /admin/queues lists every command; /admin/queues/:command has the counts, controls and health', async () => {
    const cmd = uniqueName('STATS');
    await createTask({}, cmd);
    const all = await req('GET', '/admin/queues', A);
    expect(all.status).toBe(200);
    expect(all.body).toContainEqual({
      command: cmd,
      ready: 1,
      delayed: 0,
      inProgress: 0,
      dlq: 0,
      paused: false,
    });
    const detail = (await req('GET', `/admin/queues/${cmd}`, A)).body;
    expect(detail).toEqual({
      command: cmd,
      ready: 1,
      delayed: 0,
      inProgress: 0,
      dlq: 0,
      paused: false,
      limits: {},
      oldestReadyAgeMs: detail.oldestReadyAgeMs,
      groupedReady: 0,
      groups: 0,
      topGroups: [],
    });
    expect(detail.oldestReadyAgeMs).toBeGreaterThanOrEqual(0);
    expect((await req('GET', '/admin/queues/bad.name', A)).body).toEqual({ error: 'invalid command' });
    // codeQ's RequireAdmin answers 401 `unauthorized. Admin only`.
    expect(await req('GET', '/admin/queues', P)).toMatchObject({
      status: 401,
      body: { error: 'unauthorized. Admin only' },
    });
    expect((await req('GET', '/admin/queues', WA)).status).toBe(401);
    expect((await req('GET', '/admin/queues', {})).status).toBe(401);
  });

  it('GET /admin/tasks lists by state with pagination', async () => {
    const cmd = uniqueName('LIST');
    for (let i = 0; i < 3; i++) await createTask({}, cmd);
    const page = await req('GET', `/admin/tasks?command=${cmd}&status=ready&limit=2`, A);
    expect(page.status).toBe(200);
    expect(page.body.tasks).toHaveLength(2);
    expect(page.body.total).toBe(3);
    expect(page.body.nextCursor).toBeTypeOf('string');
    const rest = await req(
      'GET',
      `/admin/tasks?command=${cmd}&status=ready&limit=2&cursor=${page.body.nextCursor}`,
      A,
    );
    expect(rest.body.tasks).toHaveLength(1);
    expect((await req('GET', `/admin/tasks?command=${cmd}&status=weird`, A)).body.error).toContain(
      'must be one of',
    );
    expect((await req('GET', '/admin/tasks?status=ready', A)).body.error).toBe(
      "invalid query: 'command' is required",
    );
  });

  it('POST /admin/tasks/cleanup answers {deleted, before, limit}', async () => {
    const res = await req('POST', '/admin/tasks/cleanup', A, { limit: 10, before: '2000-01-01T00:00:00Z' });
    expect(res).toMatchObject({
      status: 200,
      body: { deleted: 0, before: '2000-01-01T00:00:00.000Z', limit: 10 },
    });
    const defaults = await req('POST', '/admin/tasks/cleanup', A);
    expect(defaults.body.limit).toBe(1000);
    // codeQ's cleanupReq: limit 0 is the default (the answer names the limit applied).
    expect((await req('POST', '/admin/tasks/cleanup', A, { limit: 0 })).body.limit).toBe(1000);
    expect((await req('POST', '/admin/tasks/cleanup', A, { before: 'yesterday' })).body).toEqual({
      error: "invalid 'before' (use RFC3339)",
    });
    expect((await req('POST', '/admin/tasks/cleanup', P, {})).status).toBe(401);
  });
});

describe('operations', () => {
  it('serves /healthz, /readyz, /openapi.json and /metrics', async () => {
    expect((await req('GET', '/healthz', {})).body).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', nats: true, redis: true });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/codeq/tasks', '/v1/codeq/tasks/claim']),
    );
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('codeq_queue_depth');
  });

  it('answers a waiting long-poll with 204 on close', async () => {
    const local = server(engine);
    await local.ready();
    const waiting = local.inject({
      method: 'POST',
      url: '/v1/codeq/tasks/claim',
      headers: { ...WA, 'content-type': 'application/json' },
      payload: JSON.stringify({ commands: [uniqueName('IDLE')], waitSeconds: 999 }),
    });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await closeServer(local);
    const res = await waiting;
    expect(res.statusCode).toBe(204);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses to build without any credentials', () => {
    const config = loadConfig({ env: {} });
    const metrics = createMetrics();
    expect(() => buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics })).toThrow(
      /DEV_MODE/,
    );
  });
});
