/**
 * Cancelling a running task (its worker is refused with TASK_CANCELLED from then on, across engine
 * instances), bulk cancel by filter as one audited operation, and progress reports, on real servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import { rejection, sleep } from '../support/assertions.js';
import { uniqueName } from '../support/servers.js';

describe('cancel of running tasks, bulk cancel and progress (two engine instances)', () => {
  let deployment: TestDeployment;
  let a: Engine;
  let b: Engine;

  beforeAll(async () => {
    deployment = testDeployment();
    a = await Engine.create(engineOptions(deployment));
    b = await Engine.create(engineOptions(deployment));
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    if (deployment) await dropDeployment(deployment);
  });

  it('a leased task cancelled on another instance: its worker is refused with TASK_CANCELLED, the task ends CANCELLED', async () => {
    const command = uniqueName('cxl');
    const task = await a.enqueue({ command, payload: { n: 1 } });
    const [leased] = await a.claim({ workerId: 'w1', commands: [command], leaseSeconds: 60 });
    expect(leased?.id).toBe(task.id);
    // Engine a now holds the lease in its cache: the cancel on b must still reach the worker.
    await a.heartbeat({ taskId: task.id, workerId: 'w1', extendSeconds: 60 });

    const view = await b.cancel({ taskId: task.id, actor: 'producer:p1', reason: 'no longer needed' });
    expect(view).toMatchObject({ status: 'CANCELLED', state: 'cancelled', error: 'no longer needed' });
    expect(await b.queueStats(command)).toMatchObject({ ready: 0, delayed: 0, inProgress: 0 });

    for (const call of [
      () => a.heartbeat({ taskId: task.id, workerId: 'w1', extendSeconds: 60 }),
      () => a.progress({ taskId: task.id, workerId: 'w1', progress: 50 }),
      () => a.complete({ taskId: task.id, workerId: 'w1', result: { late: true } }),
      () => a.fail({ taskId: task.id, workerId: 'w1', error: 'late' }),
      () => a.nack({ taskId: task.id, workerId: 'w1' }),
      () => a.abandon({ taskId: task.id, workerId: 'w1' }),
    ]) {
      expect((await rejection(call())).code).toBe('TASK_CANCELLED');
    }
    const results = await a.submitResults([
      { taskId: task.id, workerId: 'w1', status: 'COMPLETED', result: {} },
    ]);
    expect(results[0]).toMatchObject({ code: 'TASK_CANCELLED' });

    const history = await a.history(task.id);
    expect(history.events.map((e) => [e.type, e.actor])).toEqual([
      ['enqueued', 'producer'],
      ['claimed', 'w1'],
      ['heartbeat', 'w1'],
      ['cancelled', 'producer:p1'],
    ]);
    expect(history.events[3]?.data).toEqual({ reason: 'no longer needed' });
    expect((await a.getTask(task.id)).status).toBe('CANCELLED');
    // The sweeper never sees it again: no lease to expire.
    await sleep(10);
    await a.runBackgroundOnce(Date.now() + 3_600_000);
    expect((await a.history(task.id)).events).toHaveLength(4);
  });

  it('progress: in the view, the history and the log; the lease does not move', async () => {
    const command = uniqueName('prog');
    const task = await a.enqueue({ command, payload: {} });
    const [leased] = await a.claim({ workerId: 'w1', commands: [command], leaseSeconds: 60 });
    const out = await b.progress({
      taskId: task.id,
      workerId: 'w1',
      progress: 42.5,
      data: { step: 'resize' },
    });
    expect(out.progress).toBe(42.5);
    const view = await a.getTask(task.id);
    expect(view).toMatchObject({
      progress: 42.5,
      progressData: { step: 'resize' },
      progressAt: out.progressAt,
      leaseUntil: leased!.leaseUntil,
      status: 'IN_PROGRESS',
    });
    await a.progress({ taskId: task.id, workerId: 'w1', progress: 100 });
    const after = await a.getTask(task.id);
    expect([after.progress, after.progressData]).toEqual([100, undefined]);
    await a.complete({ taskId: task.id, workerId: 'w1', result: {} });
    // The last report stays on the finished task.
    expect((await b.getTask(task.id)).progress).toBe(100);

    const history = await b.history(task.id);
    const reports = history.events.filter((e) => e.type === 'progressed');
    expect(reports.map((e) => [e.actor, e.data])).toEqual([
      ['w1', { workerId: 'w1', progress: 42.5, data: { step: 'resize' } }],
      ['w1', { workerId: 'w1', progress: 100 }],
    ]);
    const page = await a.readEvents({ fromSeq: reports[0]!.seq, limit: 1 });
    expect(page.events[0]).toMatchObject({ type: 'progressed', taskId: task.id });
  });

  it('progress: bad reports are refused and write nothing', async () => {
    const command = uniqueName('progbad');
    const task = await a.enqueue({ command, payload: {} });
    await a.claim({ workerId: 'w1', commands: [command], leaseSeconds: 60 });
    const version = (await a.getTask(task.id)).version;
    const refusals = [
      [{ workerId: 'w2', progress: 1 }, 'NOT_OWNER'],
      [{ workerId: 'w1', progress: Number.NaN }, 'INVALID_INPUT'],
      [{ workerId: 'w1', progress: Number.POSITIVE_INFINITY }, 'INVALID_INPUT'],
      [{ workerId: 'w1', progress: -1 }, 'INVALID_INPUT'],
      [{ workerId: 'w1', progress: 100.5 }, 'INVALID_INPUT'],
      [{ workerId: 'w1', progress: '5' as unknown as number }, 'INVALID_INPUT'],
      [{ workerId: 'w1', progress: 5, data: { blob: 'x'.repeat(5000) } }, 'INVALID_INPUT'],
      [{ workerId: 'w1', progress: 5, data: () => 1 }, 'INVALID_INPUT'],
    ] as const;
    for (const [input, code] of refusals) {
      expect((await rejection(a.progress({ taskId: task.id, ...input }))).code).toBe(code);
    }
    const pending = await a.enqueue({ command, payload: {} });
    expect((await rejection(a.progress({ taskId: pending.id, workerId: 'w1', progress: 1 }))).code).toBe(
      'WRONG_STATE',
    );
    expect((await a.getTask(task.id)).version).toBe(version);
    expect((await a.history(task.id)).events.map((e) => e.type)).toEqual(['enqueued', 'claimed']);
  });

  it('bulk cancel: a dry run counts, the real run cancels exactly the matching tasks as one operation', async () => {
    const command = uniqueName('bulk');
    const other = uniqueName('bulk-other');
    const early = await a.enqueueMany([0, 1, 2, 3].map((i) => ({ command, payload: { i } })));
    await sleep(5);
    const boundary = Date.now();
    await sleep(5);
    const late = await a.enqueueMany([4, 5, 6].map((i) => ({ command, payload: { i } })));
    const delayed = await a.enqueue({ command, payload: {}, delaySeconds: 3600 });
    const untouched = await a.enqueue({ command: other, payload: {} });
    // Two of the early tasks leased; one of them finished (not cancelable).
    const leased = await a.claim({ workerId: 'w1', commands: [command], count: 2, leaseSeconds: 60 });
    expect(leased.map((t) => t.id)).toEqual([early[0]!.id, early[1]!.id]);
    await a.complete({ taskId: early[1]!.id, workerId: 'w1', result: {} });

    const runningOnly = await b.cancelTasks({
      filter: { command, state: 'inProgress' },
      actor: 'admin:ops',
      dryRun: true,
    });
    expect(runningOnly).toMatchObject({ matched: 1, cancelled: 0, dryRun: true });
    const earlyOnes = await b.cancelTasks({
      filter: { command, createdBefore: boundary },
      actor: 'admin:ops',
      dryRun: true,
    });
    expect(earlyOnes.matched).toBe(3);
    const lateOnes = await b.cancelTasks({
      filter: { command, createdAfter: boundary, state: 'pending' },
      actor: 'admin:ops',
      dryRun: true,
    });
    expect(lateOnes.matched).toBe(4);
    // Nothing written by the dry runs.
    expect((await a.getTask(early[2]!.id)).status).toBe('PENDING');

    const done = await b.cancelTasks({
      filter: { command, createdBefore: boundary },
      actor: 'admin:ops',
      reason: 'bad batch',
    });
    expect(done).toMatchObject({ matched: 3, cancelled: 3, dryRun: false });
    for (const t of [early[0]!, early[2]!, early[3]!]) {
      const events = (await a.history(t.id)).events;
      expect(events.at(-1)).toMatchObject({
        type: 'cancelled',
        actor: 'admin:ops',
        data: { reason: 'bad batch', operationId: done.operationId },
      });
    }
    expect((await a.getTask(early[1]!.id)).status).toBe('COMPLETED');
    for (const t of [...late, delayed, untouched]) expect((await a.getTask(t.id)).status).toBe('PENDING');
    // The cancelled lease holder is told.
    expect((await rejection(a.heartbeat({ taskId: early[0]!.id, workerId: 'w1' }))).code).toBe(
      'TASK_CANCELLED',
    );

    const rest = await a.cancelTasks({ filter: { command }, actor: 'admin:ops' });
    expect(rest).toMatchObject({ matched: 4, cancelled: 4 });
    expect(rest.operationId).not.toBe(done.operationId);
    expect(await a.queueStats(command)).toMatchObject({ ready: 0, delayed: 0, inProgress: 0 });
    expect((await a.getTask(untouched.id)).status).toBe('PENDING');
  });

  it('bulk cancel pages through more tasks than one page, tasks sharing one time included', async () => {
    const command = uniqueName('bulkpages');
    // One batch: every task has the same creation time, the walk's score ties across pages.
    const batch = Array.from({ length: 1000 }, (_, i) => ({ command, payload: { i } }));
    await a.enqueueMany(batch);
    await a.enqueueMany(batch.slice(0, 300));
    expect((await a.cancelTasks({ filter: { command }, actor: 'admin:x', dryRun: true })).matched).toBe(1300);
    expect(await a.cancelTasks({ filter: { command }, actor: 'admin:x' })).toMatchObject({
      matched: 1300,
      cancelled: 1300,
    });
    expect((await a.queueStats(command)).ready).toBe(0);
  });

  it("bulk cancel by group key cancels that key's tasks only", async () => {
    const command = 'bulk-group';
    await a.enqueueMany(['t-1', 't-1', 't-2'].map((groupKey, n) => ({ command, payload: { n }, groupKey })));
    await a.enqueue({ command, payload: 'no group' });
    const answer = await a.cancelTasks({ filter: { command, groupKey: 't-1' }, actor: 'admin:x' });
    expect(answer).toMatchObject({ matched: 2, cancelled: 2 });
    expect(await a.queueDetail(command)).toMatchObject({ ready: 2, groupedReady: 1 });
  });

  it('bulk cancel: bad filters are refused before anything is read', async () => {
    const bad = [
      { command: 'no spaces' },
      { command: 'ok', state: 'completed' },
      { command: 'ok', createdBefore: Number.NaN },
      { command: 'ok', groupKey: 'has space' },
    ];
    for (const filter of bad) {
      const err = await rejection(a.cancelTasks({ filter: filter as never, actor: 'admin:x' }));
      expect(err.code).toBe('INVALID_INPUT');
    }
    const reason = 'x'.repeat(5000);
    expect(
      (await rejection(a.cancelTasks({ filter: { command: 'ok' }, actor: 'admin:x', reason }))).code,
    ).toBe('INVALID_INPUT');
  });
});
