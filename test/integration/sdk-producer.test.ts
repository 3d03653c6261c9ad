/**
 * Producer over both transports: client-side batching (1,000 quick calls → few requests, each
 * promise its own task), per-item errors, retry without duplicates, reads, result waiting, cancel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import { Producer } from '../../src/sdk/producer.js';
import type { Transport } from '../../src/sdk/transport.js';
import { Worker } from '../../src/sdk/worker.js';
import { uniqueName } from '../support/servers.js';
import { KINDS, createHarness } from './sdk-harness.js';
import type { SdkHarness } from './sdk-harness.js';

/**
 * A transport whose enqueue requests are counted and whose first `failFirst` requests fail as a lost
 * connection would: over HTTP at the fetch level (after the server handled it), in-process around
 * the transport (after the engine handled it), so the retry must not create a duplicate.
 */
function instrumented(h: SdkHarness, failFirst = 0): { transport: Transport; requests: () => number } {
  let requests = 0;
  let failures = 0;
  if (h.kind === 'http') {
    const counting: typeof fetch = async (input, init) => {
      const url = String(input);
      if (!url.includes('/tasks') || init?.method !== 'POST') return fetch(input, init);
      requests++;
      const res = await fetch(input, init);
      if (failures++ < failFirst) throw new TypeError('fetch failed (simulated lost answer)');
      return res;
    };
    return { transport: h.transport({ fetch: counting }), requests: () => requests };
  }
  const inner = h.transport();
  const transport: Transport = Object.create(inner) as Transport;
  transport.enqueueMany = async (inputs) => {
    requests++;
    const out = await inner.enqueueMany(inputs);
    if (failures++ < failFirst) throw new CodeqError('UNAVAILABLE', 'simulated lost answer');
    return out;
  };
  return { transport, requests: () => requests };
}

describe.each(KINDS)('SDK producer over %s', (kind) => {
  let h: SdkHarness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h.close());

  it('batches 1,000 quick enqueue calls into few requests; each promise gets its own task', async () => {
    const command = uniqueName('BATCH');
    const { transport, requests } = instrumented(h);
    const producer = new Producer({ transport, batch: { maxSize: 100, maxDelayMs: 10 } });
    const tasks = await Promise.all(Array.from({ length: 1000 }, (_, i) => producer.enqueue(command, { i })));
    await producer.close();
    expect(requests()).toBeLessThanOrEqual(12);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(1000);
    tasks.forEach((t, i) => expect(t.payload).toEqual({ i }));
    // The server agrees: each id names the task with its caller's payload.
    const stored = await Promise.all(tasks.map((t) => h.engine.getTask(t.id)));
    stored.forEach((t, i) => expect(t.payload).toEqual({ i }));
    expect((await h.engine.queueStats(command)).ready).toBe(1000);
  });

  it('gives each call of a batch its own outcome when one item is invalid', async () => {
    const command = uniqueName('MIXED');
    const producer = new Producer({ transport: h.transport(), batch: { maxSize: 10, maxDelayMs: 20 } });
    const outcomes = await Promise.allSettled([
      producer.enqueue(command, { ok: 1 }),
      producer.enqueue('not a valid command!', { ok: 0 }),
      producer.enqueue(command, { ok: 2 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_INPUT' });
    expect((await h.engine.queueStats(command)).ready).toBe(2);
  });

  it('retries an enqueue whose answer was lost without creating a duplicate', async () => {
    const command = uniqueName('RETRY');
    const { transport, requests } = instrumented(h, 1);
    const producer = new Producer({ transport, retry: { baseDelayMs: 10 } });
    const task = await producer.enqueue(command, { once: true });
    await producer.close();
    expect(requests()).toBe(2);
    expect((await h.engine.getTask(task.id)).payload).toEqual({ once: true });
    expect((await h.engine.queueStats(command)).ready).toBe(1);
  });

  it('reads tasks, waits for results, shows history, cancels and counts', async () => {
    const command = uniqueName('READ');
    const producer = new Producer({ transport: h.transport() });
    const task = await producer.enqueue(command, { n: 21 }, { priority: 5 });
    expect(await producer.get(task.id)).toMatchObject({ id: task.id, status: 'PENDING', priority: 5 });
    expect((await producer.result(task.id)).result).toBeUndefined();

    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      waitSeconds: 1,
      handler: async (job) => ({ doubled: (job.payload as { n: number }).n * 2 }),
    });
    const { task: done, result } = await producer.result<{ doubled: number }>(task.id, { waitMs: 10_000 });
    await worker.close();
    expect(done.status).toBe('COMPLETED');
    expect(result?.result).toEqual({ doubled: 42 });
    expect((await producer.history(task.id)).map((e) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'completed',
    ]);

    const later = await producer.enqueue(command, {}, { delaySeconds: 60 });
    expect(await producer.stats(command)).toMatchObject({ delayed: 1, ready: 0, inProgress: 0 });
    expect((await producer.cancel(later.id, 'not needed')).status).toBe('CANCELLED');
    await expect(producer.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await producer.close();
  });
});
