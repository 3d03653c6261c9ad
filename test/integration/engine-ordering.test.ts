import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Engine } from '../../src/engine/engine.js';
import { createTestEngine, type TestDeployment } from '../support/engine.js';

async function commandsProcessed(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

describe('claim order and due times', () => {
  let engine: Engine;
  let deployment: TestDeployment;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, deployment, close } = await createTestEngine());
  });
  afterAll(async () => close());

  it('claims priority 9 first, then FIFO within a priority', async () => {
    const priorities = [0, 5, 9, 5, 0, 9, 3, 12, -4];
    const tasks = [];
    for (const priority of priorities)
      tasks.push(await engine.enqueue({ command: 'ORDER', payload: {}, priority }));
    // Out-of-range priorities are clamped, not refused (codeQ's contract).
    expect(tasks.map((t) => t.priority)).toEqual([0, 5, 9, 5, 0, 9, 3, 9, 0]);
    const claimed = await engine.claim({ workerId: 'w', commands: ['ORDER'], count: 100 });
    const expected = tasks
      .map((t, i) => ({ id: t.id, priority: t.priority, i }))
      .sort((a, b) => b.priority - a.priority || a.i - b.i)
      .map((t) => t.id);
    expect(claimed.map((t) => t.id)).toEqual(expected);
  });

  it('keeps FIFO across one batch enqueue and many single claims', async () => {
    const tasks = await engine.enqueueMany(
      Array.from({ length: 50 }, (_, i) => ({ command: 'FIFO', payload: { i } })),
    );
    const seen: string[] = [];
    for (let i = 0; i < 50; i++) {
      const [t] = await engine.claim({ workerId: 'w', commands: ['FIFO'] });
      seen.push(t!.id);
    }
    expect(seen).toEqual(tasks.map((t) => t.id));
  });

  it('never claims a delayed task before its time', async () => {
    const runAt = Date.now() + 1500;
    const delayed = await engine.enqueue({ command: 'DELAY', payload: {}, runAt, priority: 9 });
    const now = await engine.enqueue({ command: 'DELAY', payload: {}, priority: 0 });
    expect(await engine.queueStats('DELAY')).toMatchObject({ ready: 1, delayed: 1 });
    const first = await engine.claim({ workerId: 'w', commands: ['DELAY'], count: 10 });
    expect(first.map((t) => t.id)).toEqual([now.id]);
    const [late] = await engine.claim({ workerId: 'w', commands: ['DELAY'], waitSeconds: 5 });
    expect(late?.id).toBe(delayed.id);
    expect(Date.now()).toBeGreaterThanOrEqual(runAt);
    const claimedAt = (await engine.history(delayed.id)).events.find((e) => e.type === 'claimed')!.at;
    expect(claimedAt).toBeGreaterThanOrEqual(runAt);
  });

  it('claims across several commands and long-polls until an arrival', async () => {
    const waiting = engine.claim({ workerId: 'w', commands: ['MULTI_A', 'MULTI_B'], waitSeconds: 10 });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const task = await engine.enqueue({ command: 'MULTI_B', payload: { hello: 1 } });
    const [got] = await waiting;
    expect(got?.id).toBe(task.id);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('a long-poll ends with nothing at its deadline or when aborted', async () => {
    const started = Date.now();
    expect(await engine.claim({ workerId: 'w', commands: ['QUIET'], waitSeconds: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const controller = new AbortController();
    const waiting = engine.claim({
      workerId: 'w',
      commands: ['QUIET'],
      waitSeconds: 30,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    const abortedAt = Date.now();
    expect(await waiting).toEqual([]);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
  });

  it('a waiting long-poll sends no Redis commands', async () => {
    const redis = new Redis(deployment.redisUrl);
    try {
      const waiting = engine.claim({ workerId: 'idle', commands: ['IDLE_A', 'IDLE_B'], waitSeconds: 3 });
      await new Promise((r) => setTimeout(r, 300));
      const before = await commandsProcessed(redis);
      await new Promise((r) => setTimeout(r, 2000));
      const after = await commandsProcessed(redis);
      // The INFO call itself is the only command counted in between.
      expect(after - before).toBe(1);
      expect(await waiting).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
