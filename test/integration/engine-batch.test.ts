import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_COUNT_MAX, ENQUEUE_BATCH_MAX } from '../../src/contract/limits.js';
import type { Engine } from '../../src/engine/engine.js';
import { CodeqError } from '../../src/errors.js';
import { createTestEngine } from '../support/engine.js';

describe('batch claim and batch results', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, close } = await createTestEngine());
  });
  afterAll(async () => close());

  it('claims a batch and records a batch of results, each answering on its own', async () => {
    const tasks = await engine.enqueueMany(
      Array.from({ length: 40 }, (_, i) => ({ command: 'BATCH', payload: { i } })),
    );
    const claimed = await engine.claim({ workerId: 'w', commands: ['BATCH'], count: 40 });
    expect(claimed.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());

    const other = await engine.enqueue({ command: 'BATCH_OTHER', payload: {} });
    await engine.claim({ workerId: 'someone-else', commands: ['BATCH_OTHER'] });
    const answers = await engine.submitResults([
      ...claimed
        .slice(0, 30)
        .map((t) => ({ taskId: t.id, workerId: 'w', status: 'COMPLETED' as const, result: { n: 1 } })),
      ...claimed
        .slice(30)
        .map((t) => ({ taskId: t.id, workerId: 'w', status: 'FAILED' as const, error: 'boom' })),
      { taskId: other.id, workerId: 'w', status: 'COMPLETED', result: {} },
      { taskId: '00000000-0000-4000-8000-000000000000', workerId: 'w', status: 'COMPLETED', result: {} },
      { taskId: claimed[0]!.id, workerId: 'w', status: 'COMPLETED', result: {} },
      { taskId: claimed[1]!.id, workerId: 'w', status: 'FAILED' },
    ]);
    expect(answers.slice(0, 30).every((a) => !(a instanceof Error) && a.status === 'COMPLETED')).toBe(true);
    expect(answers.slice(30, 40).every((a) => !(a instanceof Error) && a.status === 'FAILED')).toBe(true);
    const codes = answers.slice(40).map((a) => (a instanceof CodeqError ? a.code : 'ok'));
    // Another worker's task, an unknown id, a second result for a finished task, a failure without error.
    expect(codes).toEqual(['NOT_OWNER', 'NOT_FOUND', 'WRONG_STATE', 'INVALID_INPUT']);
    expect(await engine.queueStats('BATCH')).toMatchObject({ ready: 0, inProgress: 0 });
    const history = await engine.history(claimed[0]!.id);
    expect(history.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'completed']);
  });

  it('enqueues the largest batch (ENQUEUE_BATCH_MAX) in one call and claims the largest count', async () => {
    const tasks = await engine.enqueueMany(
      Array.from({ length: ENQUEUE_BATCH_MAX }, (_, i) => ({
        command: 'BATCH_BIG',
        payload: { i, pad: 'x'.repeat(100) },
      })),
    );
    expect(new Set(tasks.map((t) => t.id)).size).toBe(ENQUEUE_BATCH_MAX);
    expect(await engine.queueStats('BATCH_BIG')).toMatchObject({ ready: ENQUEUE_BATCH_MAX });
    const claimed = await engine.claim({ workerId: 'w', commands: ['BATCH_BIG'], count: CLAIM_COUNT_MAX });
    expect(claimed.map((t) => (t.payload as { i: number }).i)).toEqual(
      Array.from({ length: CLAIM_COUNT_MAX }, (_, i) => i),
    );
  });
});

describe('coalesced single enqueues', () => {
  let engine: Engine;
  let redisUrl: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    let deployment;
    ({ engine, deployment, close } = await createTestEngine());
    redisUrl = deployment.redisUrl;
  });
  afterAll(async () => close());

  async function scriptCalls(redis: Redis): Promise<number> {
    const info = await redis.info('commandstats');
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }

  it('concurrent enqueue() calls share append batches; each answers on its own', async () => {
    const redis = new Redis(redisUrl);
    try {
      const before = await scriptCalls(redis);
      const calls = Array.from({ length: 300 }, (_, i) =>
        engine.enqueue(
          i === 150 ? { command: 'bad.command', payload: {} } : { command: 'COALESCE', payload: { i } },
        ),
      );
      const settled = await Promise.allSettled(calls);
      const after = await scriptCalls(redis);
      expect(settled[150]).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_INPUT' } });
      const views = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      expect(views).toHaveLength(299);
      expect(new Set(views.map((v) => v.id)).size).toBe(299);
      expect(views.map((v) => (v.payload as { i: number }).i)).toEqual(
        Array.from({ length: 300 }, (_, i) => i).filter((i) => i !== 150),
      );
      expect(await engine.queueStats('COALESCE')).toMatchObject({ ready: 299 });
      // One apply script per batch, not one per call.
      expect(after - before).toBeLessThan(10);
    } finally {
      redis.disconnect();
    }
  });
});
