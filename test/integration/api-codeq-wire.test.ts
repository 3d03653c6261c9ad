/**
 * codeQ's own clients against codeq (issue 14), the payload's wire format (item 1) and codeQ's
 * exact Task shape (item 4): every request below is what a client of the public repository
 * `osvaldoandrade/codeq` sends, and every expectation what that client parses, cited by path
 * (`sdks/*` were read at the commit before their removal; the CLI and test/local_flow.py at the
 * seed commit 32f8a66; loadtest/k6 at the newest commit).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { A, P, W, call, startClientsHarness, type ClientsHarness } from '../support/codeq-clients.js';
import { uniqueName } from '../support/servers.js';

let harness: ClientsHarness;
let app: CodeqServer;
const server = (env: Record<string, string>) => harness.server(env);

beforeAll(async () => {
  harness = await startClientsHarness();
  ({ app } = harness);
});
afterAll(() => harness.close());

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
          (await call(app, 'POST', `/tasks/batch${v}`, P, { tasks: [{ command, payload }] })).body.results[0]
            .task,
      ],
      ['get', async (v) => (await call(app, 'GET', `/tasks/${first.body.id}${v}`, P)).body],
      [
        'admin list',
        async (v) =>
          (await call(app, 'GET', `/admin/tasks?command=${command}&status=ready${v.replace('?', '&')}`, A))
            .body.tasks[0],
      ],
    ];
    expect(batch.body.results[0].task.payload).toBe(text);
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
