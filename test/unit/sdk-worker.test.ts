/**
 * Worker and producer logic against an in-memory fake transport: a refused heartbeat aborts the
 * handler's signal, RetryLaterError chooses the nack delay, results are normalised, close() abandons
 * what does not finish in time, and the producer's batcher groups quick calls.
 */
import { describe, expect, it } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import { AbandonError, JobAbortedError, LetLeaseExpireError, RetryLaterError } from '../../src/sdk/errors.js';
import { Producer } from '../../src/sdk/producer.js';
import { sleep } from '../../src/sdk/retry.js';
import type { Task, Transport } from '../../src/sdk/transport.js';
import { Worker, toResultObject } from '../../src/sdk/worker.js';

function task(id: string): Task {
  return {
    id,
    command: 'C',
    payload: { id },
    priority: 0,
    status: 'IN_PROGRESS',
    attempts: 1,
    maxAttempts: 5,
    createdAt: 0,
    updatedAt: 0,
  };
}

/** Resolves once `check` holds (polls every 5 ms, up to 2 s). */
async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 2000) throw new Error('condition not met within 2 s');
    await sleep(5);
  }
}

/** A fake transport: hands out `queue` once, records every call. */
function fake(queue: Task[], overrides: Partial<Transport> = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const t: Transport = {
    kind: 'fake',
    maxEnqueueBatch: 1000,
    maxClaimBatch: 100,
    abortableClaims: true,
    enqueueMany: async (inputs) => {
      calls.push(['enqueueMany', inputs.length]);
      return inputs.map((input, i) => ({
        ...task(`t${i}`),
        payload: input.payload,
        status: 'PENDING' as const,
      }));
    },
    claim: async (input) => {
      const out = queue.splice(0, input.count);
      if (out.length === 0) await sleep(20, input.signal).catch(() => undefined);
      return out;
    },
    heartbeat: async (id) => {
      calls.push(['heartbeat', id]);
      return { leaseUntil: Date.now() + 30_000 };
    },
    nack: async (id, options) => {
      calls.push(['nack', id, options]);
      return { status: 'requeued', delaySeconds: options.delaySeconds ?? 5 };
    },
    abandon: async (id) => {
      calls.push(['abandon', id]);
    },
    completeMany: async (items) => {
      calls.push(['completeMany', items.map((i) => i.taskId)]);
      return items.map((i) => ({
        ok: true,
        value: { taskId: i.taskId, status: 'COMPLETED', result: i.result, completedAt: 0 },
      }));
    },
    fail: async (id, error) => {
      calls.push(['fail', id, error]);
      return { taskId: id, status: 'FAILED', error, completedAt: 0 };
    },
    getTask: async (id) => task(id),
    getResult: async (id) => ({ task: task(id) }),
    history: async () => [],
    cancel: async (id) => task(id),
    queueStats: async (command) => ({ command, ready: 0, delayed: 0, inProgress: 0, dlq: 0, paused: false }),
    progress: async (id, value, data) => {
      calls.push(['progress', id, value, data]);
      return { progressAt: Date.now() };
    },
    cancelTasks: async () => ({ operationId: 'op', matched: 0, cancelled: 0, dryRun: true }),
    close: async () => undefined,
    ...overrides,
  };
  return { transport: t, calls };
}

describe('Worker (fake transport)', () => {
  it('aborts the signal with leaseLost when a heartbeat is refused', async () => {
    const { transport } = fake([task('a')], {
      heartbeat: async () => {
        throw new CodeqError('NOT_OWNER', 'not-owner');
      },
    });
    let reason: unknown;
    const worker = new Worker({
      transport,
      commands: ['C'],
      heartbeat: 20,
      handler: async (job) => {
        await new Promise((r) => job.signal.addEventListener('abort', r, { once: true }));
        reason = job.signal.reason;
      },
    });
    const lost: string[] = [];
    worker.on('leaseLost', (job) => lost.push(job.id));
    worker.on('error', () => undefined);
    await sleep(150);
    await worker.close();
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).reason).toBe('leaseLost');
    expect(lost).toEqual(['a']);
  });

  it('many claim loops waiting on one stop signal raise no listener-leak warning', async () => {
    const { transport } = fake([]);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const worker = new Worker({
        transport,
        commands: ['C'],
        concurrency: 160,
        claimBatchSize: 10,
        claimLoops: 16,
        handler: () => undefined,
      });
      await sleep(60);
      await worker.close();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('nacks with the delay of a RetryLaterError and the message as reason', async () => {
    const { transport, calls } = fake([task('b')]);
    const worker = new Worker({
      transport,
      commands: ['C'],
      handler: async () => {
        throw new RetryLaterError('rate limited', 7.2);
      },
    });
    await sleep(80);
    await worker.close();
    expect(calls).toContainEqual(['nack', 'b', { reason: 'rate limited', delaySeconds: 8 }]);
  });

  it('close() abandons handlers that outlive the timeout and signals them', async () => {
    const { transport, calls } = fake([task('c'), task('d')]);
    const reasons: unknown[] = [];
    const worker = new Worker({
      transport,
      commands: ['C'],
      handler: async (job) => {
        if (job.id === 'c') return 'quick';
        await new Promise((r) => job.signal.addEventListener('abort', r, { once: true }));
        reasons.push(job.signal.reason);
        return 'too late';
      },
    });
    await sleep(50);
    await worker.close({ timeoutMs: 50 });
    await sleep(20);
    expect(calls).toContainEqual(['completeMany', ['c']]);
    expect(calls).toContainEqual(['abandon', 'd']);
    expect(calls.filter((c) => c[0] === 'completeMany').flatMap((c) => c[1] as string[])).not.toContain('d');
    expect((reasons[0] as JobAbortedError).reason).toBe('shutdown');
    expect(worker.running).toBe(0);
  });

  it("creates a job's abort signal only when read; read after a lost lease, it is already aborted", async () => {
    const { transport } = fake([task('e'), ...Array.from({ length: 20 }, (_, i) => task(`q${i}`))], {
      heartbeat: async () => {
        throw new CodeqError('NOT_OWNER', 'not-owner');
      },
    });
    let controllers = 0;
    const Original = globalThis.AbortController;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        controllers++;
      }
    };
    let lostSignal: AbortSignal | undefined;
    try {
      const worker = new Worker({
        transport,
        commands: ['C'],
        heartbeat: 20,
        autorun: false,
        handler: async (job) => {
          if (job.id !== 'e') return 'quick'; // never reads job.signal
          await until(() => lost.length > 0);
          lostSignal = job.signal; // first read: after the lease was lost
        },
      });
      const lost: string[] = [];
      worker.on('leaseLost', (job) => lost.push(job.id));
      worker.on('error', () => undefined);
      const ownControllers = controllers; // the worker's own (shutdown)
      void worker.run();
      await until(() => lostSignal !== undefined);
      await worker.close();
      expect(controllers - ownControllers).toBe(1); // the one read, not one per task
    } finally {
      globalThis.AbortController = Original;
    }
    expect(lostSignal?.aborted).toBe(true);
    expect((lostSignal?.reason as JobAbortedError).reason).toBe('leaseLost');
  });

  it('job methods work detached (destructured), and progress is stored, emitted and sent to the server', async () => {
    const { transport, calls } = fake([task('f')]);
    const worker = new Worker({
      transport,
      commands: ['C'],
      handler: async ({ updateProgress, extendLease, signal }) => {
        await updateProgress(50, { step: 'a' });
        await extendLease();
        return { aborted: signal.aborted };
      },
    });
    const progress: unknown[] = [];
    const results: unknown[] = [];
    worker.on('progress', (job, value, data) => progress.push([job.id, value, data, job.progress]));
    worker.on('completed', (_job, result) => results.push(result.result));
    await until(() => results.length === 1);
    await worker.close();
    expect(progress).toEqual([['f', 50, { step: 'a' }, 50]]);
    expect(calls.filter((c) => c[0] === 'progress')).toEqual([['progress', 'f', 50, { step: 'a' }]]);
    // Progress does not move the lease: only extendLease heartbeats.
    expect(calls.filter((c) => c[0] === 'heartbeat')).toEqual([['heartbeat', 'f']]);
    expect(results).toEqual([{ aborted: false }]);
  });

  it('progress reports made while one is in flight are coalesced, the latest winning', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sent: number[] = [];
    const { transport } = fake([task('p')], {
      progress: async (_id, value) => {
        sent.push(value);
        if (sent.length === 1) await gate;
        return { progressAt: 0 };
      },
    });
    const settled: number[] = [];
    const worker = new Worker({
      transport,
      commands: ['C'],
      handler: async (job) => {
        const first = job.updateProgress(10).then(() => settled.push(10));
        const later = [20, 30, 40].map((v) => job.updateProgress(v).then(() => settled.push(v)));
        release();
        await Promise.all([first, ...later]);
        return {};
      },
    });
    await until(() => settled.length === 4);
    await worker.close();
    expect(sent).toEqual([10, 40]);
    expect(settled.sort((a, b) => a - b)).toEqual([10, 20, 30, 40]);
  });

  it('a task cancelled while it runs: the signal fires with reason cancelled and no result is sent', async () => {
    let beats = 0;
    const { transport, calls } = fake([task('x')], {
      heartbeat: async () => {
        beats++;
        throw new CodeqError('TASK_CANCELLED', 'cancelled');
      },
    });
    const events: string[] = [];
    let reason: unknown;
    const worker = new Worker({
      transport,
      commands: ['C'],
      heartbeat: 10,
      handler: async ({ signal }) => {
        await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
        reason = signal.reason;
        return { ignored: true };
      },
    });
    worker.on('cancelled', (job, error) => events.push(`cancelled ${job.id} ${error.code}`));
    worker.on('leaseLost', () => events.push('leaseLost'));
    worker.on('completed', () => events.push('completed'));
    worker.on('error', (error) => events.push(`error ${error.code}`));
    worker.on('released', (job) => events.push(`released ${job.id}`));
    await until(() => events.includes('released x'));
    await worker.close();
    expect(beats).toBe(1);
    expect(events).toEqual(['cancelled x TASK_CANCELLED', 'released x']);
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).reason).toBe('cancelled');
    expect(calls.filter((c) => c[0] === 'completeMany' || c[0] === 'nack')).toEqual([]);
  });

  it('a progress report refused with TASK_CANCELLED rejects and aborts the job', async () => {
    const { transport, calls } = fake([task('y')], {
      progress: async () => {
        throw new CodeqError('TASK_CANCELLED', 'cancelled');
      },
    });
    const outcome: unknown[] = [];
    const worker = new Worker({
      transport,
      commands: ['C'],
      handler: async (job) => {
        await job.updateProgress(5).catch((err: JobAbortedError) => outcome.push(err.reason));
        outcome.push(job.signal.aborted);
        return {};
      },
    });
    const released: string[] = [];
    worker.on('released', (job) => released.push(job.id));
    await until(() => released.length === 1);
    await worker.close();
    expect(outcome).toEqual(['cancelled', true]);
    expect(calls.filter((c) => c[0] === 'completeMany')).toEqual([]);
  });

  it('settles synchronous handlers: a value completes, a throw nacks', async () => {
    const { transport, calls } = fake([task('g'), task('h')]);
    const worker = new Worker({
      transport,
      commands: ['C'],
      handler: (job) => {
        if (job.id === 'h') throw new Error('sync failure');
        return 7;
      },
    });
    const events: unknown[] = [];
    worker.on('completed', (job, result) => events.push(['completed', job.id, result.result]));
    worker.on('failed', (job, err, info) => events.push(['failed', job.id, err.message, info.outcome]));
    await until(() => events.length === 2);
    await worker.close();
    expect(events).toContainEqual(['completed', 'g', { value: 7 }]);
    expect(events).toContainEqual(['failed', 'h', 'sync failure', 'retry']);
    expect(calls).toContainEqual(['nack', 'h', { reason: 'sync failure' }]);
    expect(worker.running).toBe(0);
  });

  it('maxTasks: claims no more than that many, lets them finish, then closes and run() resolves', async () => {
    const { transport, calls } = fake(Array.from({ length: 10 }, (_, i) => task(`m${i}`)));
    const counts: number[] = [];
    const claim = transport.claim.bind(transport);
    transport.claim = (input) => {
      counts.push(input.count);
      return claim(input);
    };
    const worker = new Worker({
      transport,
      commands: ['C'],
      concurrency: 3,
      maxTasks: 4,
      shutdownTimeoutMs: 10, // not applied: the last task outlives it and still completes
      autorun: false,
      handler: async (job) => {
        await sleep(job.id === 'm3' ? 60 : 5);
        return job.id;
      },
    });
    const released: string[] = [];
    let closed = false;
    worker.on('released', (job) => released.push(job.id));
    worker.on('closed', () => (closed = true));
    await worker.run();
    expect(closed).toBe(true);
    expect(released.sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(4);
    expect(
      calls
        .filter((c) => c[0] === 'completeMany')
        .flatMap((c) => c[1] as string[])
        .sort(),
    ).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(calls.some((c) => c[0] === 'abandon')).toBe(false);
  });

  it('rejects a maxTasks that is not a whole number >= 1, and empty commands unless the transport allows them', () => {
    const { transport } = fake([]);
    const make = (options: { maxTasks?: number; commands?: string[] }) =>
      new Worker({ transport, commands: ['C'], autorun: false, handler: () => undefined, ...options });
    expect(() => make({ maxTasks: 0 })).toThrow(/maxTasks/);
    expect(() => make({ maxTasks: 1.5 })).toThrow(/maxTasks/);
    expect(() => make({ commands: [] })).toThrow(/commands must not be empty/);
    const open = fake([], { claimsWithoutCommands: true }).transport;
    expect(
      () => new Worker({ transport: open, commands: [], autorun: false, handler: () => 1 }),
    ).not.toThrow();
  });

  it('stopOnPermanentClaimError: a refused claim closes the worker and run() rejects; transient ones are retried', async () => {
    let claims = 0;
    const { transport, calls } = fake([task('p')], {
      claim: async () => {
        claims++;
        if (claims === 1) throw new CodeqError('UNAVAILABLE', 'connection refused');
        if (claims === 2) return [task('p')];
        throw new CodeqError('INVALID_INPUT', 'event type not allowed', { details: { status: 403 } });
      },
    });
    const worker = new Worker({
      transport,
      commands: ['C'],
      concurrency: 2,
      stopOnPermanentClaimError: true,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
      handler: async () => {
        await sleep(30);
        return 'done';
      },
    });
    const errors: string[] = [];
    worker.on('error', (err) => errors.push(err.code));
    const completed: string[] = [];
    worker.on('completed', (job) => completed.push(job.id));
    await expect(worker.run()).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(errors).toEqual(['UNAVAILABLE', 'INVALID_INPUT']);
    expect(claims).toBe(3);
    // The task running when the claim was refused finished before run() rejected.
    expect(completed).toEqual(['p']);
    expect(calls).toContainEqual(['completeMany', ['p']]);
    expect(worker.isClosing).toBe(true);
  });

  it('AbandonError abandons the task, LetLeaseExpireError records nothing; both report failed, then released', async () => {
    const { transport, calls } = fake([task('x'), task('y')]);
    const worker = new Worker({
      transport,
      commands: ['C'],
      handler: (job) => {
        throw job.id === 'x' ? new AbandonError() : new LetLeaseExpireError();
      },
    });
    const events: unknown[] = [];
    worker.on('failed', (job, _err, info) => events.push(['failed', job.id, info]));
    worker.on('released', (job) => events.push(['released', job.id]));
    await until(() => events.length === 4);
    await worker.close();
    expect(events.filter((e) => (e as string[])[1] === 'x')).toEqual([
      ['failed', 'x', { outcome: 'retry', via: 'abandon' }],
      ['released', 'x'],
    ]);
    expect(events.filter((e) => (e as string[])[1] === 'y')).toEqual([
      ['failed', 'y', { outcome: 'leaseExpiry', via: 'none' }],
      ['released', 'y'],
    ]);
    expect(calls).toContainEqual(['abandon', 'x']);
    expect(calls.filter((c) => c[1] === 'y')).toEqual([]);
  });

  it('stores non-object results as { value }', () => {
    expect(toResultObject(undefined)).toEqual({});
    expect(toResultObject({ a: 1 })).toEqual({ a: 1 });
    expect(toResultObject(3)).toEqual({ value: 3 });
    expect(toResultObject([1])).toEqual({ value: [1] });
  });
});

describe('Producer (fake transport)', () => {
  it('groups quick enqueue calls by size and adds idempotency keys', async () => {
    const seen: Array<string | undefined> = [];
    const { transport, calls } = fake([], {
      enqueueMany: async (inputs) => {
        calls.push(['enqueueMany', inputs.length]);
        seen.push(...inputs.map((i) => i.idempotencyKey));
        return inputs.map((input, i) => ({ ...task(`t${i}`), payload: input.payload }));
      },
    });
    const producer = new Producer({ transport, batch: { maxSize: 50, maxDelayMs: 5 } });
    const tasks = await Promise.all(Array.from({ length: 120 }, (_, i) => producer.enqueue('C', { i })));
    expect(calls.map((c) => c[1])).toEqual([50, 50, 20]);
    tasks.forEach((t, i) => expect(t.payload).toEqual({ i }));
    expect(seen.every((k) => typeof k === 'string' && k.startsWith('sdk-'))).toBe(true);
    await producer.close();
    await expect(producer.enqueue('C', {})).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
