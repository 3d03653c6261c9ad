import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { createTestEngine } from '../support/engine.js';

/** Lifecycle of the contract, with backoff of 1 s so delays are observable but short. */
describe('task lifecycle', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, close } = await createTestEngine({
      settings: { backoff: { policy: 'fixed', baseSeconds: 1, maxSeconds: 60 } },
    }));
  });
  afterAll(async () => close());

  it('enqueue → claim → heartbeat → nack (backoff) → claim after the delay → complete', async () => {
    const task = await engine.enqueue({ command: 'LIFE', payload: { n: 1 } });
    const [first] = await engine.claim({ workerId: 'w1', commands: ['LIFE'], leaseSeconds: 30 });
    expect(first).toMatchObject({ id: task.id, status: 'IN_PROGRESS', workerId: 'w1', attempts: 1 });

    const hb = await engine.heartbeat({ taskId: task.id, workerId: 'w1', extendSeconds: 60 });
    expect(hb.leaseUntil).toBeGreaterThan(first!.leaseUntil!);

    const nack = await engine.nack({ taskId: task.id, workerId: 'w1', reason: 'downstream busy' });
    expect(nack).toEqual({ status: 'requeued', delaySeconds: 1 });
    const stats = await engine.queueStats('LIFE');
    expect(stats).toMatchObject({ ready: 0, delayed: 1, inProgress: 0 });

    // Not claimable before its time; a long-poll wakes when it comes due.
    expect(await engine.claim({ workerId: 'w2', commands: ['LIFE'] })).toEqual([]);
    const before = Date.now();
    const [second] = await engine.claim({ workerId: 'w2', commands: ['LIFE'], waitSeconds: 5 });
    expect(second?.id).toBe(task.id);
    expect(Date.now() - before).toBeLessThan(2500);
    expect(second?.attempts).toBe(2);
    expect(second!.updatedAt).toBeGreaterThanOrEqual(task.createdAt + 1000);

    const result = await engine.complete({ taskId: task.id, workerId: 'w2', result: { ok: 1 } });
    expect(result).toMatchObject({ taskId: task.id, status: 'COMPLETED', result: { ok: 1 } });
    const got = await engine.getResult(task.id);
    expect(got.task.status).toBe('COMPLETED');
    expect(got.result?.result).toEqual({ ok: 1 });

    const history = await engine.history(task.id);
    expect(history.events.map((e) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'heartbeat',
      'nacked',
      'claimed',
      'completed',
    ]);
    expect(history.events.map((e) => e.actor)).toEqual(['producer', 'w1', 'w1', 'w1', 'w2', 'w2']);
    expect(history.state).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('a task that always fails is dead-lettered after exactly maxAttempts deliveries', async () => {
    const task = await engine.enqueue({ command: 'ALWAYS_FAILS', payload: {}, maxAttempts: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      // A nack's 0 is the backoff policy (1 s here, codeQ's rule): the claim waits it out.
      const [t] = await engine.claim({ workerId: 'w', commands: ['ALWAYS_FAILS'], waitSeconds: 5 });
      expect(t?.attempts).toBe(i + 1);
      outcomes.push((await engine.nack({ taskId: task.id, workerId: 'w', delaySeconds: 0 })).status);
    }
    expect(outcomes).toEqual(['requeued', 'requeued', 'dlq']);
    expect(await engine.claim({ workerId: 'w', commands: ['ALWAYS_FAILS'] })).toEqual([]);
    expect(await engine.queueStats('ALWAYS_FAILS')).toMatchObject({
      ready: 0,
      delayed: 0,
      inProgress: 0,
      dlq: 1,
    });
    const view = await engine.getTask(task.id);
    expect(view).toMatchObject({ status: 'FAILED', state: 'deadLettered', attempts: 3 });
    const types = (await engine.history(task.id)).events.map((e) => e.type);
    expect(types.filter((t) => t === 'claimed')).toHaveLength(3);
    expect(types.at(-1)).toBe('dlq');

    // An admin requeue gives it a fresh set of attempts.
    expect(await engine.requeueDlq({ command: 'ALWAYS_FAILS', actor: 'admin:ops' })).toEqual({ requeued: 1 });
    const [again] = await engine.claim({ workerId: 'w', commands: ['ALWAYS_FAILS'] });
    expect(again).toMatchObject({ id: task.id, attempts: 1 });
  });

  it('a worker can dead-letter a task at once (do not retry), whatever its attempts', async () => {
    const task = await engine.enqueue({ command: 'REJECT', payload: {}, maxAttempts: 5 });
    await engine.claim({ workerId: 'w', commands: ['REJECT'] });
    await expect(
      engine.nack({ taskId: task.id, workerId: 'thief', deadLetter: true, reason: 'no' }),
    ).rejects.toMatchObject({ code: 'NOT_OWNER' });
    expect(
      await engine.nack({ taskId: task.id, workerId: 'w', deadLetter: true, reason: 'bad payload' }),
    ).toEqual({
      status: 'dlq',
      delaySeconds: 0,
    });
    expect(await engine.getTask(task.id)).toMatchObject({
      state: 'deadLettered',
      attempts: 1,
      error: 'bad payload',
    });
    expect(await engine.queueStats('REJECT')).toMatchObject({ dlq: 1, ready: 0, delayed: 0 });
    const last = (await engine.history(task.id)).events.at(-1);
    expect(last).toMatchObject({
      type: 'dlq',
      data: { cause: 'rejected', workerId: 'w', reason: 'bad payload' },
    });
  });

  it('lease expiry requeues with backoff and dead-letters at the limit', async () => {
    const task = await engine.enqueue({ command: 'EXPIRES', payload: {}, maxAttempts: 2 });
    await engine.claim({ workerId: 'slow', commands: ['EXPIRES'], leaseSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    await engine.runBackgroundOnce();
    let view = await engine.getTask(task.id);
    expect(view).toMatchObject({ status: 'PENDING', attempts: 1, error: 'LEASE_EXPIRED' });
    expect(view.runAt).toBeGreaterThan(Date.now());
    // The late worker is refused: its lease is gone.
    await expect(engine.complete({ taskId: task.id, workerId: 'slow', result: {} })).rejects.toMatchObject({
      code: 'WRONG_STATE',
    });

    const [second] = await engine.claim({
      workerId: 'slow',
      commands: ['EXPIRES'],
      leaseSeconds: 1,
      waitSeconds: 3,
    });
    expect(second?.attempts).toBe(2);
    await new Promise((r) => setTimeout(r, 1100));
    // Claim-time repair: another claim finds the expired lease and dead-letters it (attempts 2 of 2).
    expect(await engine.claim({ workerId: 'other', commands: ['EXPIRES'] })).toEqual([]);
    view = await engine.getTask(task.id);
    expect(view).toMatchObject({ status: 'FAILED', state: 'deadLettered' });
    const events = (await engine.history(task.id)).events;
    expect(events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'leaseExpired', 'claimed', 'dlq']);
    expect(events[2]?.actor).toBe('system');
  });

  it('abandon puts the task back at once and keeps attempts', async () => {
    const task = await engine.enqueue({ command: 'ABANDON', payload: {} });
    await engine.claim({ workerId: 'a', commands: ['ABANDON'] });
    await engine.abandon({ taskId: task.id, workerId: 'a' });
    const [again] = await engine.claim({ workerId: 'b', commands: ['ABANDON'] });
    expect(again).toMatchObject({ id: task.id, attempts: 2, workerId: 'b' });
    const fail = await engine.fail({ taskId: task.id, workerId: 'b', error: 'bad input' });
    expect(fail).toMatchObject({ status: 'FAILED', error: 'bad input' });
    expect((await engine.getResult(task.id)).result).toMatchObject({ status: 'FAILED', error: 'bad input' });
  });

  it('refuses the wrong owner, the wrong state and unknown tasks with typed errors', async () => {
    const task = await engine.enqueue({ command: 'OWNERS', payload: {} });
    await expect(engine.heartbeat({ taskId: task.id, workerId: 'x' })).rejects.toMatchObject({
      code: 'WRONG_STATE',
    });
    await engine.claim({ workerId: 'owner', commands: ['OWNERS'] });
    for (const op of [
      () => engine.heartbeat({ taskId: task.id, workerId: 'thief' }),
      () => engine.nack({ taskId: task.id, workerId: 'thief' }),
      () => engine.abandon({ taskId: task.id, workerId: 'thief' }),
      () => engine.complete({ taskId: task.id, workerId: 'thief', result: {} }),
      () => engine.progress({ taskId: task.id, workerId: 'thief', progress: 1 }),
    ]) {
      await expect(op()).rejects.toMatchObject({ code: 'NOT_OWNER' });
    }
    await expect(engine.getTask('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(engine.getTask('../etc/passwd')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const events = (await engine.history(task.id)).events.map((e) => e.type);
    expect(events).toEqual(['enqueued', 'claimed']);
  });

  it('cancels a pending task; cleanup deletes terminal tasks from projection and log', async () => {
    const task = await engine.enqueue({ command: 'CANCEL', payload: {}, delaySeconds: 60 });
    const cancelled = await engine.cancel({ taskId: task.id, actor: 'admin:ops', reason: 'not needed' });
    expect(cancelled.status).toBe('CANCELLED');
    // A finished task cannot be cancelled (again).
    await expect(engine.cancel({ taskId: task.id, actor: 'admin:ops' })).rejects.toMatchObject({
      code: 'TASK_CANCELLED',
    });
    expect(await engine.queueStats('CANCEL')).toMatchObject({ delayed: 0, ready: 0 });
    const { deleted } = await engine.cleanup({ before: Date.now() + 1000, limit: 1000 });
    expect(deleted).toBeGreaterThanOrEqual(1);
    await expect(engine.getTask(task.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await engine.log.history('CANCEL', task.id)).toEqual([]);
  });
});
