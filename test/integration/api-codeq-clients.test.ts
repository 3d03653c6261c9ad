/**
 * codeQ's own clients against codeq (issue 14, items 1, 3, 4, 5, 6, 7): every request below is what
 * a client of the public repository `osvaldoandrade/codeq` sends, and every expectation what that
 * client parses, cited by path (`sdks/*` were read at the commit before their removal; the CLI and
 * test/local_flow.py at the seed commit 32f8a66; loadtest/k6 at the newest commit).
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createTestEngine } from '../support/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [
  { token: 'producer-token', role: 'producer', subject: 'producer-1' },
  { token: 'worker-token', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
  { token: 'admin-token', role: 'admin', subject: 'admin-1' },
];
const P = { authorization: 'Bearer producer-token' };
const W = { authorization: 'Bearer worker-token' };
const A = { authorization: 'Bearer admin-token' };
const ENV = {
  TOKENS: JSON.stringify(TOKENS),
  BACKOFF_POLICY: 'fixed',
  BACKOFF_BASE_SECONDS: '7',
  BACKOFF_MAX_SECONDS: '60',
  DEFAULT_LEASE_SECONDS: '120',
};

/**
 * The fields of codeQ's Java SDK Task (sdks/java/core/src/main/java/io/codeq/sdk/Task.java): its
 * default Jackson `ObjectMapper` (CodeQClient.java) fails on any other.
 */
const JAVA_TASK_FIELDS = [
  'id',
  'command',
  'payload',
  'priority',
  'webhook',
  'status',
  'workerId',
  'leaseUntil',
  'attempts',
  'maxAttempts',
  'error',
  'resultKey',
  'createdAt',
  'updatedAt',
];

let engine: Engine;
const servers: CodeqServer[] = [];

function server(env: Record<string, string> = {}): CodeqServer {
  const config = loadConfig({ env: { ...ENV, ...env } });
  const app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
  servers.push(app);
  return app;
}

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, unknown>;
}

async function call(
  app: CodeqServer,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string>,
  body?: unknown,
  remoteAddress?: string,
): Promise<Answer> {
  const res = await app.inject({
    method,
    url: `/v1/codeq${url}`,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

let app: CodeqServer;

let closeEngine: () => Promise<void>;

beforeAll(async () => {
  ({ engine, close: closeEngine } = await createTestEngine({
    settings: toEngineSettings(loadConfig({ env: ENV })),
  }));
  app = server();
  await app.ready();
});
afterAll(async () => {
  for (const s of servers) await closeServer(s);
  await closeEngine();
});

describe('payload wire format (item 1)', () => {
  it("codeQ's CLI: task create prints the id, the worker decodes its claim and acks", async () => {
    const command = uniqueName('CLI');
    // cmd/codeq/main.go `task create`: {"command","payload":<decoded --payload>,"priority":0}, then
    // json.Unmarshal into taskResp{ID, Command, Payload string, Status}.
    const created = await call(app, 'POST', '/tasks', P, { command, payload: { jobId: 500 }, priority: 0 });
    expect(created.status).toBe(202);
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof created.body.payload).toBe('string');
    expect(JSON.parse(created.body.payload)).toEqual({ jobId: 500 });

    // workerLoop: {"commands","leaseSeconds":60,"waitSeconds":10}, decoded as taskResp, then
    // --ack complete posts {"status":"COMPLETED","result":{"handledBy":"codeq","ts":...}}.
    const claimed = await call(app, 'POST', '/tasks/claim', W, {
      commands: [command],
      leaseSeconds: 60,
      waitSeconds: 10,
    });
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ id: created.body.id, command, status: 'IN_PROGRESS' });
    expect(typeof claimed.body.payload).toBe('string');
    const ack = await call(app, 'POST', `/tasks/${claimed.body.id}/result`, W, {
      status: 'COMPLETED',
      result: { handledBy: 'codeq', ts: new Date().toISOString() },
    });
    expect(ack.status).toBe(200);
  });

  it("k6 06_delayed_tasks: JSON.parse(task.payload) of a claimed task gives the producer's object", async () => {
    const command = uniqueName('K6');
    // loadtest/k6/lib/codeq.js createTask / claimTask.
    const payload = { source: 'k6', scenario: 'delayed_tasks', delayed: false, vu: 1, iter: 0 };
    expect((await call(app, 'POST', '/tasks', P, { command, payload, priority: 0 })).status).toBe(202);
    const task = (await call(app, 'POST', '/tasks/claim', W, { commands: [command], waitSeconds: 1 })).body;
    expect(JSON.parse(task.payload)).toEqual(payload);
  });

  it('accepts a string payload as well as an object, and answers its JSON text as codeQ does', async () => {
    const command = uniqueName('STR');
    // codeQ's create controller stores json.Marshal(req.Payload): a string payload is JSON text too.
    const asString = await call(app, 'POST', '/tasks', P, { command, payload: '{"jobId":"j-1"}' });
    expect(asString.status).toBe(202);
    expect(asString.body.payload).toBe('"{\\"jobId\\":\\"j-1\\"}"');
    const full = await call(app, 'GET', `/tasks/${asString.body.id}?view=full`, P);
    expect(full.body.payload).toBe('{"jobId":"j-1"}');
  });

  it('writes every task answer through the one serializer: string by default, the value with ?view=full', async () => {
    const command = uniqueName('EVERY');
    const payload = { jobId: 'j-1', n: [1, 2] };
    const text = JSON.stringify(payload);
    const first = await call(app, 'POST', '/tasks', P, { command, payload });
    const batch = await call(app, 'POST', '/tasks/batch', P, { tasks: [{ command, payload }] });
    const toCancel = await call(app, 'POST', '/tasks', P, { command, payload, delaySeconds: 3600 });
    const answers: Array<[string, (view: string) => Promise<unknown>]> = [
      ['create', async (v) => (await call(app, 'POST', `/tasks${v}`, P, { command, payload })).body],
      [
        'batch',
        async (v) =>
          (await call(app, 'POST', `/tasks/batch${v}`, P, { tasks: [{ command, payload }] })).body.tasks[0],
      ],
      ['get', async (v) => (await call(app, 'GET', `/tasks/${first.body.id}${v}`, P)).body],
      [
        'admin list',
        async (v) =>
          (await call(app, 'GET', `/admin/tasks?command=${command}&status=ready${v.replace('?', '&')}`, A))
            .body.tasks[0],
      ],
    ];
    expect(batch.body.tasks[0].payload).toBe(text);
    for (const [route, read] of answers) {
      expect([route, ((await read('')) as { payload: unknown }).payload]).toEqual([route, text]);
      expect([route, ((await read('?view=full')) as { payload: unknown }).payload]).toEqual([route, payload]);
    }
    // Claim (single and counted), result, cancel and the DLQ listing.
    const one = await call(app, 'POST', '/tasks/claim', W, { commands: [command] });
    expect(one.body.payload).toBe(text);
    const many = await call(app, 'POST', '/tasks/claim?view=full', W, { commands: [command], count: 2 });
    expect(many.body.tasks.map((t: { payload: unknown }) => t.payload)).toEqual([payload, payload]);
    await call(app, 'POST', `/tasks/${one.body.id}/result`, W, { status: 'COMPLETED', result: { ok: true } });
    const result = await call(app, 'GET', `/tasks/${one.body.id}/result`, P);
    expect(result.body.task.payload).toBe(text);
    const cancelled = await call(app, 'POST', `/tasks/${toCancel.body.id}/cancel`, P, {});
    expect(cancelled.body.payload).toBe(text);
    // The DLQ listing: a task of its own command dead-lettered at its only attempt.
    const dead = uniqueName('DEAD');
    await call(app, 'POST', '/tasks', P, { command: dead, payload, maxAttempts: 1 });
    const doomed = await call(app, 'POST', '/tasks/claim', W, { commands: [dead] });
    expect((await call(app, 'POST', `/tasks/${doomed.body.id}/nack`, W, {})).body.status).toBe('dlq');
    expect((await call(app, 'GET', `/admin/dlq/${dead}`, A)).body.tasks[0].payload).toBe(text);
    expect((await call(app, 'GET', `/admin/dlq/${dead}?view=full`, A)).body.tasks[0].payload).toEqual(
      payload,
    );
  });

  it('payloadFormat: object answers the value (what the Java SDK maps to a Map)', async () => {
    const objects = server({ PAYLOAD_FORMAT: 'object' });
    const command = uniqueName('OBJ');
    const created = await call(objects, 'POST', '/tasks', P, {
      command,
      payload: { jobId: '123' },
      priority: 5,
    });
    expect(created.body.payload).toEqual({ jobId: '123' });
    const claimed = await call(objects, 'POST', '/tasks/claim', W, {
      commands: [command],
      leaseSeconds: 120,
      waitSeconds: 10,
    });
    expect(claimed.body.payload).toEqual({ jobId: '123' });
  });
});

describe("codeQ's exact Task shape (item 4)", () => {
  it("answers only the Java SDK Task's fields unless ?view=full asks for codeq's", async () => {
    const command = uniqueName('JAVA');
    // CodeQClient.createTask: {"command","payload","priority"} plus idempotencyKey and delaySeconds.
    const created = await call(app, 'POST', '/tasks', P, {
      command,
      payload: { jobId: '123' },
      priority: 5,
      delaySeconds: 0,
      idempotencyKey: randomUUID(),
    });
    const claimed = await call(app, 'POST', '/tasks/claim', W, {
      commands: [command],
      leaseSeconds: 120,
      waitSeconds: 10,
    });
    const got = await call(app, 'GET', `/tasks/${created.body.id}`, P);
    for (const task of [created.body, claimed.body, got.body]) {
      expect(Object.keys(task).filter((k) => !JAVA_TASK_FIELDS.includes(k))).toEqual([]);
      // TaskStatus enum of Task.java.
      expect(['PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED']).toContain(task.status);
    }
    const full = await call(app, 'GET', `/tasks/${created.body.id}?view=full`, P);
    expect(full.body).toMatchObject({ state: 'inProgress', idempotencyKey: expect.any(String) });
  });
});

describe('zero means the default (item 3)', () => {
  it("Java's claimTask(commands, 0, 0), heartbeat(id, 0) and nack(id, 0, reason) use the defaults", async () => {
    const command = uniqueName('ZERO');
    await call(app, 'POST', '/tasks', P, { command, payload: {}, priority: 0 });
    // CodeQClient.claimTask sends leaseSeconds and waitSeconds always, 0 included.
    const before = Date.now();
    const claimed = await call(app, 'POST', '/tasks/claim', W, {
      commands: [command],
      leaseSeconds: 0,
      waitSeconds: 0,
    });
    expect(claimed.status).toBe(200);
    const lease = Date.parse(claimed.body.leaseUntil) - before;
    // defaultLeaseSeconds is 120 here (codeQ's scheduler: leaseSeconds <= 0 → s.defaultLease).
    expect(lease).toBeGreaterThan(110_000);
    expect(lease).toBeLessThan(130_000);
    // CodeQClient.heartbeat: {"extendSeconds":0}.
    const hb = await call(app, 'POST', `/tasks/${claimed.body.id}/heartbeat`, W, { extendSeconds: 0 });
    expect(hb.status).toBe(200);
    expect(Date.parse(hb.body.leaseUntil) - Date.now()).toBeGreaterThan(110_000);
    // CodeQClient.nack: {"delaySeconds":0,"reason":...}; codeQ computes the backoff (fixed 7 s here).
    const nack = await call(app, 'POST', `/tasks/${claimed.body.id}/nack`, W, {
      delaySeconds: 0,
      reason: 'x',
    });
    expect(nack.body).toEqual({ status: 'requeued', delaySeconds: 7 });
    expect((await engine.queueStats(command)).delayed).toBe(1);
  });

  it("the Python SDK's cleanup_expired(limit=0) deletes up to the default 1000", async () => {
    // sdks/python/src/codeq/client.py cleanup_expired posts the options, 0 included.
    const res = await call(app, 'POST', '/admin/tasks/cleanup', A, {
      limit: 0,
      before: '2000-01-01T00:00:00Z',
    });
    expect(res).toMatchObject({ status: 200, body: { deleted: 0, limit: 1000 } });
  });

  it('the engine reads 0 the same way (one rule, src/contract/limits.ts zeroAsDefault)', async () => {
    const command = uniqueName('ZERO_ENGINE');
    const task = await engine.enqueue({ command, payload: {} });
    const [claimed] = await engine.claim({ workerId: 'w', commands: [command], leaseSeconds: 0 });
    expect(claimed!.leaseUntil! - Date.now()).toBeGreaterThan(110_000);
    expect(await engine.nack({ taskId: task.id, workerId: 'w', delaySeconds: 0 })).toEqual({
      status: 'requeued',
      delaySeconds: 7,
    });
  });
});

describe("dev mode's X-Role: ADMIN (item 5)", () => {
  // cmd/codeq/main.go: `queue inspect` sends the producer token and, for a localhost base URL,
  // `X-Role: ADMIN`; codeQ's setProducerContext honours it in env dev when the token has no role.
  const inspect = (s: CodeqServer, command: string, remoteAddress?: string) =>
    call(s, 'GET', `/admin/queues/${command}`, { ...P, 'x-role': 'ADMIN' }, undefined, remoteAddress);

  it('lets the CLI inspect a queue from loopback in dev mode, and nowhere else', async () => {
    const dev = server({ DEV_MODE: 'true' });
    const command = uniqueName('INSPECT');
    expect(await inspect(dev, command)).toMatchObject({
      status: 200,
      body: { command, ready: 0, delayed: 0, inProgress: 0, dlq: 0 },
    });
    expect(await inspect(dev, command, '::1')).toMatchObject({ status: 200 });
    const refused = { status: 401, body: { error: 'unauthorized. Admin only' } };
    expect(await inspect(dev, command, '10.1.2.3')).toMatchObject(refused);
    expect(await inspect(app, command)).toMatchObject(refused);
    expect(await call(dev, 'GET', `/admin/queues/${command}`, P)).toMatchObject(refused);
  });
});

describe("codeQ's error words (item 6)", () => {
  it('answers the auth failures with the strings of internal/middleware', async () => {
    const cases: Array<[Record<string, string>, string, number, string]> = [
      [{}, '/tasks/claim', 401, 'missing Authorization header'],
      [{ authorization: 'worker-token' }, '/tasks/claim', 401, 'invalid Authorization format'],
      [{ authorization: 'Bearer nope' }, '/tasks/claim', 401, 'invalid token'],
      [P, '/admin/tasks/cleanup', 401, 'unauthorized. Admin only'],
    ];
    for (const [headers, url, status, error] of cases) {
      expect(await call(app, 'POST', url, headers, {})).toMatchObject({ status, body: { error } });
    }
  });
});

describe('lenient bodies on codeQ routes (item 7)', () => {
  it("ignores the Python SDK's tenantId and names it in X-Codeq-Unknown-Fields", async () => {
    const command = uniqueName('TENANT');
    // sdks/python/src/codeq/types.py CreateTaskOptions.tenant_id → "tenantId" when set.
    const res = await call(app, 'POST', '/tasks', P, {
      command,
      payload: { a: 1 },
      priority: 0,
      tenantId: 't-1',
    });
    expect(res.status).toBe(202);
    expect(res.headers['x-codeq-unknown-fields']).toBe('tenantId');
    expect(res.body).not.toHaveProperty('tenantId');
  });

  it('treats null as absent (Gin leaves a null field at its zero value)', async () => {
    const command = uniqueName('NULLS');
    const res = await call(app, 'POST', '/tasks', P, {
      command,
      payload: null,
      webhook: null,
      runAt: null,
      idempotencyKey: null,
      priority: null,
    });
    expect(res.status).toBe(202);
    expect(res.headers['x-codeq-unknown-fields']).toBeUndefined();
    // A field of any JSON keeps its null: it is the value there.
    expect(res.body).toMatchObject({ payload: 'null', priority: 0 });
    expect(res.body).not.toHaveProperty('webhook');
    const claimed = await call(app, 'POST', '/tasks/claim', W, { commands: [command], leaseSeconds: null });
    expect(claimed.status).toBe(200);
    const nack = await call(app, 'POST', `/tasks/${claimed.body.id}/nack`, W, {
      delaySeconds: null,
      reason: null,
      extra: 1,
    });
    expect(nack).toMatchObject({ status: 200, body: { status: 'requeued', delaySeconds: 7 } });
    expect(nack.headers['x-codeq-unknown-fields']).toBe('extra');
  });

  it('still refuses a body that is not an object and a known field of the wrong type', async () => {
    const command = uniqueName('BAD');
    expect(await call(app, 'POST', '/tasks', P, '[1,2]')).toMatchObject({
      status: 400,
      body: { error: 'invalid body: expected a JSON object' },
    });
    expect(
      await call(app, 'POST', '/tasks', P, { command, payload: 1, priority: '5', tenantId: 't' }),
    ).toMatchObject({
      status: 400,
      body: { error: "invalid body: 'priority' must be integer" },
    });
    expect((await engine.queueStats(command)).ready).toBe(0);
  });

  it("keeps codeq's own routes strict (no codeQ client calls them)", async () => {
    const command = uniqueName('STRICT');
    const t = await call(app, 'POST', '/tasks', P, { command, payload: {} });
    expect(
      await call(app, 'POST', `/tasks/${t.body.id}/cancel`, P, { reason: 'x', colour: 'red' }),
    ).toMatchObject({
      status: 400,
      body: { error: "invalid body: unknown field 'colour'" },
    });
  });
});
