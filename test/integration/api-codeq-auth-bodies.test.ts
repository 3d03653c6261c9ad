/**
 * codeQ's own clients against codeq (issue 14), 0 as the default (item 3), dev mode's X-Role (item
 * 5), codeQ's auth words (item 6) and lenient bodies (item 7): every request below is what a client
 * of the public repository `osvaldoandrade/codeq` sends, and every expectation what that client
 * parses, cited by path (`sdks/*` were read at the commit before their removal; the CLI and
 * test/local_flow.py at the seed commit 32f8a66; loadtest/k6 at the newest commit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import type { Engine } from '../../src/engine/engine.js';
import { A, P, W, call, startClientsHarness, type ClientsHarness } from '../support/codeq-clients.js';
import { uniqueName } from '../support/servers.js';

let harness: ClientsHarness;
let engine: Engine;
let app: CodeqServer;
const server = (env: Record<string, string>) => harness.server(env);

beforeAll(async () => {
  harness = await startClientsHarness();
  ({ engine, app } = harness);
});
afterAll(() => harness.close());

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
