/**
 * codeQ's endpoints that its SDKs call (issue 14, item 8), over real HTTP against real engines:
 * requests and expected answers come from codeQ's clients and server in the public repository
 * `osvaldoandrade/codeq`:
 *  - Python SDK (`sdks/python/src/codeq/client.py`, `types.py` at 027d11f^): `batch_create_tasks`
 *    posts `{"tasks":[...]}` to `/v1/codeq/tasks/batch` and reads `data["results"]`, each item
 *    `{"task"}` or `{"error"}`; `batch_claim_tasks` posts `{count, commands?, leaseSeconds?}` to
 *    `/tasks/claim/batch`, 204 means none, else `data["tasks"]`; `batch_submit_results` posts
 *    `{"results":[{taskId, status, result?, error?, artifacts?}]}` to `/tasks/batch/results` and reads
 *    `{taskId, result}` or `{taskId, error}` per item.
 *  - codeQ's server (`internal/controllers/batch_*_controller.go`, `get_result_controller.go` at
 *    HEAD): batch create answers 200 item by item; batch claim caps `count` at 10; the result
 *    long-poll `?waitSeconds=N` (capped at 60) answers 404 at once for an unknown task, 404 at the
 *    deadline without a result, 200 `{task, result}` as soon as the result is there
 *    (`pkg/app/long_poll_e2e_test.go`).
 *  - `pkg/domain/task.go` (HEAD): the Task's `traceParent`/`traceState` (W3C trace context).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { closeServer } from '../../src/api/server.js';
import { Engine } from '../../src/engine/engine.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, engineOptions, testDeployment } from '../support/engine.js';
import { listenTestApi } from '../support/api-server.js';
import { callApi } from '../support/http.js';
import { uniqueName } from '../support/servers.js';

const OTHER = uniqueName('OTHER');
const TOKENS = [
  { token: 'ep-producer', role: 'producer', subject: 'ep-producer' },
  { token: 'ep-narrow-producer', role: 'producer', subject: 'ep-narrow', eventTypes: [OTHER] },
  { token: 'ep-worker', role: 'worker', subject: 'ep-worker', eventTypes: ['*'] },
  { token: 'ep-worker-2', role: 'worker', subject: 'ep-worker-2', eventTypes: ['*'] },
];
const P = 'ep-producer';
const W = 'ep-worker';

let deployment: TestDeployment;
let engine: Engine;
/** A second instance of the same deployment (another server process in production). */
let other: Engine;
let app: CodeqServer;
let base: string;

const api = (path: string, token: string, body?: unknown, method?: string) =>
  callApi(base, `/v1/codeq${path}`, token, body, method);

beforeAll(async () => {
  deployment = testDeployment();
  engine = await Engine.create(engineOptions(deployment));
  other = await Engine.create(engineOptions(deployment));
  ({ app, base } = await listenTestApi(engine, TOKENS));
});

afterAll(async () => {
  await closeServer(app);
  await other.close();
  await engine.close();
  await dropDeployment(deployment);
});

describe('POST /tasks/batch (codeQ: 200, every item answers on its own)', () => {
  it('creates the valid items and names the error of the others, in input order', async () => {
    const cmd = uniqueName('BATCH');
    // The Python SDK's body: {"tasks": [CreateTaskOptions as camelCase, None fields left out]}.
    const res = await api('/tasks/batch', P, {
      tasks: [
        { command: cmd, payload: { jobId: 'j-1' } },
        { command: cmd, payload: { jobId: 'j-2' }, runAt: 'tomorrow' },
        { command: cmd, payload: { jobId: 'j-3' }, priority: 5 },
      ],
    });
    expect(res.status).toBe(200);
    const [first, second, third] = res.body.results;
    expect(first.task).toMatchObject({ command: cmd, status: 'PENDING' });
    expect(first.error).toBeUndefined();
    // codeQ's message for a bad runAt (batch_create_task_controller.go).
    expect(second).toEqual({ error: "invalid 'runAt' (use RFC3339)" });
    expect(third.task).toMatchObject({ command: cmd, priority: 5 });
    // Only the two valid items were written.
    const claimed = await api('/tasks/claim/batch', W, { count: 10, commands: [cmd] });
    expect(claimed.body.tasks.map((t: { id: string }) => t.id).sort()).toEqual(
      [first.task.id, third.task.id].sort(),
    );
  });

  it("keeps codeq's all-or-nothing batch behind allOrNothing=true (codeq's SDK uses it)", async () => {
    const cmd = uniqueName('ATOMIC');
    const bad = await api('/tasks/batch?allOrNothing=true', P, {
      tasks: [
        { command: cmd, payload: 1 },
        { command: cmd, payload: 2, runAt: 'tomorrow' },
      ],
    });
    expect(bad).toMatchObject({ status: 400, body: { error: "tasks[1]: invalid 'runAt' (use RFC3339)" } });
    const good = await api('/tasks/batch?allOrNothing=true', P, { tasks: [{ command: cmd, payload: 1 }] });
    expect(good.status).toBe(202);
    expect(good.body.tasks).toHaveLength(1);
  });

  it("refuses an item outside the producer's event types, alone", async () => {
    const cmd = uniqueName('NOTMINE');
    const res = await api('/tasks/batch', 'ep-narrow-producer', {
      tasks: [
        { command: OTHER, payload: 1 },
        { command: cmd, payload: 2 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results[0].task).toMatchObject({ command: OTHER });
    expect(res.body.results[1]).toEqual({ error: 'event type not allowed' });
  });
});

describe('POST /tasks/claim/batch (codeQ: {count 1..10, commands?, leaseSeconds?})', () => {
  it('answers 200 {"tasks":[...]} with up to count leased tasks, then 204 when none are left', async () => {
    const cmd = uniqueName('CLAIMB');
    for (let i = 0; i < 3; i++) await api('/tasks', P, { command: cmd, payload: { i } });
    // BatchClaimOptions(count=2, commands=[cmd], lease_seconds=60) as the Python SDK sends it.
    const two = await api('/tasks/claim/batch', W, { count: 2, commands: [cmd], leaseSeconds: 60 });
    expect(two.status).toBe(200);
    expect(two.body.tasks).toHaveLength(2);
    for (const t of two.body.tasks) expect(t).toMatchObject({ status: 'IN_PROGRESS', workerId: 'ep-worker' });
    const rest = await api('/tasks/claim/batch', W, { count: 10, commands: [cmd] });
    expect(rest.body.tasks).toHaveLength(1);
    const none = await api('/tasks/claim/batch', W, { count: 10, commands: [cmd] });
    expect(none.status).toBe(204);
  });

  it('refuses a count above 10 or below 1, and a missing count (codeQ: 400)', async () => {
    const cmd = uniqueName('CLAIMC');
    for (const body of [{ count: 11, commands: [cmd] }, { count: 0, commands: [cmd] }, { commands: [cmd] }]) {
      expect((await api('/tasks/claim/batch', W, body)).status).toBe(400);
    }
  });
});

describe('POST /tasks/batch/results (codeQ: {taskId, result} or {taskId, error} per item)', () => {
  it('records each result and names the refused ones', async () => {
    const cmd = uniqueName('RESB');
    await api('/tasks', P, { command: cmd, payload: 1 });
    await api('/tasks', P, { command: cmd, payload: 2 });
    const claimed = await api('/tasks/claim/batch', W, { count: 2, commands: [cmd] });
    const [a, b] = claimed.body.tasks as { id: string }[];
    const unknown = randomUUID();
    const res = await api('/tasks/batch/results', W, {
      results: [
        { taskId: a!.id, status: 'COMPLETED', result: { ok: true } },
        { taskId: b!.id, status: 'FAILED', error: 'boom' },
        { taskId: unknown, status: 'COMPLETED', result: {} },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({
      taskId: a!.id,
      result: { taskId: a!.id, status: 'COMPLETED', result: { ok: true } },
    });
    expect(res.body.results[0].error).toBeUndefined();
    expect(res.body.results[1]).toMatchObject({ taskId: b!.id, result: { status: 'FAILED', error: 'boom' } });
    // codeQ's results_service.go answers an unknown task "task not found".
    expect(res.body.results[2]).toEqual({ taskId: unknown, error: 'task not found' });
    // Another worker's task: codeQ's "not-owner".
    await api('/tasks', P, { command: cmd, payload: 3 });
    const c = (await api('/tasks/claim/batch', W, { count: 1, commands: [cmd] })).body.tasks[0];
    const stolen = await api('/tasks/batch/results', 'ep-worker-2', {
      results: [{ taskId: c.id, status: 'COMPLETED', result: {} }],
    });
    expect(stolen.body.results[0]).toEqual({ taskId: c.id, error: 'not-owner' });
  });
});

describe('GET /tasks/:id/result?waitSeconds=N (codeQ long-poll)', () => {
  it('answers 404 at once for an unknown task, and without waitSeconds while there is no result', async () => {
    expect((await api(`/tasks/${randomUUID()}/result?waitSeconds=60`, P)).status).toBe(404);
    const cmd = uniqueName('LPNONE');
    const task = (await api('/tasks', P, { command: cmd, payload: 1 })).body;
    expect((await api(`/tasks/${task.id}/result`, P)).status).toBe(404);
  });

  it('answers 404 at the deadline when no result came', async () => {
    const cmd = uniqueName('LPTIMEOUT');
    const task = (await api('/tasks', P, { command: cmd, payload: 1 })).body;
    expect((await api(`/tasks/${task.id}/result?waitSeconds=1`, P)).status).toBe(404);
  });

  // waitSeconds=60 in a test given 20 s: only a wake-up (not the deadline) can answer it in time.
  it('answers 200 {task, result} once this instance records the result', { timeout: 20_000 }, async () => {
    const cmd = uniqueName('LPLOCAL');
    const task = (await api('/tasks', P, { command: cmd, payload: 1 })).body;
    const waiting = api(`/tasks/${task.id}/result?waitSeconds=60`, P);
    await api('/tasks/claim', W, { commands: [cmd] });
    await new Promise((r) => setTimeout(r, 200));
    await api(`/tasks/${task.id}/result`, W, { status: 'COMPLETED', result: { done: 1 } });
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body.task).toMatchObject({ id: task.id, status: 'COMPLETED' });
    expect(answer.body.result).toMatchObject({ taskId: task.id, status: 'COMPLETED', result: { done: 1 } });
  });

  it(
    'answers 200 once another instance of the deployment records the result',
    { timeout: 20_000 },
    async () => {
      const cmd = uniqueName('LPREMOTE');
      const task = (await api('/tasks', P, { command: cmd, payload: 1 })).body;
      const waiting = api(`/tasks/${task.id}/result?waitSeconds=60`, P);
      const [claimed] = await other.claim({
        workerId: 'remote-w',
        commands: [cmd],
        leaseSeconds: 60,
        waitSeconds: 0,
      });
      await new Promise((r) => setTimeout(r, 200));
      await other.fail({ taskId: claimed!.id, workerId: 'remote-w', error: 'remote boom' });
      const answer = await waiting;
      expect(answer.status).toBe(200);
      expect(answer.body.result).toMatchObject({ status: 'FAILED', error: 'remote boom' });
    },
  );

  it("refuses a wait on another command's task as not found", async () => {
    const cmd = uniqueName('LPHIDDEN');
    const task = (await api('/tasks', P, { command: cmd, payload: 1 })).body;
    expect((await api(`/tasks/${task.id}/result?waitSeconds=5`, 'ep-narrow-producer')).status).toBe(404);
  });
});

describe('traceParent / traceState (codeQ Task fields, W3C trace context)', () => {
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const state = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';

  it('carries them from the create body to the claimed task, its view and its enqueued event', async () => {
    const cmd = uniqueName('TRACE');
    const created = await api('/tasks', P, {
      command: cmd,
      payload: 1,
      traceParent: parent,
      traceState: state,
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ traceParent: parent, traceState: state });
    const claimed = await api('/tasks/claim', W, { commands: [cmd] });
    expect(claimed.body).toMatchObject({ id: created.body.id, traceParent: parent, traceState: state });
    expect((await api(`/tasks/${created.body.id}`, P)).body).toMatchObject({ traceParent: parent });
    const history = await api(`/tasks/${created.body.id}/history`, P);
    expect(history.body.events[0]).toMatchObject({
      type: 'enqueued',
      data: { traceParent: parent, traceState: state },
    });
  });

  it("takes the request's traceparent header when the body has none (codeQ's tracing middleware)", async () => {
    const cmd = uniqueName('TRACEH');
    const res = await fetch(`${base}/v1/codeq/tasks`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${P}`,
        'content-type': 'application/json',
        traceparent: parent,
        tracestate: state,
      },
      body: JSON.stringify({ command: cmd, payload: 1 }),
    });
    expect(await res.json()).toMatchObject({ traceParent: parent, traceState: state });
  });

  it('refuses malformed values with nothing written', async () => {
    const cmd = uniqueName('TRACEBAD');
    for (const body of [
      { command: cmd, payload: 1, traceParent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
      { command: cmd, payload: 1, traceParent: 'not-a-traceparent' },
      { command: cmd, payload: 1, traceParent: parent, traceState: 'no equals sign' },
      { command: cmd, payload: 1, traceState: state },
    ]) {
      expect((await api('/tasks', P, body)).status).toBe(400);
    }
    expect((await api('/tasks/claim', W, { commands: [cmd] })).status).toBe(204);
  });
});

describe('OpenAPI', () => {
  it('documents the new routes like the others', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/codeq/tasks/batch',
        '/v1/codeq/tasks/claim/batch',
        '/v1/codeq/tasks/batch/results',
        '/v1/codeq/tasks/{id}/result',
        '/v1/codeq/tasks/{id}/artifacts/{name}',
      ]),
    );
  });
});
