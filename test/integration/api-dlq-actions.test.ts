/**
 * The DLQ actions over real HTTP (real NATS and Redis): requeue and delete by ids, by filter, and
 * the whole DLQ, each with a dry run that counts and changes nothing; a delete is a `deleted` event
 * in the task's log naming the operator, after which the task is gone from the projection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { startTestApi, type TestApi } from '../support/api-server.js';
import { callApi } from '../support/http.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [{ token: 'dq-admin', role: 'admin', subject: 'alice' }];

describe('DLQ requeue and delete', () => {
  let api: TestApi;
  let engine: Engine;
  const post = (path: string, body: unknown) => callApi(api.base, path, 'dq-admin', body);

  /** `n` dead-lettered tasks of `command`, the `i`th rejected with reason `reasons[i % len]`. */
  async function deadLetters(command: string, n: number, reasons = ['boom']): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const t = await engine.enqueue({ command, payload: { i }, actor: 'test' });
      await engine.claim({ workerId: 'w1', commands: [command] });
      await engine.nack({
        taskId: t.id,
        workerId: 'w1',
        deadLetter: true,
        reason: reasons[i % reasons.length],
      });
      ids.push(t.id);
    }
    return ids;
  }

  beforeAll(async () => {
    api = await startTestApi(TOKENS);
    engine = api.engine;
  });
  afterAll(() => api?.close());

  it('dry runs count; requeue by filter takes only the matches', async () => {
    const command = uniqueName('DLQ_RQ');
    await deadLetters(command, 4, ['timeout upstream', 'bad input']);
    expect((await post(`/admin/dlq/${command}/requeue`, { dryRun: true })).body).toEqual({ matched: 4 });
    const filter = { errorContains: 'timeout' };
    expect((await post(`/admin/dlq/${command}/delete`, { filter, dryRun: true })).body).toEqual({
      matched: 2,
    });
    expect((await engine.queueStats(command)).dlq).toBe(4);
    expect((await post(`/admin/dlq/${command}/requeue`, { filter })).body).toEqual({ requeued: 2 });
    expect(await engine.queueStats(command)).toMatchObject({ dlq: 2, ready: 2 });
    const future = { createdFrom: Date.now() + 60_000 };
    expect((await post(`/admin/dlq/${command}/requeue`, { filter: future, dryRun: true })).body).toEqual({
      matched: 0,
    });
  });

  it('delete by ids: a deleted event naming the operator, then the task is gone', async () => {
    const command = uniqueName('DLQ_DEL');
    const [a, b, c] = await deadLetters(command, 3);
    const res = await post(`/admin/dlq/${command}/delete`, { taskIds: [a, b] });
    expect(res.body).toEqual({ deleted: 2 });
    const log = await engine.log.history(command, a as string);
    expect(log.at(-1)).toMatchObject({ type: 'deleted', actor: 'admin:alice' });
    expect((await callApi(api.base, `/tasks/${a}`, 'dq-admin')).status).toBe(404);
    expect(await engine.queueStats(command)).toMatchObject({ dlq: 1 });
    // Again: nothing left to delete; the rest of the DLQ goes with all: true.
    expect((await post(`/admin/dlq/${command}/delete`, { taskIds: [a] })).body).toEqual({ deleted: 0 });
    // A delete naming nothing is refused (a DLQ is emptied only with all: true), writing nothing.
    expect((await post(`/admin/dlq/${command}/delete`, {})).status).toBe(400);
    expect((await post(`/admin/dlq/${command}/delete`, { all: true, taskIds: [c] })).status).toBe(400);
    expect(await engine.queueStats(command)).toMatchObject({ dlq: 1 });
    expect((await post(`/admin/dlq/${command}/delete`, { all: true })).body).toEqual({ deleted: 1 });
    expect((await callApi(api.base, `/tasks/${c}`, 'dq-admin')).status).toBe(404);
    expect(await engine.queueStats(command)).toMatchObject({ dlq: 0, ready: 0 });
    // A rebuild replays the log, deletions included: the tasks stay gone.
    await engine.rebuildProjection();
    expect((await callApi(api.base, `/tasks/${b}`, 'dq-admin')).status).toBe(404);
    expect((await engine.queueStats(command)).dlq).toBe(0);
  });

  it('an id named twice counts once, in the dry run as in the action', async () => {
    const command = uniqueName('DLQ_DUP');
    const [a] = await deadLetters(command, 1);
    const taskIds = [a, a];
    expect((await post(`/admin/dlq/${command}/requeue`, { taskIds, dryRun: true })).body).toEqual({
      matched: 1,
    });
    expect((await post(`/admin/dlq/${command}/requeue`, { taskIds })).body).toEqual({ requeued: 1 });
  });

  it("a deleted task's idempotency key creates a new task, after a rebuild too", async () => {
    const command = uniqueName('DLQ_KEY');
    const idempotencyKey = `${command}-k`;
    const enqueueKeyed = () => engine.enqueue({ command, payload: {}, actor: 'test', idempotencyKey });
    const deadLetterKeyed = async () => {
      const t = await enqueueKeyed();
      await engine.claim({ workerId: 'w1', commands: [command] });
      await engine.nack({ taskId: t.id, workerId: 'w1', deadLetter: true, reason: 'boom' });
      return t.id;
    };
    const first = await deadLetterKeyed();
    expect((await post(`/admin/dlq/${command}/delete`, { taskIds: [first] })).body).toEqual({ deleted: 1 });
    const second = await deadLetterKeyed();
    expect(second).not.toBe(first);
    expect((await post(`/admin/dlq/${command}/delete`, { taskIds: [second] })).body).toEqual({ deleted: 1 });
    // A rebuild's replay sees the enqueues (which index the ids and the key), then the deletions.
    await engine.rebuildProjection();
    const third = await enqueueKeyed();
    expect([first, second]).not.toContain(third.id);
    expect(third.state).toBe('pending');
    expect(await engine.store.commandOf(first)).toBeUndefined();
  });

  it('refuses a bad body with 400 and writes nothing', async () => {
    const command = uniqueName('DLQ_BAD');
    await deadLetters(command, 1);
    for (const body of [{ taskIds: [] }, { filter: { colour: 'red' } }, { dryRun: 'yes' }, { extra: 1 }]) {
      expect((await post(`/admin/dlq/${command}/delete`, body)).status).toBe(400);
    }
    expect((await engine.queueStats(command)).dlq).toBe(1);
  });
});
