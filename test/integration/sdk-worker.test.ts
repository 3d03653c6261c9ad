/**
 * Worker behaviour over both transports: retry with backoff then dead-letter, "do not retry",
 * automatic heartbeats, lease loss (abort signal, refused late completion), graceful shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqError } from '../../src/errors.js';
import {
  JobAbortedError,
  LEASE_LOST_CODES,
  RateLimitedError,
  UnrecoverableError,
} from '../../src/sdk/errors.js';
import { Producer } from '../../src/sdk/producer.js';
import { sleep } from '../../src/sdk/retry.js';
import { Worker } from '../../src/sdk/worker.js';
import type { FailureInfo } from '../../src/sdk/worker.types.js';
import { uniqueName } from '../support/servers.js';
import { KINDS, createHarness, until } from './sdk-harness.js';
import type { SdkHarness } from './sdk-harness.js';

describe.each(KINDS)('SDK worker over %s', (kind) => {
  // Backoff waits seconds and its transport part (a nack) is covered by the UnrecoverableError case:
  // skipped over NATS to keep the suite's time.
  const slowOverNats = it.skipIf(kind === 'nats');
  let h: SdkHarness;
  let producer: Producer;
  beforeAll(async () => {
    // Linear backoff of 1 s per attempt so retries are visible but quick.
    h = await createHarness(kind, {
      BACKOFF_POLICY: 'linear',
      BACKOFF_BASE_SECONDS: '1',
      BACKOFF_MAX_SECONDS: '5',
    });
    producer = new Producer({ transport: h.transport() });
  });
  afterAll(async () => {
    await producer.close();
    await h.close();
  });

  slowOverNats('nacks a throwing handler, retries with backoff, then dead-letters', async () => {
    const command = uniqueName('FLAKY');
    const task = await producer.enqueue(command, { x: 1 }, { maxAttempts: 3 });
    const startedAt: number[] = [];
    const failures: FailureInfo[] = [];
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      waitSeconds: 1,
      handler: async () => {
        startedAt.push(Date.now());
        throw new Error('boom');
      },
    });
    worker.on('failed', (_job, _err, info) => failures.push(info));
    await until(() => failures.length === 3, 20_000);
    await worker.close();

    expect(failures.map((f) => f.outcome)).toEqual(['retry', 'retry', 'dead']);
    expect(failures[0]?.delaySeconds).toBe(1);
    expect(failures[1]?.delaySeconds).toBe(2);
    // The server's backoff spaced the deliveries: ~1 s, then ~2 s.
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(900);
    expect(startedAt[2]! - startedAt[1]!).toBeGreaterThanOrEqual(1900);
    const after = await producer.get(task.id);
    expect(after).toMatchObject({ status: 'FAILED', attempts: 3, error: 'boom' });
    expect((await producer.stats(command)).dlq).toBe(1);
    const types = (await producer.history(task.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'nacked')).toHaveLength(2);
    expect(types.at(-1)).toBe('dlq');
  });

  it('dead-letters a task at once on UnrecoverableError ("do not retry")', async () => {
    const command = uniqueName('FATAL');
    const task = await producer.enqueue(command, {}, { maxAttempts: 5 });
    let calls = 0;
    const failures: FailureInfo[] = [];
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      waitSeconds: 1,
      handler: async () => {
        calls++;
        throw new UnrecoverableError('bad payload');
      },
    });
    worker.on('failed', (_job, _err, info) => failures.push(info));
    await until(() => failures.length === 1);
    await sleep(300);
    await worker.close();
    expect(calls).toBe(1);
    expect(failures[0]).toMatchObject({ outcome: 'dead', via: 'nack' });
    const { task: after, result } = await producer.result(task.id);
    expect(after).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(result).toMatchObject({ status: 'FAILED', error: 'bad payload' });
    // In the dead-letter queue (an admin can requeue it), after one delivery of five allowed.
    const history = await producer.history(task.id);
    expect(history.at(-1)).toMatchObject({ type: 'dlq', data: { cause: 'rejected', reason: 'bad payload' } });
    expect(history.filter((e) => e.type === 'claimed')).toHaveLength(1);
  });

  it('gives a rate-limited task back without spending its attempt on RateLimitedError', async () => {
    const command = uniqueName('RATED');
    // One attempt allowed: a plain failure would dead-letter it.
    const task = await producer.enqueue(command, {}, { maxAttempts: 1, groupKey: 'upstream-a' });
    const failures: FailureInfo[] = [];
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      waitSeconds: 1,
      handler: async () => {
        throw new RateLimitedError('429 from upstream', 60);
      },
    });
    worker.on('failed', (_job, _err, info) => failures.push(info));
    await until(() => failures.length === 1);
    await worker.close();
    // The delay is the handler's, capped at backoffMaxSeconds as for any nack.
    expect(failures[0]).toMatchObject({ outcome: 'retry', via: 'nack' });
    expect(failures[0]!.outcome === 'retry' && failures[0]!.delaySeconds).toBeGreaterThan(0);
    const { task: after } = await producer.result(task.id);
    expect(after).toMatchObject({ status: 'PENDING', attempts: 0 });
    const history = await producer.history(task.id);
    expect(history.at(-1)).toMatchObject({ type: 'rateLimited', data: { attempts: 0 } });
  });

  it('keeps the task through automatic heartbeats when the handler outlives its lease', async () => {
    const command = uniqueName('LONG');
    const task = await producer.enqueue(command, {});
    let aborted = false;
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      leaseSeconds: 2,
      waitSeconds: 1,
      handler: async (job) => {
        await sleep(2500);
        // Past the first lease: a repair pass now must not take the task away.
        await h.engine.runBackgroundOnce();
        await sleep(2500);
        aborted = job.signal.aborted;
        return { done: true };
      },
    });
    const completed: string[] = [];
    worker.on('completed', (job) => completed.push(job.id));
    await until(() => completed.length === 1, 15_000);
    await worker.close();
    expect(aborted).toBe(false);
    const after = await producer.get(task.id);
    expect(after).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    const types = (await producer.history(task.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'heartbeat').length).toBeGreaterThanOrEqual(5);
    expect(types).not.toContain('leaseExpired');
  });

  it('aborts the handler when the lease is lost, and the late completion is refused', async () => {
    const command = uniqueName('LOST');
    const task = await producer.enqueue(command, {});
    let reason: unknown;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const errors: CodeqError[] = [];
    const completed: string[] = [];
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      // Heartbeats paused: the 1 s lease runs out while the handler still works.
      leaseSeconds: 1,
      heartbeat: false,
      waitSeconds: 1,
      handler: async (job) => {
        await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
        reason = job.signal.reason;
        await gate; // return only after the server repaired the lease: a truly late completion
        return { late: true };
      },
    });
    worker.on('error', (err) => errors.push(err));
    worker.on('completed', (job) => completed.push(job.id));
    await until(() => reason !== undefined, 5000);
    // Stop claiming (so the repaired task is not simply taken again) while the handler still runs.
    const closing = worker.close({ timeoutMs: 20_000 });
    // Force the server-side expiry now rather than waiting for the sweeper.
    await until(async () => ((await producer.get(task.id)).leaseUntil ?? 0) < Date.now());
    await h.engine.runBackgroundOnce();
    expect((await producer.history(task.id)).map((e) => e.type)).toContain('leaseExpired');
    release();
    await until(() => errors.length > 0, 5000);
    await closing;

    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).reason).toBe('leaseLost');
    expect(completed).toEqual([]);
    expect(LEASE_LOST_CODES).toContain(errors[0]?.code);
    const types = (await producer.history(task.id)).map((e) => e.type);
    expect(types).not.toContain('completed');
    expect((await producer.get(task.id)).status).toBe('PENDING');
  });

  it('shuts down gracefully mid-drain: afterwards every task is completed or claimable', async () => {
    const command = uniqueName('SHUT');
    const total = 300;
    const tasks = await producer.enqueueMany(
      Array.from({ length: total }, (_, i) => ({ command, payload: { i, slow: i % 40 === 0 } })),
    );
    let done = 0;
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      concurrency: 32,
      waitSeconds: 1,
      handler: async (job) => {
        const { slow } = job.payload as { slow: boolean };
        // Slow handlers ignore the abort for a while (well past close's 300 ms) and then return: that
        // late result must be ignored.
        if (slow) await sleep(1500);
        else await sleep(20);
        return {};
      },
    });
    worker.on('completed', () => done++);
    await until(() => done >= 100);
    await worker.close({ timeoutMs: 300 });

    const stats = await producer.stats(command);
    expect(stats.inProgress).toBe(0);
    expect(stats.delayed).toBe(0);
    const views = await Promise.all(tasks.map((t) => producer.get(t.id)));
    const byStatus = (s: string) => views.filter((v) => v.status === s).length;
    expect(byStatus('COMPLETED') + byStatus('PENDING')).toBe(total);
    expect(byStatus('PENDING')).toBe(stats.ready);
    expect(byStatus('PENDING')).toBeGreaterThan(0);

    // Another worker takes the rest at once; nothing is completed twice.
    await sleep(1500); // the abandoned slow handlers return meanwhile (ignored)
    const second = new Worker({
      transport: h.transport({ worker: 2 }),
      commands: [command],
      concurrency: 32,
      waitSeconds: 1,
      handler: async () => ({}),
    });
    await until(async () => (await producer.stats(command)).ready === 0 && second.running === 0, 20_000);
    await second.close();
    const histories = await Promise.all(tasks.map((t) => producer.history(t.id)));
    for (const events of histories) expect(events.filter((e) => e.type === 'completed')).toHaveLength(1);
  });
});
