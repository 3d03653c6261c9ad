/**
 * The dashboard's read-only `viewer` role and the cross-origin refusal, over real HTTP (real NATS and
 * Redis). Every mutating route of the OpenAPI document is called by a viewer and answers 403
 * `forbidden. Viewer role is read-only` with the log, the queue controls and the schedules
 * unchanged; the admin reads answer a viewer as they answer an admin. A mutating request from
 * another origin is refused before anything runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { startTestApi, type TestApi } from '../support/api-server.js';
import { callApi } from '../support/http.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [
  { token: 'vw-producer', role: 'producer', subject: 'vw-producer' },
  { token: 'vw-worker', role: 'worker', subject: 'vw-worker' },
  { token: 'vw-admin', role: 'admin', subject: 'vw-admin' },
  { token: 'vw-viewer', role: 'viewer', subject: 'vw-viewer' },
];
const READ_ONLY = { error: 'forbidden. Viewer role is read-only' };

describe('viewer role', () => {
  let api: TestApi;
  let engine: Engine;
  let taskId: string;
  const command = uniqueName('VIEW');

  /** Where the log ends (the test deployment's log holds only this file's events). */
  const logEnd = async () => (await engine.readEvents({ fromSeq: 1, limit: 10_000 })).nextSeq;

  beforeAll(async () => {
    api = await startTestApi(TOKENS);
    engine = api.engine;
    const created = await callApi(api.base, '/tasks', 'vw-producer', { command, payload: { a: 1 } });
    expect(created.status).toBe(202);
    taskId = created.body.id;
  });
  afterAll(() => api?.close());

  /** Every route of the OpenAPI document as [method, path with parameters filled in]. */
  async function routes(): Promise<[string, string][]> {
    const doc = (await callApi(api.root, '/openapi.json', 'vw-admin')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const out: [string, string][] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      const filled = path
        .replace('{id}', taskId)
        .replace('{command}', command)
        .replace('{name}', 'nightly')
        .replace('{kind}', 'cpu');
      for (const method of Object.keys(methods)) out.push([method.toUpperCase(), filled]);
    }
    return out;
  }

  it('every mutating route answers a viewer 403 read-only and writes nothing', async () => {
    const all = await routes();
    const writes = all.filter(([method]) => method !== 'GET' && method !== 'HEAD');
    // The table is the document: a route added later is covered without touching this test.
    expect(writes.length).toBeGreaterThan(20);
    const before = await logEnd();
    for (const [method, path] of writes) {
      const res = await callApi(api.root, path, 'vw-viewer', {}, method);
      expect({ method, path, status: res.status, body: res.body }).toEqual({
        method,
        path,
        status: 403,
        body: READ_ONLY,
      });
    }
    expect(await logEnd()).toBe(before);
    expect(await engine.queueControlHistory(command)).toEqual([]);
    expect((await callApi(api.base, '/admin/schedules', 'vw-admin')).body.schedules).toEqual([]);
    const task = await callApi(api.base, `/tasks/${taskId}`, 'vw-admin');
    expect(task.body.status).toBe('PENDING');
  });

  it('a viewer reads what an admin reads (admin listings, task, history), not a profile capture', async () => {
    const reads = [
      '/admin/queues',
      `/admin/queues/${command}`,
      `/admin/queues/${command}/controls`,
      `/admin/dlq/${command}`,
      `/admin/tasks?command=${command}&status=ready`,
      '/admin/schedules',
      '/admin/events?limit=5',
      `/tasks/${taskId}`,
      `/tasks/${taskId}/history`,
    ];
    for (const path of reads) {
      const asAdmin = await callApi(api.base, path, 'vw-admin');
      const asViewer = await callApi(api.base, path, 'vw-viewer');
      expect({ path, status: asViewer.status }).toEqual({ path, status: 200 });
      // Ages move between the two calls.
      const still = (body: unknown) => JSON.stringify(body).replace(/"oldestReadyAgeMs":\d+/g, '');
      expect(still(asViewer.body)).toBe(still(asAdmin.body));
    }
    // Without webhooks the subscription listing answers 503 to anyone it lets in (not 401/403).
    expect((await callApi(api.base, '/workers/subscriptions', 'vw-viewer')).status).toBe(503);
    expect(await callApi(api.base, '/admin/profile/cpu?seconds=1', 'vw-viewer')).toMatchObject({
      status: 403,
      body: READ_ONLY,
    });
    // Non-admin, non-viewer callers still get codeQ's admin refusal.
    for (const token of ['vw-producer', 'vw-worker']) {
      expect(await callApi(api.base, '/admin/queues', token)).toMatchObject({
        status: 401,
        body: { error: 'unauthorized. Admin only' },
      });
    }
  });

  it('GET /ui/api/session names the caller, its role and whether it may act', async () => {
    const version = '0.1.0';
    expect((await callApi(api.root, '/ui/api/session', 'vw-viewer')).body).toEqual({
      subject: 'vw-viewer',
      role: 'viewer',
      canAct: false,
      version,
    });
    expect((await callApi(api.root, '/ui/api/session', 'vw-admin')).body).toEqual({
      subject: 'vw-admin',
      role: 'admin',
      canAct: true,
      version,
    });
    const bad = await callApi(api.root, '/ui/api/session', 'wrong-token');
    expect(bad).toMatchObject({ status: 401, body: { error: 'invalid token' } });
  });

  it('a mutating request from another origin is refused before it runs; same origin passes', async () => {
    const send = (origin: string | undefined, host?: string) =>
      fetch(`${api.base}/admin/queues/${command}/pause`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer vw-admin',
          'content-type': 'application/json',
          ...(origin === undefined ? {} : { origin }),
          ...(host === undefined ? {} : { 'x-forwarded-host': host }),
        },
        body: '{}',
      });
    for (const origin of ['https://evil.example', 'null', `${api.root}.evil.example`]) {
      const res = await send(origin);
      expect({ origin, status: res.status, body: await res.json() }).toEqual({
        origin,
        status: 403,
        body: { error: 'cross-origin request refused' },
      });
    }
    expect(await engine.queueControlHistory(command)).toEqual([]);
    // Reads are not checked (a cross-site read cannot see the answer without CORS).
    const read = await fetch(`${api.base}/admin/queues`, {
      headers: { authorization: 'Bearer vw-admin', origin: 'https://evil.example' },
    });
    expect(read.status).toBe(200);
    // The dashboard's own origin, directly or through a proxy that names the public host.
    expect((await send(api.root)).status).toBe(200);
    expect((await send('https://queue.example.com', 'queue.example.com')).status).toBe(200);
    expect(await engine.queueControlHistory(command)).toHaveLength(1);
  });
});
