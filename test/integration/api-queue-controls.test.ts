/**
 * Queue controls over real HTTP (real NATS and Redis): pause and resume (claims answer 204 while
 * paused, a waiting long-poll gets the task after resume), limits as a merge patch, one queue in
 * detail (paused, limits, group figures), the control history with the admin as actor, refusals
 * of non-admins and of admins limited to other commands, and bad bodies refused with nothing
 * written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { startTestApi, type TestApi } from '../support/api-server.js';
import { sleep } from '../support/assertions.js';
import { callApi } from '../support/http.js';
import { uniqueName } from '../support/servers.js';

const ALLOWED = uniqueName('CTL_ONLY');
const TOKENS = [
  { token: 'qc-producer', role: 'producer', subject: 'qc-producer' },
  { token: 'qc-worker', role: 'worker', subject: 'qc-worker', eventTypes: ['*'] },
  { token: 'qc-admin', role: 'admin', subject: 'alice' },
  { token: 'qc-admin-limited', role: 'admin', subject: 'bob', eventTypes: [ALLOWED] },
];

describe('queue controls over HTTP', () => {
  let api: TestApi;
  let engine: Engine;
  let base: string;

  const call = (token: string, method: string, path: string, body?: unknown) =>
    callApi(base, path, token, body, method);
  const admin = (method: string, path: string, body?: unknown) => call('qc-admin', method, path, body);
  const enqueue = async (command: string, extra: Record<string, unknown> = {}) => {
    const res = await call('qc-producer', 'POST', '/tasks', { command, payload: {}, ...extra });
    expect(res.status).toBe(202);
    return res.body as { id: string };
  };
  const claim = (command: string, waitSeconds = 0) =>
    call('qc-worker', 'POST', '/tasks/claim', { commands: [command], waitSeconds });

  beforeAll(async () => {
    api = await startTestApi(TOKENS);
    ({ engine, base } = api);
  });
  afterAll(() => api?.close());

  it('pause: enqueues accepted, claims 204, a waiting long-poll gets the task after resume', async () => {
    const command = uniqueName('PAUSE');
    const paused = await admin('POST', `/admin/queues/${command}/pause`, { reason: 'deploy' });
    expect(paused).toMatchObject({ status: 200 });
    expect(paused.body).toEqual({ command, paused: true, limits: {}, changed: true });
    // Pausing a paused queue answers the same and writes nothing.
    expect((await admin('POST', `/admin/queues/${command}/pause`)).body).toEqual({
      command,
      paused: true,
      limits: {},
      changed: false,
    });

    const task = await enqueue(command);
    expect((await claim(command)).status).toBe(204);
    const detail = await admin('GET', `/admin/queues/${command}`);
    expect(detail.body).toMatchObject({ command, ready: 1, paused: true, limits: {} });
    expect((await admin('GET', '/admin/queues')).body).toContainEqual(
      expect.objectContaining({ command, paused: true }),
    );

    const waiting = claim(command, 10);
    await sleep(300);
    const resumed = await admin('POST', `/admin/queues/${command}/resume`);
    expect(resumed.body).toEqual({ command, paused: false, limits: {}, changed: true });
    const got = await waiting;
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(task.id);
    expect((await admin('POST', `/admin/queues/${command}/resume`)).body.changed).toBe(false);

    const history = await admin('GET', `/admin/queues/${command}/controls`);
    expect(history.status).toBe(200);
    expect(
      history.body.events.map((e: { type: string; actor: string; data: unknown }) => [
        e.type,
        e.actor,
        e.data,
      ]),
    ).toEqual([
      ['queuePaused', 'admin:alice', { reason: 'deploy' }],
      ['queueResumed', 'admin:alice', {}],
    ]);
    const [first] = history.body.events;
    expect(first).toMatchObject({ command, settings: { paused: true } });
    expect(Number.isNaN(Date.parse(first.time))).toBe(false);
    const newest = await admin('GET', `/admin/queues/${command}/controls?limit=1`);
    expect(newest.body.events.map((e: { type: string }) => e.type)).toEqual(['queueResumed']);
  });

  it('limits as a merge patch: a field sets, null removes, an absent field stays', async () => {
    const command = uniqueName('LIMITS');
    const set = await admin('PATCH', `/admin/queues/${command}/limits`, {
      concurrency: 1,
      groupRate: { limit: 5, intervalMs: 1000 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      command,
      paused: false,
      limits: { concurrency: 1, groupRate: { limit: 5, intervalMs: 1000 } },
      changed: true,
    });
    const removed = await admin('PATCH', `/admin/queues/${command}/limits`, {
      groupRate: null,
      groupConcurrency: 2,
    });
    expect(removed.body.limits).toEqual({ concurrency: 1, groupConcurrency: 2 });
    const same = await admin('PATCH', `/admin/queues/${command}/limits`, { concurrency: 1 });
    expect(same.body).toMatchObject({ changed: false, limits: { concurrency: 1, groupConcurrency: 2 } });

    // The limit is enforced: one leased at a time.
    await enqueue(command, { groupKey: 'tenant-a' });
    await enqueue(command, { groupKey: 'tenant-a' });
    await enqueue(command, { groupKey: 'tenant-b' });
    expect((await claim(command)).status).toBe(200);
    expect((await claim(command)).status).toBe(204);

    const detail = await admin('GET', `/admin/queues/${command}`);
    expect(detail.body).toMatchObject({
      command,
      ready: 2,
      inProgress: 1,
      paused: false,
      limits: { concurrency: 1, groupConcurrency: 2 },
      groupedReady: 2,
      groups: 2,
    });
    expect(detail.body.oldestReadyAgeMs).toBeGreaterThanOrEqual(0);
    expect(detail.body.topGroups).toHaveLength(2);
    const history = await admin('GET', `/admin/queues/${command}/controls`);
    expect(history.body.events.map((e: { data: unknown }) => e.data)).toEqual([
      { patch: { concurrency: 1, groupRate: { limit: 5, intervalMs: 1000 } } },
      { patch: { groupRate: null, groupConcurrency: 2 } },
    ]);
  });

  it.each([
    [
      'PATCH',
      'limits',
      {},
      'invalid body: give at least one of concurrency, groupConcurrency, rate, groupRate',
    ],
    ['PATCH', 'limits', { concurrency: 0 }, "invalid body: 'concurrency' must be >= 1"],
    ['PATCH', 'limits', { concurrency: 'two' }, "invalid body: 'concurrency' must be integer"],
    ['PATCH', 'limits', { rate: { limit: 1 } }, "invalid body: 'rate.intervalMs' is required"],
    [
      'PATCH',
      'limits',
      { rate: { limit: 1, intervalMs: 1 } },
      "invalid body: 'rate.intervalMs' must be >= 10",
    ],
    ['PATCH', 'limits', { concurrency: 2, colour: 'red' }, "invalid body: unknown field 'colour'"],
    ['PATCH', 'limits', [], 'invalid body: expected a JSON object'],
    [
      'POST',
      'pause',
      { reason: 'x'.repeat(5000) },
      "invalid body: 'reason' must not have more than 4096 characters",
    ],
    ['POST', 'pause', { why: 'x' }, "invalid body: unknown field 'why'"],
  ])('%s %s with %#: 400, nothing written', async (method, route, body, message) => {
    const command = uniqueName('BAD');
    const res = await admin(method, `/admin/queues/${command}/${route}`, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(message);
    expect(await engine.queueControlHistory(command)).toEqual([]);
    expect((await admin('GET', `/admin/queues/${command}`)).body).toMatchObject({
      paused: false,
      limits: {},
    });
  });

  it('refuses a bad command, a bad history limit and non-admins; writes nothing', async () => {
    expect((await admin('POST', '/admin/queues/bad.name/pause')).body).toEqual({ error: 'invalid command' });
    expect((await admin('GET', '/admin/queues/bad.name')).body).toEqual({ error: 'invalid command' });
    const command = uniqueName('AUTH');
    expect((await admin('GET', `/admin/queues/${command}/controls?limit=0`)).status).toBe(400);
    expect((await admin('GET', `/admin/queues/${command}/controls?limit=1001`)).status).toBe(400);
    for (const token of ['qc-producer', 'qc-worker']) {
      expect((await call(token, 'POST', `/admin/queues/${command}/pause`)).status).toBe(403);
      expect((await call(token, 'PATCH', `/admin/queues/${command}/limits`, { concurrency: 1 })).status).toBe(
        403,
      );
      expect((await call(token, 'GET', `/admin/queues/${command}/controls`)).status).toBe(403);
    }
    expect((await call('nobody', 'POST', `/admin/queues/${command}/pause`)).status).toBe(401);
    expect(await engine.queueControlHistory(command)).toEqual([]);
  });

  it('an admin limited to some commands controls only those', async () => {
    const other = uniqueName('OTHER');
    for (const [method, path, body] of [
      ['POST', `/admin/queues/${other}/pause`, undefined],
      ['POST', `/admin/queues/${other}/resume`, undefined],
      ['PATCH', `/admin/queues/${other}/limits`, { concurrency: 1 }],
      ['GET', `/admin/queues/${other}/controls`, undefined],
      ['GET', `/admin/queues/${other}`, undefined],
    ] as const) {
      const res = await call('qc-admin-limited', method, path, body);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 403,
        body: { error: 'event type not allowed' },
      });
    }
    expect(await engine.queueControlHistory(other)).toEqual([]);
    const own = await call('qc-admin-limited', 'POST', `/admin/queues/${ALLOWED}/pause`);
    expect(own.body).toMatchObject({ command: ALLOWED, paused: true, changed: true });
    const [event] = await engine.queueControlHistory(ALLOWED);
    expect(event?.actor).toBe('admin:bob');
  });

  it('documents every route in the OpenAPI document', async () => {
    const res = await fetch(`${api.root}/openapi.json`);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/codeq/admin/queues/{command}/pause'] ?? {})).toContain('post');
    expect(Object.keys(doc.paths['/v1/codeq/admin/queues/{command}/resume'] ?? {})).toContain('post');
    expect(Object.keys(doc.paths['/v1/codeq/admin/queues/{command}/limits'] ?? {})).toContain('patch');
    expect(Object.keys(doc.paths['/v1/codeq/admin/queues/{command}/controls'] ?? {})).toContain('get');
    const detail = doc.paths['/v1/codeq/admin/queues/{command}']?.get as {
      responses: Record<string, { content: Record<string, { schema: { properties: object } }> }>;
    };
    expect(Object.keys(detail.responses['200']!.content['application/json']!.schema.properties)).toEqual(
      expect.arrayContaining(['paused', 'limits', 'oldestReadyAgeMs', 'groups', 'topGroups']),
    );
  });
});
