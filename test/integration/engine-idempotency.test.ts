import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { Engine as EngineClass } from '../../src/engine/engine.js';
import { IdempotencyRegistry, idempotencyBucket } from '../../src/events/idempotency-registry.js';
import {
  createTestEngine,
  engineOptions,
  wipeDeploymentKeys,
  type TestDeployment,
} from '../support/engine.js';

async function enqueuedEvents(engine: Engine, command: string): Promise<number> {
  let n = 0;
  await engine.log.replay({
    onBatch: async (events) => {
      n += events.filter((e) => e.type === 'enqueued' && e.command === command).length;
    },
  });
  return n;
}

describe('idempotency keys', () => {
  let engine: Engine;
  let deployment: TestDeployment;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, deployment, close } = await createTestEngine());
  });
  afterAll(async () => close());

  it('the same key returns the same task and writes one enqueued event', async () => {
    const a = await engine.enqueue({ command: 'IDEM', payload: { v: 1 }, idempotencyKey: 'order-1' });
    const b = await engine.enqueue({ command: 'IDEM', payload: { v: 2 }, idempotencyKey: 'order-1' });
    expect(b.id).toBe(a.id);
    expect(b.payload).toEqual({ v: 1 });
    expect(await enqueuedEvents(engine, 'IDEM')).toBe(1);
  });

  it('holds under concurrent duplicates from two engines', async () => {
    const other = await EngineClass.create(engineOptions(deployment));
    try {
      const requests = Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? engine : other).enqueue({
          command: 'IDEM_RACE',
          payload: { i },
          idempotencyKey: 'race-key',
        }),
      );
      const tasks = await Promise.all(requests);
      expect(new Set(tasks.map((t) => t.id)).size).toBe(1);
      // Within one batch too.
      const batch = await engine.enqueueMany([
        { command: 'IDEM_RACE', payload: 1, idempotencyKey: 'batch-key' },
        { command: 'IDEM_RACE', payload: 2, idempotencyKey: 'batch-key' },
        { command: 'IDEM_RACE', payload: 3 },
      ]);
      expect(batch[0]!.id).toBe(batch[1]!.id);
      expect(batch[2]!.id).not.toBe(batch[0]!.id);
      expect(await enqueuedEvents(engine, 'IDEM_RACE')).toBe(3);
      expect((await engine.queueStats('IDEM_RACE')).ready).toBe(3);
    } finally {
      await other.close();
    }
  });

  it('survives a projection rebuild and refuses the key for another command', async () => {
    const a = await engine.enqueue({ command: 'IDEM_RB', payload: {}, idempotencyKey: 'rb-key' });
    await engine.rebuildProjection();
    const b = await engine.enqueue({ command: 'IDEM_RB', payload: {}, idempotencyKey: 'rb-key' });
    expect(b.id).toBe(a.id);
    await expect(
      engine.enqueue({ command: 'OTHER', payload: {}, idempotencyKey: 'rb-key' }),
    ).rejects.toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
    });
    expect(await enqueuedEvents(engine, 'IDEM_RB')).toBe(1);
    expect(await enqueuedEvents(engine, 'OTHER')).toBe(0);
  });
});

describe('idempotency keys outlive Redis and the duplicate window', () => {
  it('a keyed repeat after the window, during the rebuild of a wiped Redis, answers the same task', async () => {
    // A short msg-id window, so the log's deduplication cannot be what answers the repeat.
    const { engine, deployment, close } = await createTestEngine({ streamDuplicateWindowMs: 500 });
    try {
      // Enough tasks that the rebuild takes a while.
      for (let i = 0; i < 4; i++) {
        await engine.enqueueMany(
          Array.from({ length: 1000 }, (_, j) => ({ command: 'BULK', payload: { i, j } })),
        );
      }
      const first = await engine.enqueue({ command: 'ORDER', payload: { v: 1 }, idempotencyKey: 'order-1' });
      await new Promise((r) => setTimeout(r, 800));
      await wipeDeploymentKeys(deployment);
      const rebuild = engine.rebuildProjection();
      const repeats = await Promise.all(
        Array.from({ length: 5 }, () =>
          engine.enqueue({ command: 'ORDER', payload: { v: 2 }, idempotencyKey: 'order-1' }),
        ),
      );
      await rebuild;
      // And once more after it, from the rebuilt projection.
      repeats.push(await engine.enqueue({ command: 'ORDER', payload: { v: 3 }, idempotencyKey: 'order-1' }));
      expect(new Set(repeats.map((t) => t.id))).toEqual(new Set([first.id]));
      expect(repeats.every((t) => (t.payload as { v: number }).v === 1)).toBe(true);
      expect(await enqueuedEvents(engine, 'ORDER')).toBe(1);
      expect((await engine.queueStats('ORDER')).ready).toBe(1);
      await expect(
        engine.enqueue({ command: 'OTHER', payload: {}, idempotencyKey: 'order-1' }),
      ).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    } finally {
      await close();
    }
  });

  it('a batch refused for a key conflict wrote none of its items (racing batches)', async () => {
    const { engine, deployment, close } = await createTestEngine();
    const other = await EngineClass.create(engineOptions(deployment));
    try {
      let refusedB = 0;
      let refusedA = 0;
      for (let round = 0; round < 30; round++) {
        const key = `race-${round}`;
        const [a, b] = await Promise.allSettled([
          engine.enqueueMany([{ command: 'RX', payload: { round }, idempotencyKey: key }]),
          other.enqueueMany([
            { command: 'RZ', payload: { round } },
            { command: 'RY', payload: { round }, idempotencyKey: key },
          ]),
        ]);
        // Exactly one side owns the key; the other is refused as a whole.
        expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
        const refused = (a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason) as {
          code: string;
        };
        expect(refused.code).toBe('IDEMPOTENCY_CONFLICT');
        if (b.status === 'rejected') refusedB++;
        else refusedA++;
      }
      // Every RZ in the log belongs to a batch that was answered with success.
      expect(await enqueuedEvents(engine, 'RZ')).toBe(refusedA);
      expect(await enqueuedEvents(engine, 'RY')).toBe(refusedA);
      expect(await enqueuedEvents(engine, 'RX')).toBe(refusedB);
      expect((await engine.queueStats('RZ')).ready).toBe(refusedA);
    } finally {
      await other.close();
      await close();
    }
  });
});

describe('a key bound by a request that died before its append', () => {
  it('is completed by the next request with that key, under the bound id', async () => {
    const { engine, deployment, close } = await createTestEngine();
    const nc = await connect({ servers: deployment.natsUrl });
    try {
      const registry = await IdempotencyRegistry.open(nc, {
        bucket: idempotencyBucket(deployment.streamName),
        ttlMs: 60_000,
      });
      const orphanId = randomUUID();
      expect((await registry.bind('orphan-key', orphanId, 'ORPHAN')).created).toBe(true);
      const task = await engine.enqueue({
        command: 'ORPHAN',
        payload: { v: 1 },
        idempotencyKey: 'orphan-key',
      });
      expect(task.id).toBe(orphanId);
      const again = await engine.enqueue({
        command: 'ORPHAN',
        payload: { v: 2 },
        idempotencyKey: 'orphan-key',
      });
      expect(again.id).toBe(orphanId);
      expect(await enqueuedEvents(engine, 'ORPHAN')).toBe(1);
      // The bound command still decides: another command is refused.
      await expect(
        engine.enqueue({ command: 'NOT_ORPHAN', payload: {}, idempotencyKey: 'orphan-key' }),
      ).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    } finally {
      await nc.close();
      await close();
    }
  });
});

describe('admin cleanup', () => {
  it('frees the keys of the tasks it deletes: a repeat makes a new task', async () => {
    const { engine, close } = await createTestEngine();
    try {
      const first = await engine.enqueue({
        command: 'CLEAN',
        payload: { v: 1 },
        idempotencyKey: 'clean-key',
      });
      const [claimed] = await engine.claim({ workerId: 'w', commands: ['CLEAN'] });
      await engine.complete({ taskId: claimed!.id, workerId: 'w', result: {} });
      expect(await engine.cleanup({ before: Date.now() + 1000, limit: 10 })).toEqual({ deleted: 1 });
      const again = await engine.enqueue({
        command: 'CLEAN',
        payload: { v: 2 },
        idempotencyKey: 'clean-key',
      });
      expect(again.id).not.toBe(first.id);
      expect(again.payload).toEqual({ v: 2 });
    } finally {
      await close();
    }
  });
});
