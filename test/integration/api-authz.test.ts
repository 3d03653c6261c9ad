/**
 * Authorization by command over real HTTP (real NATS and Redis): a token limited to some commands
 * (`eventTypes`) is refused every read and change of another command's task, exactly as for an
 * unknown task, and nothing is written; admin routes naming a command answer 403, and operations
 * over every command need an unlimited token. Table-driven: a new route that takes a task id or a
 * command gets one row here.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, engineOptions, testDeployment } from '../support/engine.js';
import type { ApiAnswer } from '../support/http.js';
import { callApi } from '../support/http.js';
import { uniqueName } from '../support/servers.js';

const ALLOWED = uniqueName('ONLY_THIS');
const TOKENS = [
  { token: 'producer-all', role: 'producer', subject: 'producer-1' },
  { token: 'producer-only', role: 'producer', subject: 'producer-2', eventTypes: [ALLOWED] },
  { token: 'worker-all', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
  // The same subject as worker-all: it holds the leases worker-all takes, so only the command check
  // can refuse it (not the lease-owner check).
  { token: 'worker-only', role: 'worker', subject: 'worker-1', eventTypes: [ALLOWED] },
  { token: 'admin-all', role: 'admin', subject: 'admin-1' },
  { token: 'admin-only', role: 'admin', subject: 'admin-2', eventTypes: [ALLOWED] },
];

/** The state a row's task is put in before the calls. */
type Setup = 'pending' | 'inProgress' | 'completed' | 'dlq';

/** A route reading or changing one task by id. */
interface TaskRoute {
  route: string;
  method: 'GET' | 'POST';
  path: (id: string) => string;
  body?: (id: string) => unknown;
  setup: Setup;
  /** Tokens limited to another command: each is refused. */
  limited: string[];
  /** A token that may: the same call then succeeds with `ok` (so the refusal was the command's). */
  allowed: string;
  ok: number;
  /** The refusal: the route's answer for an unknown task. */
  refused: { status: number; error: string };
  /** Where the refusal is (default the response itself; batch routes answer per item). */
  refusal?: (res: ApiAnswer) => { status: number; error: string };
}

const LEASE = ['worker-only', 'admin-only'];
const TASK_ROUTES: TaskRoute[] = [
  {
    route: 'GET /tasks/:id',
    method: 'GET',
    path: (id) => `/tasks/${id}`,
    setup: 'pending',
    limited: ['producer-only', 'worker-only', 'admin-only'],
    allowed: 'producer-all',
    ok: 200,
    refused: { status: 404, error: 'not found' },
  },
  {
    route: 'GET /tasks/:id/result',
    method: 'GET',
    path: (id) => `/tasks/${id}/result`,
    setup: 'completed',
    limited: ['producer-only', 'worker-only', 'admin-only'],
    allowed: 'worker-all',
    ok: 200,
    refused: { status: 404, error: 'not found' },
  },
  {
    route: 'GET /tasks/:id/history',
    method: 'GET',
    path: (id) => `/tasks/${id}/history`,
    setup: 'completed',
    limited: ['producer-only', 'worker-only', 'admin-only'],
    allowed: 'admin-all',
    ok: 200,
    refused: { status: 404, error: 'not found' },
  },
  {
    route: 'POST /tasks/:id/cancel',
    method: 'POST',
    path: (id) => `/tasks/${id}/cancel`,
    body: () => ({ reason: 'not yours' }),
    setup: 'pending',
    limited: ['producer-only', 'admin-only'],
    allowed: 'producer-all',
    ok: 200,
    refused: { status: 404, error: 'not found' },
  },
  {
    route: 'POST /tasks/:id/heartbeat',
    method: 'POST',
    path: (id) => `/tasks/${id}/heartbeat`,
    body: () => ({ extendSeconds: 120 }),
    setup: 'inProgress',
    limited: LEASE,
    allowed: 'worker-all',
    ok: 200,
    refused: { status: 404, error: 'not-found' },
  },
  {
    route: 'POST /tasks/:id/abandon',
    method: 'POST',
    path: (id) => `/tasks/${id}/abandon`,
    body: () => ({}),
    setup: 'inProgress',
    limited: LEASE,
    allowed: 'worker-all',
    ok: 200,
    refused: { status: 404, error: 'not-found' },
  },
  {
    route: 'POST /tasks/:id/nack',
    method: 'POST',
    path: (id) => `/tasks/${id}/nack`,
    body: () => ({ reason: 'nope' }),
    setup: 'inProgress',
    limited: LEASE,
    allowed: 'worker-all',
    ok: 200,
    refused: { status: 404, error: 'not-found' },
  },
  {
    route: 'POST /tasks/:id/result',
    method: 'POST',
    path: (id) => `/tasks/${id}/result`,
    body: () => ({ status: 'COMPLETED', result: { stolen: true } }),
    setup: 'inProgress',
    limited: LEASE,
    allowed: 'worker-all',
    ok: 200,
    refused: { status: 404, error: 'task not found' },
  },
  {
    route: 'POST /tasks/results (item)',
    method: 'POST',
    path: () => '/tasks/results',
    body: (id) => ({ results: [{ taskId: id, status: 'FAILED', error: 'stolen' }] }),
    setup: 'inProgress',
    limited: LEASE,
    allowed: 'worker-all',
    ok: 200,
    refused: { status: 404, error: 'task not found' },
    refusal: (res) => {
      expect(res.status).toBe(200);
      const [item] = res.body.results;
      return { status: item.status, error: item.error };
    },
  },
];

/** An admin route naming a command (path or query). */
interface CommandRoute {
  route: string;
  method: 'GET' | 'POST' | 'PATCH';
  path: (command: string) => string;
  body?: unknown;
}

const COMMAND_ROUTES: CommandRoute[] = [
  { route: 'GET /admin/queues/:command', method: 'GET', path: (c) => `/admin/queues/${c}` },
  { route: 'GET /admin/dlq/:command', method: 'GET', path: (c) => `/admin/dlq/${c}` },
  {
    route: 'POST /admin/dlq/:command/requeue',
    method: 'POST',
    path: (c) => `/admin/dlq/${c}/requeue`,
    body: {},
  },
  { route: 'GET /admin/tasks', method: 'GET', path: (c) => `/admin/tasks?command=${c}&status=dlq` },
  { route: 'POST /admin/queues/:command/pause', method: 'POST', path: (c) => `/admin/queues/${c}/pause` },
  { route: 'POST /admin/queues/:command/resume', method: 'POST', path: (c) => `/admin/queues/${c}/resume` },
  {
    route: 'PATCH /admin/queues/:command/limits',
    method: 'PATCH',
    path: (c) => `/admin/queues/${c}/limits`,
    body: { concurrency: 5 },
  },
  { route: 'GET /admin/queues/:command/controls', method: 'GET', path: (c) => `/admin/queues/${c}/controls` },
];

/** Admin operations over every command: refused to limited tokens. */
const GLOBAL_ROUTES: CommandRoute[] = [
  { route: 'POST /admin/tasks/cleanup', method: 'POST', path: () => '/admin/tasks/cleanup', body: {} },
  { route: 'GET /admin/events', method: 'GET', path: () => '/admin/events?limit=1' },
  {
    route: 'POST /admin/projections/rebuild',
    method: 'POST',
    path: () => '/admin/projections/rebuild',
    body: {},
  },
];

describe('authorization by command (eventTypes)', () => {
  let deployment: TestDeployment;
  let engine: Engine;
  let app: CodeqServer;
  let base: string;

  const call = (token: string, method: string, path: string, body?: unknown) =>
    callApi(base, path, token, body, method);

  beforeAll(async () => {
    const config = loadConfig({ env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent' } });
    deployment = testDeployment();
    engine = await Engine.create(engineOptions(deployment, { settings: toEngineSettings(config) }));
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/codeq`;
  });
  afterAll(async () => {
    await closeServer(app);
    await engine.close();
    await dropDeployment(deployment);
  });

  /** A task of a fresh command (not ALLOWED) in the given state. */
  async function taskIn(setup: Setup, command = uniqueName('OTHER')): Promise<string> {
    const created = await call('producer-all', 'POST', '/tasks', {
      command,
      payload: { secret: 's3cret' },
      ...(setup === 'dlq' ? { maxAttempts: 1 } : {}),
    });
    expect(created.status).toBe(202);
    if (setup === 'pending') return created.body.id;
    const claimed = await call('worker-all', 'POST', '/tasks/claim', { commands: [command] });
    expect(claimed.body.id).toBe(created.body.id);
    const id: string = created.body.id;
    if (setup === 'completed') {
      const done = await call('worker-all', 'POST', `/tasks/${id}/result`, {
        status: 'COMPLETED',
        result: {},
      });
      expect(done.status).toBe(200);
    } else if (setup === 'dlq') {
      expect((await call('worker-all', 'POST', `/tasks/${id}/nack`, {})).body.status).toBe('dlq');
    }
    return id;
  }

  /** What the log and the projection say about a task (to prove nothing was written). */
  async function written(id: string) {
    const [history, task] = await Promise.all([engine.history(id), engine.getTask(id)]);
    return { events: history.events.length, status: task.status, leaseUntil: task.leaseUntil };
  }

  describe.each(TASK_ROUTES)('$route', (row) => {
    it(`refuses ${row.limited.join(', ')} as for an unknown task, writing nothing; ${row.allowed} may`, async () => {
      const id = await taskIn(row.setup);
      const before = await written(id);
      const refusal = row.refusal ?? ((res: ApiAnswer) => ({ status: res.status, error: res.body?.error }));
      for (const token of row.limited) {
        const res = await call(token, row.method, row.path(id), row.body?.(id));
        expect(refusal(res), token).toEqual(row.refused);
        expect(JSON.stringify(res.body)).not.toContain('s3cret');
        // Exactly the answer for an id that does not exist.
        const unknownId = randomUUID();
        const unknown = await call(token, row.method, row.path(unknownId), row.body?.(unknownId));
        expect(refusal(unknown), `${token} on an unknown id`).toEqual(row.refused);
      }
      expect(await written(id)).toEqual(before);

      const ok = await call(row.allowed, row.method, row.path(id), row.body?.(id));
      expect(ok.status).toBe(row.ok);
      if (row.refusal) expect(ok.body.results[0].ok).toBe(true);
    });
  });

  describe.each(COMMAND_ROUTES)('$route', (row) => {
    it('answers 403 to an admin limited to another command, writing nothing; an unlimited admin may', async () => {
      const command = uniqueName('OTHER');
      const id = await taskIn('dlq', command);
      const before = await written(id);
      const res = await call('admin-only', row.method, row.path(command), row.body);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 403,
        body: { error: 'event type not allowed' },
      });
      expect(await written(id)).toEqual(before);
      expect(await engine.queueControlHistory(command)).toEqual([]);
      expect((await call('admin-all', row.method, row.path(command), row.body)).status).toBe(200);
      expect((await call('admin-only', row.method, row.path(ALLOWED), row.body)).status).toBe(200);
    });
  });

  describe.each(GLOBAL_ROUTES)('$route', (row) => {
    it('answers 403 to an admin limited to some commands; an unlimited admin may', async () => {
      const res = await call('admin-only', row.method, row.path(''), row.body);
      expect(res.status).toBe(403);
      expect(res.body.error).toMatch(/every event type/);
      expect((await call('admin-all', row.method, row.path(''), row.body)).status).toBe(200);
    });
  });

  it('GET /admin/queues lists only the commands a limited admin may use', async () => {
    const other = uniqueName('OTHER');
    await taskIn('pending', other);
    await call('producer-all', 'POST', '/tasks', { command: ALLOWED, payload: 1 });
    const limited = (await call('admin-only', 'GET', '/admin/queues')).body as { command: string }[];
    expect(limited.map((q) => q.command)).toEqual([ALLOWED]);
    const all = (await call('admin-all', 'GET', '/admin/queues')).body as { command: string }[];
    expect(all.map((q) => q.command)).toContain(other);
  });

  it("requeue of one command's DLQ leaves the given ids of another command alone", async () => {
    const id = await taskIn('dlq');
    const res = await call('admin-all', 'POST', `/admin/dlq/${ALLOWED}/requeue`, { taskIds: [id] });
    expect(res.body).toEqual({ requeued: 0 });
    expect((await engine.getTask(id)).state).toBe('deadLettered');
  });

  it('a limited producer acting as a worker (allowProducerAsWorker) keeps its eventTypes', async () => {
    const config = loadConfig({
      env: { TOKENS: JSON.stringify(TOKENS), ALLOW_PRODUCER_AS_WORKER: 'true', LOG_LEVEL: 'silent' },
    });
    const lenient = buildServer({
      engine,
      config,
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
    });
    try {
      const id = await taskIn('pending');
      const command = (await engine.getTask(id)).command;
      const res = await lenient.inject({
        method: 'POST',
        url: '/v1/codeq/tasks/claim',
        headers: { authorization: 'Bearer producer-only', 'content-type': 'application/json' },
        payload: JSON.stringify({ commands: [command] }),
      });
      expect({ status: res.statusCode, body: res.json() }).toEqual({
        status: 403,
        body: { error: 'event type not allowed' },
      });
      expect((await engine.getTask(id)).status).toBe('PENDING');
    } finally {
      await lenient.close();
    }
  });
});
