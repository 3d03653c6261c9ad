/**
 * The lease cache (results and heartbeats of leases this engine took are decided without reading
 * the projection) must never let a stale snapshot through: when another instance moved the task on,
 * the log's fence refuses the cached decision and the answer is the one the projection gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { CodeqError } from '../../src/errors.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import { atMostOneTerminal, noDoubleLease, readStream } from '../support/invariants.js';
import { rejection, sleep } from '../support/assertions.js';

describe('engine lease cache: another instance moved the task on', () => {
  let deployment: TestDeployment;
  let holder: Engine;
  let other: Engine;

  beforeAll(async () => {
    deployment = testDeployment();
    const settings = { backoff: { policy: 'fixed' as const, baseSeconds: 0, maxSeconds: 0 } };
    holder = await Engine.create(engineOptions(deployment, { settings }));
    other = await Engine.create(engineOptions(deployment, { settings }));
  });

  afterAll(async () => {
    await holder?.close();
    await other?.close();
    if (deployment) await dropDeployment(deployment);
  });

  const types = async (taskId: string): Promise<string[]> =>
    (await holder.history(taskId)).events.map((e) => e.type);

  it('uses the cached lease for heartbeats and results of its own claims', async () => {
    const command = 'cache-own';
    const tasks = await holder.enqueueMany([0, 1, 2].map((i) => ({ command, payload: { i } })));
    const claimed = await holder.claim({ workerId: 'w', commands: [command], count: 3, leaseSeconds: 30 });
    expect(claimed).toHaveLength(3);
    const beat = await holder.heartbeat({ taskId: claimed[0]!.id, workerId: 'w', extendSeconds: 60 });
    expect(beat.leaseUntil).toBeGreaterThan(claimed[0]!.leaseUntil!);
    const answers = await holder.submitResults(
      claimed.map((t) => ({
        taskId: t.id,
        workerId: 'w',
        status: 'COMPLETED' as const,
        result: { ok: t.id },
      })),
    );
    expect(answers.every((a) => !(a instanceof Error) && a.status === 'COMPLETED')).toBe(true);
    expect(await types(claimed[0]!.id)).toEqual(['enqueued', 'claimed', 'heartbeat', 'completed']);
    for (const t of tasks) expect((await other.getTask(t.id)).status).toBe('COMPLETED');
  });

  it('refuses a result with WRONG_STATE after another instance repaired the lease', async () => {
    const command = 'cache-repaired';
    const task = await holder.enqueue({ command, payload: {} });
    await holder.claim({ workerId: 'zombie', commands: [command], leaseSeconds: 1 });
    await sleep(1200);
    await other.runBackgroundOnce();
    expect(await types(task.id)).toEqual(['enqueued', 'claimed', 'leaseExpired']);

    const [batchAnswer] = await holder.submitResults([
      { taskId: task.id, workerId: 'zombie', status: 'COMPLETED', result: { late: true } },
    ]);
    expect(batchAnswer).toBeInstanceOf(CodeqError);
    expect((batchAnswer as CodeqError).code).toBe('WRONG_STATE');
    const single = await rejection(holder.complete({ taskId: task.id, workerId: 'zombie', result: {} }));
    expect(single.code).toBe('WRONG_STATE');
    expect(await types(task.id)).toEqual(['enqueued', 'claimed', 'leaseExpired']);
  });

  it('refuses the old holder with NOT_OWNER once the other instance re-claimed the task', async () => {
    const command = 'cache-reclaimed';
    const task = await holder.enqueue({ command, payload: {} });
    await holder.claim({ workerId: 'zombie', commands: [command], leaseSeconds: 1 });
    await sleep(1200);
    await other.runBackgroundOnce();
    const [again] = await other.claim({ workerId: 'successor', commands: [command], leaseSeconds: 60 });
    expect(again?.id).toBe(task.id);

    const hb = await rejection(holder.heartbeat({ taskId: task.id, workerId: 'zombie', extendSeconds: 60 }));
    expect(hb.code).toBe('NOT_OWNER');
    const [late] = await holder.submitResults([
      { taskId: task.id, workerId: 'zombie', status: 'COMPLETED', result: { late: true } },
    ]);
    expect((late as CodeqError).code).toBe('NOT_OWNER');
    // The successor's result goes through either instance.
    await holder.complete({ taskId: task.id, workerId: 'successor', result: { ok: true } });
    expect(await types(task.id)).toEqual(['enqueued', 'claimed', 'leaseExpired', 'claimed', 'completed']);
  });

  it("answers from the log when the worker's own earlier calls went through the other instance", async () => {
    const command = 'cache-cancelled';
    const [a, b] = await holder.enqueueMany([
      { command, payload: { a: 1 } },
      { command, payload: { b: 1 } },
    ]);
    await holder.claim({ workerId: 'w', commands: [command], count: 2, leaseSeconds: 60 });
    // Behind a load balancer, the same worker's nack of a and heartbeat of b reach the other instance.
    await other.nack({ taskId: a!.id, workerId: 'w', reason: 'try later' });
    await other.heartbeat({ taskId: b!.id, workerId: 'w', extendSeconds: 120 });

    const answers = await holder.submitResults([
      { taskId: a!.id, workerId: 'w', status: 'COMPLETED', result: {} },
      { taskId: b!.id, workerId: 'w', status: 'COMPLETED', result: { b: true } },
    ]);
    expect((answers[0] as CodeqError).code).toBe('WRONG_STATE');
    expect(answers[1]).not.toBeInstanceOf(Error);
    expect(await types(a!.id)).toEqual(['enqueued', 'claimed', 'nacked']);
    expect(await types(b!.id)).toEqual(['enqueued', 'claimed', 'heartbeat', 'completed']);

    const stream = await readStream(holder);
    expect(noDoubleLease(stream).violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
  });
});

describe('engine: a claim answers once the log took it', () => {
  let deployment: TestDeployment;
  let engine: Engine;

  beforeAll(async () => {
    deployment = testDeployment();
    engine = await Engine.create(engineOptions(deployment));
  });

  afterAll(async () => {
    await engine?.close();
    if (deployment) await dropDeployment(deployment);
  });

  it('and the same engine reads its own claims back at once (the apply is ahead on the connection)', async () => {
    const command = 'claim-read-back';
    await engine.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ command, payload: { i } })));
    const claimed = await engine.claim({ workerId: 'w', commands: [command], count: 50, leaseSeconds: 60 });
    expect(claimed).toHaveLength(50);
    // No wait of any kind between the claim's answer and these reads.
    const [views, stats] = await Promise.all([
      Promise.all(claimed.map((t) => engine.getTask(t.id))),
      engine.queueStats(command),
    ]);
    for (const [i, view] of views.entries()) {
      expect(view).toMatchObject({ status: 'IN_PROGRESS', workerId: 'w', version: claimed[i]!.version });
    }
    expect(stats).toMatchObject({ ready: 0, inProgress: 50 });
    const answers = await engine.submitResults(
      claimed.map((t) => ({ taskId: t.id, workerId: 'w', status: 'COMPLETED' as const, result: null })),
    );
    expect(answers.filter((a) => a instanceof Error)).toEqual([]);
    expect(await engine.queueStats(command)).toMatchObject({ ready: 0, inProgress: 0 });
  });
});
