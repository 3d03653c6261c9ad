/**
 * Throughput and exactly-once completion: a worker with concurrency 32 drains 10,000 tasks over each
 * transport, and every task is completed exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../src/sdk/producer.js';
import { Worker } from '../../src/sdk/worker.js';
import { uniqueName } from '../support/servers.js';
import { KINDS, createHarness, until } from './sdk-harness.js';
import type { SdkHarness } from './sdk-harness.js';

const TOTAL = 10_000;

describe.each(KINDS)('SDK drain over %s', (kind) => {
  let h: SdkHarness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h.close());

  it('drains 10,000 tasks with concurrency 32, each completed exactly once', async () => {
    const command = uniqueName('DRAIN');
    const producer = new Producer({ transport: h.transport() });
    const started = Date.now();
    const tasks = await producer.enqueueMany(
      Array.from({ length: TOTAL }, (_, i) => ({ command, payload: { i } })),
    );
    expect(new Set(tasks.map((t) => t.id)).size).toBe(TOTAL);
    const enqueuedMs = Date.now() - started;

    const calls = new Map<string, number>();
    const completed = new Set<string>();
    const errors: unknown[] = [];
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      concurrency: 32,
      waitSeconds: 1,
      handler: async (job) => {
        calls.set(job.id, (calls.get(job.id) ?? 0) + 1);
        return { i: (job.payload as { i: number }).i };
      },
    });
    worker.on('completed', (job) => completed.add(job.id));
    worker.on('error', (err) => errors.push(err));
    await until(() => completed.size === TOTAL, 50_000);
    const drainedMs = Date.now() - started - enqueuedMs;
    await worker.close();

    expect(errors).toEqual([]);
    expect(calls.size).toBe(TOTAL);
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
    const stats = await h.engine.queueStats(command);
    expect(stats).toMatchObject({ ready: 0, delayed: 0, inProgress: 0, dlq: 0 });
    const done = await h.engine.listTasks(command, 'done', { limit: 1 });
    expect(done.total).toBe(TOTAL);
    console.log(
      `[sdk-drain ${kind}] enqueue ${enqueuedMs} ms, drain ${drainedMs} ms (${Math.round((TOTAL * 1000) / drainedMs)} tasks/s)`,
    );
  });
});
