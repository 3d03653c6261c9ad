import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { Engine as EngineClass } from '../../src/engine/engine.js';
import { createTestEngine, engineOptions, type TestDeployment } from '../support/engine.js';

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
