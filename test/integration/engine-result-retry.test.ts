/**
 * A result whose answer was lost (the client timed out while the append went through) is retried
 * by the same worker: the retry answers as the success it was, with the recorded result, and
 * writes nothing. Anyone else, or another outcome, is still refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { createTestEngine } from '../support/engine.js';

describe('retried results', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, close } = await createTestEngine());
  });
  afterAll(async () => close());

  async function claimed(command: string, workerId: string): Promise<string> {
    await engine.enqueue({ command, payload: {} });
    const [task] = await engine.claim({ workerId, commands: [command] });
    return task!.id;
  }

  it('a repeated complete of the same worker answers the recorded result and writes nothing', async () => {
    const id = await claimed('RETRY_DONE', 'w-1');
    const first = await engine.complete({ taskId: id, workerId: 'w-1', result: { n: 1 } });
    const again = await engine.complete({ taskId: id, workerId: 'w-1', result: { n: 1 } });
    expect(again).toMatchObject({ taskId: id, status: 'COMPLETED', result: { n: 1 } });
    expect(again.completedAt).toBe(first.completedAt);
    // The batch route too, item by item.
    const [batched] = await engine.submitResults([
      { taskId: id, workerId: 'w-1', status: 'COMPLETED', result: { n: 1 } },
    ]);
    expect(batched).toMatchObject({ taskId: id, status: 'COMPLETED', result: { n: 1 } });
    const history = await engine.history(id);
    expect(history.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'completed']);
  });

  it('a repeated fail of the same worker answers the recorded failure', async () => {
    const id = await claimed('RETRY_FAIL', 'w-1');
    await engine.fail({ taskId: id, workerId: 'w-1', error: 'boom' });
    await expect(engine.fail({ taskId: id, workerId: 'w-1', error: 'boom' })).resolves.toMatchObject({
      status: 'FAILED',
      error: 'boom',
    });
  });

  it('another worker, another result or the other outcome is still refused', async () => {
    const id = await claimed('RETRY_OTHER', 'w-1');
    await engine.complete({ taskId: id, workerId: 'w-1', result: 1 });
    await expect(engine.complete({ taskId: id, workerId: 'w-2', result: 1 })).rejects.toMatchObject({
      code: expect.stringMatching(/WRONG_STATE|NOT_OWNER/),
    });
    await expect(engine.fail({ taskId: id, workerId: 'w-1', error: 'late' })).rejects.toMatchObject({
      code: 'WRONG_STATE',
    });
    await expect(engine.complete({ taskId: id, workerId: 'w-1', result: 2 })).rejects.toMatchObject({
      code: 'WRONG_STATE',
    });
    const [batched] = await engine.submitResults([{ taskId: id, workerId: 'w-2', status: 'COMPLETED' }]);
    expect(batched).toMatchObject({ code: expect.stringMatching(/WRONG_STATE|NOT_OWNER/) });
  });
});
