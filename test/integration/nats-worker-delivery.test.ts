/**
 * Push delivery on the engine (src/nats/worker-delivery.ts): credits claim for the principal and
 * deliver by request; a refused delivery and a subject nobody listens on are abandoned at once;
 * credits run out and expire; stop() leaves nothing running.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { createInbox } from '@nats-io/nats-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { CodeqError } from '../../src/errors.js';
import { parseCreditRequest } from '../../src/nats/credit-request.js';
import { WorkerDelivery } from '../../src/nats/worker-delivery.js';
import { createTestEngine } from '../support/engine.js';
import { until } from './sdk-harness.js';

describe('push delivery', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  let nc: NatsConnection;
  let delivery: WorkerDelivery;

  beforeAll(async () => {
    let deployment;
    ({ engine, close, deployment } = await createTestEngine());
    nc = await connect({ servers: deployment.natsUrl });
    delivery = new WorkerDelivery({
      nc,
      engine,
      logger: pino({ level: 'silent' }),
      payloadFormat: 'string',
      deliveryTimeoutMs: 1000,
    });
  });
  afterAll(async () => {
    await delivery.stop();
    expect(delivery.activePools).toBe(0);
    await nc.close();
    await close();
  });

  const credit = (body: Record<string, unknown>, command = 'PUSH') =>
    delivery.credit('w-push', [command], parseCreditRequest({ commands: [command], ...body }));

  async function types(taskId: string): Promise<string[]> {
    return (await engine.history(taskId)).events.map((e) => e.type);
  }

  it('delivers as many tasks as credited, leased to the principal', async () => {
    const inbox = createInbox();
    const got: Array<{ id: string; workerId: string; payload: unknown }> = [];
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        got.push(JSON.parse(msg.string()) as { id: string; workerId: string; payload: unknown });
        msg.respond(JSON.stringify({ accepted: true }));
      },
    });
    const tasks = await engine.enqueueMany([1, 2, 3].map((n) => ({ command: 'PUSH', payload: { n } })));
    expect(credit({ credits: 2, deliverSubject: inbox, view: 'full' })).toBe(2);
    await until(() => got.length === 2);
    expect(got.every((t) => t.workerId === 'w-push')).toBe(true);
    expect(typeof got[0]!.payload).toBe('object'); // the full view
    // The third waits for a credit.
    await until(() => delivery.activePools === 0);
    expect((await engine.getTask(tasks[2]!.id)).status).toBe('PENDING');
    credit({ credits: 5, deliverSubject: inbox });
    await until(() => got.length === 3);
    expect(typeof got[2]!.payload).toBe('string'); // codeQ's Task shape
    for (const t of got) await engine.complete({ taskId: t.id, workerId: 'w-push', result: {} });
    // The rest of the credits wait for work (long-poll) until a task comes.
    const late = await engine.enqueue({ command: 'PUSH', payload: {} });
    await until(() => got.length === 4);
    expect(got[3]!.id).toBe(late.id);
    await engine.complete({ taskId: late.id, workerId: 'w-push', result: {} });
    await sub.drain();
  });

  it('abandons at once a delivery refused or sent to nobody, and voids the credits', async () => {
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => void msg.respond(JSON.stringify({ accepted: false })),
    });
    const refused = await engine.enqueue({ command: 'PUSH', payload: {} });
    credit({ credits: 1, deliverSubject: inbox });
    await until(async () => (await types(refused.id)).includes('abandoned'));
    await sub.drain();
    await until(() => delivery.activePools === 0);

    const nobody = createInbox();
    credit({ credits: 10, deliverSubject: nobody });
    const vanished = await engine.enqueue({ command: 'PUSH', payload: {} });
    await until(async () => (await types(vanished.id)).includes('abandoned'));
    // No responders voided the other 9 credits: the pool is gone, the task stays pending.
    await until(() => delivery.activePools === 0);
    expect((await engine.getTask(vanished.id)).status).toBe('PENDING');
    expect(await types(vanished.id)).toEqual(['enqueued', 'claimed', 'abandoned']);
    // Clean up for the next test: take it.
    const [t] = await engine.claim({ workerId: 'w-push', commands: ['PUSH'] });
    await engine.complete({ taskId: t!.id, workerId: 'w-push', result: {} });
  });

  it('delivers a claim in one batch when asked, abandoning what the worker refused of it', async () => {
    const inbox = createInbox();
    const batches: string[][] = [];
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        const { tasks } = JSON.parse(msg.string()) as { tasks: Array<{ id: string }> };
        batches.push(tasks.map((t) => t.id));
        msg.respond(JSON.stringify({ accepted: tasks.map((_, i) => i !== 1) }));
      },
    });
    const tasks = await engine.enqueueMany([1, 2, 3].map((n) => ({ command: 'PUSHB', payload: { n } })));
    credit({ credits: 3, deliverSubject: inbox, batch: true }, 'PUSHB');
    await until(() => batches.length === 1);
    expect([...batches[0]!].sort()).toEqual(tasks.map((t) => t.id).sort());
    const refused = batches[0]![1]!;
    await until(async () => (await types(refused)).includes('abandoned'));
    for (const id of batches[0]!.filter((id) => id !== refused)) {
      expect(await types(id)).toEqual(['enqueued', 'claimed']);
      await engine.complete({ taskId: id, workerId: 'w-push', result: {} });
    }
    const [again] = await engine.claim({ workerId: 'w-push', commands: ['PUSHB'] });
    expect(again!.id).toBe(refused);
    await engine.complete({ taskId: refused, workerId: 'w-push', result: {} });
    await sub.drain();
  });

  it('retries an abandon that failed for an outage, so a refused task does not wait out its lease', async () => {
    // Harness: the engine's first abandon fails with UNAVAILABLE (an append that got no answer).
    let abandons = 0;
    const flaky = Object.create(engine) as Engine;
    flaky.abandon = async (input) => {
      if (abandons++ === 0) throw new CodeqError('UNAVAILABLE', 'no answer in time');
      return engine.abandon(input);
    };
    const own = new WorkerDelivery({
      nc,
      engine: flaky,
      logger: pino({ level: 'silent' }),
      payloadFormat: 'string',
    });
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => void msg.respond(JSON.stringify({ accepted: false })),
    });
    try {
      const task = await engine.enqueue({ command: 'PUSHA', payload: {} });
      own.credit(
        'w-push',
        ['PUSHA'],
        parseCreditRequest({ credits: 1, deliverSubject: inbox, leaseSeconds: 3600 }),
      );
      await until(async () => (await types(task.id)).includes('abandoned'), 5000);
      expect(abandons).toBe(2);
    } finally {
      await own.stop();
      await sub.drain();
    }
  });

  it('credits expire', async () => {
    credit({ credits: 3, deliverSubject: createInbox(), expiresMs: 300 });
    expect(delivery.activePools).toBe(1);
    await until(() => delivery.activePools === 0);
  });

  it('refuses invalid credit requests', () => {
    expect(() => parseCreditRequest({ credits: 0, deliverSubject: 'a.b' })).toThrow(/credits/);
    expect(() => parseCreditRequest({ credits: 1, deliverSubject: 'a.*' })).toThrow(/deliverSubject/);
    expect(() => parseCreditRequest({ credits: 1, deliverSubject: 'a', expiresMs: 300_001 })).toThrow(
      /expiresMs/,
    );
    expect(() => parseCreditRequest({ credits: 1, deliverSubject: 'a', commands: ['bad name'] })).toThrow();
    // Strict, as every other NATS body: a misspelt field fails loudly instead of being ignored.
    expect(() => parseCreditRequest({ credits: 1, deliverSubject: 'a', expiresMS: 1000 })).toThrow(
      "invalid body: unknown field 'expiresMS'",
    );
  });
});
