/**
 * The SDK worker and producer with cancel and progress, over both transports: a task cancelled
 * while its handler runs aborts the handler's signal (reason `cancelled`) and nothing is sent for
 * it afterwards; `job.updateProgress` is recorded on the server; the producer's bulk cancel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqError } from '../../src/errors.js';
import { JobAbortedError } from '../../src/sdk/errors.js';
import { Producer } from '../../src/sdk/producer.js';
import { Worker } from '../../src/sdk/worker.js';
import { uniqueName } from '../support/servers.js';
import { KINDS, createHarness, until } from './sdk-harness.js';
import type { SdkHarness } from './sdk-harness.js';

describe.each(KINDS)('SDK cancel and progress over %s', (kind) => {
  let h: SdkHarness;
  let producer: Producer;
  beforeAll(async () => {
    h = await createHarness(kind);
    producer = new Producer({ transport: h.transport() });
  });
  afterAll(async () => {
    await producer.close();
    await h.close();
  });

  it('a task cancelled while its handler runs: the signal fires (cancelled), no result is sent', async () => {
    const command = uniqueName('SDKCXL');
    const task = await producer.enqueue(command, { n: 1 });
    let reason: unknown;
    let progressed = false;
    const events: string[] = [];
    const errors: CodeqError[] = [];
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      leaseSeconds: 30,
      // Frequent heartbeats: the worker hears of the cancel quickly.
      heartbeat: 100,
      waitSeconds: 1,
      handler: async (job) => {
        await job.updateProgress(25, { stage: 'started' });
        progressed = true;
        await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
        reason = job.signal.reason;
        return { late: true };
      },
    });
    worker.on('cancelled', (job) => events.push(`cancelled ${job.id}`));
    worker.on('completed', (job) => events.push(`completed ${job.id}`));
    worker.on('failed', (job) => events.push(`failed ${job.id}`));
    worker.on('released', (job) => events.push(`released ${job.id}`));
    worker.on('error', (err) => errors.push(err));
    await until(() => progressed, 5000);
    const running = await producer.get(task.id);
    expect(running).toMatchObject({
      status: 'IN_PROGRESS',
      progress: 25,
      progressData: { stage: 'started' },
    });
    expect(typeof running.progressAt).toBe('number');

    const cancelled = await producer.cancel(task.id, 'user gave up');
    expect(cancelled.status).toBe('CANCELLED');
    await until(() => events.includes(`released ${task.id}`), 5000);
    await worker.close();

    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).reason).toBe('cancelled');
    expect((reason as JobAbortedError).code).toBe('TASK_CANCELLED');
    expect(events).toEqual([`cancelled ${task.id}`, `released ${task.id}`]);
    expect(errors).toEqual([]);
    const history = await producer.history(task.id);
    // Nothing after the cancel: the worker sent neither a result nor a nack.
    expect(history.map((e) => e.type).slice(-1)).toEqual(['cancelled']);
    expect(history.map((e) => e.type)).toContain('progressed');
    expect((await producer.get(task.id)).status).toBe('CANCELLED');
  });

  it('a result refused because the task was cancelled is a cancelled event, not an error', async () => {
    const command = uniqueName('SDKCXL2');
    const task = await producer.enqueue(command, {});
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const events: string[] = [];
    const worker = new Worker({
      transport: h.transport(),
      commands: [command],
      // No heartbeat: the worker first hears of the cancel when its result is refused.
      heartbeat: false,
      waitSeconds: 1,
      handler: async () => {
        started = true;
        await gate;
        return { done: true };
      },
    });
    worker.on('cancelled', (_job, error) => events.push(`cancelled ${error.code}`));
    worker.on('error', (error) => events.push(`error ${error.code}`));
    worker.on('released', () => events.push('released'));
    await until(() => started, 5000);
    await producer.cancel(task.id);
    release();
    await until(() => events.includes('released'), 5000);
    await worker.close();
    expect(events).toEqual(['cancelled TASK_CANCELLED', 'released']);
    expect((await producer.history(task.id)).map((e) => e.type).slice(-1)).toEqual(['cancelled']);
  });

  // An admin operation: HTTP and in-process only.
  it.skipIf(kind === 'nats')(
    "the producer's bulk cancel: dry run, then one operation over the matching tasks",
    async () => {
      const command = uniqueName('SDKBULK');
      const tasks = await producer.enqueueMany([1, 2, 3].map((n) => ({ command, payload: { n } })));
      const dry = await producer.cancelTasks({ command, state: 'pending' }, { dryRun: true });
      expect(dry).toMatchObject({ matched: 3, cancelled: 0, dryRun: true });
      const done = await producer.cancelTasks({ command }, { reason: 'cleanup' });
      expect(done).toMatchObject({ matched: 3, cancelled: 3, dryRun: false });
      for (const t of tasks) {
        const last = (await producer.history(t.id)).at(-1);
        expect(last).toMatchObject({
          type: 'cancelled',
          actor: kind === 'http' ? 'admin:sdk-admin' : 'admin:sdk',
          data: { reason: 'cleanup', operationId: done.operationId },
        });
      }
    },
  );
});
