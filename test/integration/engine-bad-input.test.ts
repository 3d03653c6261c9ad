import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { EnqueueInput } from '../../src/engine/engine.types.js';
import {
  ARTIFACTS_MAX,
  CLAIM_COMMANDS_MAX,
  CLAIM_COUNT_MAX,
  DELAY_SECONDS_MAX,
  ENQUEUE_BATCH_MAX,
  LEASE_SECONDS_MAX,
  REASON_MAX_LENGTH,
  RESULT_BATCH_MAX,
} from '../../src/contract/limits.js';
import { createTestEngine } from '../support/engine.js';

describe('bad input changes nothing', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, close } = await createTestEngine({ settings: { maxPayloadBytes: 1000 } }));
  });
  afterAll(async () => close());

  const bad: [string, EnqueueInput, string][] = [
    ['dot in command', { command: 'a.b', payload: {} }, 'invalid command'],
    ['space in command', { command: 'a b', payload: {} }, 'invalid command'],
    ['wildcard *', { command: '*', payload: {} }, 'invalid command'],
    ['wildcard >', { command: '>', payload: {} }, 'invalid command'],
    ['empty command', { command: '', payload: {} }, 'invalid command'],
    ['10 KB command', { command: 'x'.repeat(10_000), payload: {} }, 'invalid command'],
    ['non-string command', { command: 42 as unknown as string, payload: {} }, 'invalid command'],
    ['payload over the limit', { command: 'OK', payload: 'x'.repeat(2000) }, 'payload too large'],
    ['missing payload', { command: 'OK' } as EnqueueInput, 'payload is required'],
    ['fractional priority', { command: 'OK', payload: {}, priority: 1.5 }, "invalid 'priority'"],
    [
      'string priority',
      { command: 'OK', payload: {}, priority: '9' as unknown as number },
      "invalid 'priority'",
    ],
    [
      'negative delay',
      { command: 'OK', payload: {}, delaySeconds: -1 },
      "invalid 'delaySeconds' (must be >= 0)",
    ],
    ['NaN runAt', { command: 'OK', payload: {}, runAt: Number.NaN }, "invalid 'runAt' (use RFC3339)"],
    ['ftp webhook', { command: 'OK', payload: {}, webhook: 'ftp://x/y' }, 'invalid webhook url'],
    ['relative webhook', { command: 'OK', payload: {}, webhook: '/callback' }, 'invalid webhook url'],
    [
      'webhook with credentials',
      { command: 'OK', payload: {}, webhook: 'http://user:secret@hooks.example.com/x' },
      'invalid webhook url',
    ],
    [
      'idempotency key with spaces',
      { command: 'OK', payload: {}, idempotencyKey: 'a b' },
      "invalid 'idempotencyKey'",
    ],
  ];

  it.each(bad)('refuses %s', async (_name, input, message) => {
    await expect(engine.enqueue(input)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining(message),
    });
  });

  it('a batch with one bad task writes none of it', async () => {
    await expect(
      engine.enqueueMany([
        { command: 'BATCH_OK', payload: 1 },
        { command: 'bad.command', payload: 2 },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(await engine.queueStats('BATCH_OK')).toMatchObject({ ready: 0 });
  });

  it('an enqueue or batch with a credentialed webhook is refused and writes nothing', async () => {
    const webhook = 'https://user:secret@hooks.example.com/done';
    await expect(engine.enqueue({ command: 'CRED_ONE', payload: 1, webhook })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'invalid webhook url',
      details: { reason: 'credentials in the URL' },
    });
    await expect(
      engine.enqueueMany([
        { command: 'CRED_BATCH', payload: 1 },
        { command: 'CRED_BATCH', payload: 2, webhook },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'invalid webhook url' });
    expect(await engine.queueStats('CRED_ONE')).toMatchObject({ ready: 0, delayed: 0 });
    expect(await engine.queueStats('CRED_BATCH')).toMatchObject({ ready: 0, delayed: 0 });
  });

  it('refuses bad claims and bad worker commands', async () => {
    await expect(engine.claim({ workerId: 'w', commands: [] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(engine.claim({ workerId: 'w', commands: ['a.b'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(engine.claim({ workerId: '', commands: ['OK'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(engine.claim({ workerId: 'w', commands: ['OK'], count: 0 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(engine.claim({ workerId: 'w', commands: ['OK'], leaseSeconds: -5 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(engine.claim({ workerId: 'w', commands: ['OK'], waitSeconds: -1 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    const task = await engine.enqueue({ command: 'BAD_WORKER', payload: {} });
    await engine.claim({ workerId: 'w', commands: ['BAD_WORKER'] });
    await expect(engine.nack({ taskId: task.id, workerId: 'w', delaySeconds: -3 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(engine.fail({ taskId: task.id, workerId: 'w', error: '' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(
      engine.heartbeat({ taskId: task.id, workerId: 'w', extendSeconds: -1 }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect((await engine.history(task.id)).events.map((e) => e.type)).toEqual(['enqueued', 'claimed']);
  });

  it('holds in-process calls to the HTTP contract limits, writing nothing', async () => {
    const refused = { code: 'INVALID_INPUT' };
    const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ command: 'LIMITS', payload: i }));
    await expect(engine.enqueueMany(tasks(ENQUEUE_BATCH_MAX + 1))).rejects.toMatchObject(refused);
    await expect(
      engine.enqueue({ command: 'LIMITS', payload: 1, delaySeconds: DELAY_SECONDS_MAX + 1 }),
    ).rejects.toMatchObject({ ...refused, message: "invalid 'delaySeconds' (must be >= 0)" });
    expect(await engine.queueStats('LIMITS')).toMatchObject({ ready: 0, delayed: 0 });

    const [task] = await engine.enqueueMany(tasks(1));
    const claim = { workerId: 'w', commands: ['LIMITS'] };
    await expect(engine.claim({ ...claim, count: CLAIM_COUNT_MAX + 1 })).rejects.toMatchObject(refused);
    const commands = Array.from({ length: CLAIM_COMMANDS_MAX + 1 }, (_, i) => `LIMITS${i}`);
    await expect(engine.claim({ ...claim, commands })).rejects.toMatchObject(refused);
    await expect(engine.claim({ ...claim, leaseSeconds: LEASE_SECONDS_MAX + 1 })).rejects.toMatchObject(
      refused,
    );
    await engine.claim(claim);
    const lease = { taskId: task!.id, workerId: 'w' };
    await expect(engine.heartbeat({ ...lease, extendSeconds: LEASE_SECONDS_MAX + 1 })).rejects.toMatchObject(
      refused,
    );
    const many = Array.from({ length: ARTIFACTS_MAX + 1 }, (_, i) => ({ name: `a${i}` }));
    await expect(engine.complete({ ...lease, result: {}, artifacts: many })).rejects.toMatchObject(refused);
    await expect(engine.complete({ ...lease, result: {}, artifacts: [{ name: '' }] })).rejects.toMatchObject(
      refused,
    );
    const results = Array.from({ length: RESULT_BATCH_MAX + 1 }, () => ({
      ...lease,
      status: 'COMPLETED' as const,
      result: {},
    }));
    await expect(engine.submitResults(results)).rejects.toMatchObject(refused);
    expect((await engine.history(task!.id)).events.map((e) => e.type)).toEqual(['enqueued', 'claimed']);

    // A nack delay over any limit is capped at backoffMaxSeconds, as over HTTP, not refused.
    await expect(engine.nack({ ...lease, delaySeconds: 10 * DELAY_SECONDS_MAX })).resolves.toMatchObject({
      status: 'requeued',
    });
    const other = await engine.enqueue({ command: 'LIMITS_CANCEL', payload: 1 });
    await expect(
      engine.cancel({ taskId: other.id, actor: 'p', reason: 'x'.repeat(REASON_MAX_LENGTH + 1) }),
    ).rejects.toMatchObject(refused);
    expect((await engine.history(other.id)).events.map((e) => e.type)).toEqual(['enqueued']);
  });

  it('writes nothing for any refused enqueue', async () => {
    let events = 0;
    await engine.log.replay({
      onBatch: async (batch) => void (events += batch.filter((e) => e.command === 'OK').length),
    });
    expect(events).toBe(0);
    expect(await engine.queueStats('OK')).toEqual({
      command: 'OK',
      ready: 0,
      delayed: 0,
      inProgress: 0,
      dlq: 0,
      paused: false,
    });
  });
});
