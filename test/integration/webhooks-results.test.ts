/**
 * Result callbacks against real NATS, Redis and HTTP receivers on loopback: retries with the
 * contract's delays, the attempt limit, survival of a kill -9 between tries, dead-lettered and
 * cancelled tasks, signatures, redirects and refused destinations.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/webhooks/signing.js';
import { subscriptionBucket } from '../../src/webhooks/subscription.store.js';
import { dropDeployment, testDeployment, type TestDeployment } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';
import {
  sleep,
  startInstance,
  startReceiver,
  until,
  type Instance,
  type Receiver,
} from '../support/webhooks.js';

const SECRET = 'test-secret-0123456789';
const ENV = { WEBHOOK_HMAC_SECRET: SECRET };

describe('result callbacks', () => {
  let d: TestDeployment;
  let receiver: Receiver;
  const instances: Instance[] = [];
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    d = testDeployment();
    receiver = await startReceiver();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const i of instances.splice(0)) await i.close();
    await receiver.close();
    const nc = await connect({ servers: d.natsUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(`KV_${subscriptionBucket(d.streamName)}`).catch(() => false);
    await nc.close();
    await dropDeployment(d);
  });

  const start = async (env: Record<string, string> = ENV) => {
    const i = await startInstance(d, env);
    instances.push(i);
    return i;
  };

  /** Enqueues a task with `webhook`, claims it and completes it; returns its id. */
  async function finish(
    i: Instance,
    webhook: string,
    how: 'complete' | 'fail' = 'complete',
  ): Promise<string> {
    const command = uniqueName('RES');
    const task = await i.engine.enqueue({ command, payload: { x: 1 }, webhook });
    const [claimed] = await i.engine.claim({ workerId: 'w1', commands: [command] });
    expect(claimed?.id).toBe(task.id);
    if (how === 'complete') {
      await i.engine.complete({
        taskId: task.id,
        workerId: 'w1',
        result: { ok: true },
        artifacts: [{ name: 'a', url: 'http://x/a' }],
      });
    } else await i.engine.fail({ taskId: task.id, workerId: 'w1', error: 'boom' });
    return task.id;
  }

  const historyTypes = async (i: Instance, id: string) =>
    (await i.engine.history(id)).events.map((e) => e.type);

  it('retries a failing receiver with the contract delays and delivers on the third try, signed', async () => {
    const i = await start();
    let calls = 0;
    receiver.respond = (_req, res) => void res.writeHead(++calls <= 2 ? 500 : 204).end();
    const id = await finish(i, `${receiver.url}/result`);
    await until(() => receiver.received.length === 3, 10_000, 'three tries');
    const [a, b, c] = receiver.received as [
      (typeof receiver.received)[0],
      (typeof receiver.received)[0],
      (typeof receiver.received)[0],
    ];
    // base 1 s: delays min(1·2^0, 4) = 1 s, then min(1·2^1, 4) = 2 s (tolerance for polling and load).
    expect(b.at - a.at).toBeGreaterThanOrEqual(900);
    expect(b.at - a.at).toBeLessThan(1900);
    expect(c.at - b.at).toBeGreaterThanOrEqual(1900);
    expect(c.at - b.at).toBeLessThan(2900);
    expect(new Set(receiver.received.map((r) => r.headers['x-codeq-delivery-id'])).size).toBe(1);
    expect(receiver.received.map((r) => r.headers['x-codeq-attempt'])).toEqual(['1', '2', '3']);
    expect(c.body).toMatchObject({
      taskId: id,
      status: 'COMPLETED',
      result: { ok: true },
      error: null,
      artifacts: [{ name: 'a', url: 'http://x/a' }],
      deliveryId: c.headers['x-codeq-delivery-id'],
    });
    expect(new Date(c.body.completedAt as string).toISOString()).toBe(c.body.completedAt);
    for (const r of receiver.received) {
      const ts = r.headers['x-codeq-timestamp'] as string;
      expect(verifySignature(SECRET, ts, r.headers['x-codeq-signature'] as string, r.raw)).toBe(true);
      expect(verifySignature('wrong-secret', ts, r.headers['x-codeq-signature'] as string, r.raw)).toBe(
        false,
      );
    }
    await sleep(200);
    const history = await i.engine.history(id);
    const delivered = history.events.find((e) => e.type === 'webhookDelivered');
    expect(delivered?.data).toMatchObject({ attempts: 3, httpStatus: 204, deliveryId: c.body.deliveryId });
    expect(history.state.status).toBe('completed');
    const metrics = await i.metrics.registry.getSingleMetricAsString('codeq_webhook_deliveries_total');
    expect(metrics).toContain('kind="result",outcome="delivered"} 1');
    expect(metrics).toContain('kind="result",outcome="retry"} 2');
  });

  it('gives up after exactly resultWebhookMaxAttempts tries and records it', async () => {
    const i = await start();
    receiver.respond = (_req, res) => void res.writeHead(503).end('no');
    const id = await finish(i, `${receiver.url}/down`, 'fail');
    await until(() => receiver.received.length === 3, 10_000, 'three tries');
    await sleep(4500);
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received[0]!.body).toMatchObject({
      taskId: id,
      status: 'FAILED',
      error: 'boom',
      result: null,
    });
    const types = await historyTypes(i, id);
    expect(types.slice(-2)).toEqual(['failed', 'webhookGaveUp']);
    const metrics = await i.metrics.registry.getSingleMetricAsString('codeq_webhook_deliveries_total');
    expect(metrics).toContain('outcome="gave_up"} 1');
  });

  it('fires for dead-lettered and cancelled tasks; never follows a redirect; refuses a metadata address', async () => {
    const i = await start();
    receiver.respond = (req, res) => {
      if (req.path === '/redirect')
        return void res.writeHead(302, { location: `${receiver.url}/elsewhere` }).end();
      res.writeHead(200).end();
    };
    const command = uniqueName('DLQ');
    const dead = await i.engine.enqueue({
      command,
      payload: 1,
      maxAttempts: 1,
      webhook: `${receiver.url}/dlq`,
    });
    await i.engine.claim({ workerId: 'w1', commands: [command] });
    expect((await i.engine.nack({ taskId: dead.id, workerId: 'w1', reason: 'bad input' })).status).toBe(
      'dlq',
    );
    const cancelled = await i.engine.enqueue({
      command,
      payload: 2,
      webhook: `${receiver.url}/cancel`,
      delaySeconds: 60,
    });
    await i.engine.cancel({ taskId: cancelled.id, actor: 'admin:a', reason: 'not needed' });
    await until(
      () => receiver.received.filter((r) => r.path !== '/redirect').length === 2,
      8000,
      'dlq and cancel callbacks',
    );
    expect(receiver.received.find((r) => r.path === '/dlq')!.body).toMatchObject({
      taskId: dead.id,
      status: 'FAILED',
      state: 'deadLettered',
      error: 'bad input',
    });
    expect(receiver.received.find((r) => r.path === '/cancel')!.body).toMatchObject({
      taskId: cancelled.id,
      status: 'CANCELLED',
      error: 'not needed',
    });

    await finish(i, `${receiver.url}/redirect`);
    await until(
      () => receiver.received.filter((r) => r.path === '/redirect').length === 3,
      10_000,
      'redirect retried',
    );
    await sleep(300);
    expect(receiver.received.some((r) => r.path === '/elsewhere')).toBe(false);

    const refused = await finish(i, 'http://169.254.169.254/latest/meta-data');
    await sleep(1500);
    const history = await i.engine.history(refused);
    const gaveUp = history.events.find((e) => e.type === 'webhookGaveUp');
    expect(gaveUp?.data).toMatchObject({ attempts: 1 });
    expect(JSON.stringify(gaveUp?.data)).toContain('refused');
  });

  it('a server killed -9 between tries delivers after its restart', async () => {
    const spawnChild = async (): Promise<ChildProcess> => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'test/support/webhook-child.ts',
          JSON.stringify({ deployment: d, env: { ...ENV, RESULT_WEBHOOK_BASE_BACKOFF_SECONDS: '2' } }),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      const lines = createInterface({ input: child.stdout! });
      await new Promise<void>((resolve, reject) => {
        lines.on('line', (line) => line.includes('"ready"') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      return child;
    };
    const first = await spawnChild();
    // The test's own instance only produces the task: its webhooks are off.
    const producer = await startInstanceWithoutWebhooks();
    let calls = 0;
    receiver.respond = (_req, res) => void res.writeHead(++calls === 1 ? 500 : 200).end();
    const id = await finish(producer, `${receiver.url}/k9`);
    await until(() => receiver.received.length === 1, 8000, 'first try');
    // "Between tries": once the instance has read the 500 and scheduled the retry (a NAK with a 2 s
    // delay, sent as soon as its request returns). Killed before that, the retry would only come
    // after the consumer's ack wait (timeout + 30 s), which is the other case, not this one.
    await sleep(1000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await spawnChild();
    await until(() => receiver.received.length === 2, 15_000, 'second try after restart');
    expect(receiver.received[1]!.headers['x-codeq-delivery-id']).toBe(
      receiver.received[0]!.headers['x-codeq-delivery-id'],
    );
    // The attempt header is JetStream's delivery count. nats-server 2.9.10 usually reports 2 here,
    // but now and then 1 for a message whose NAKing subscriber died before the redelivery (seen
    // about one run in five); receivers deduplicate by the delivery id, which is the same.
    expect(['1', '2']).toContain(receiver.received[1]!.headers['x-codeq-attempt']);
    expect(receiver.received[1]!.at - receiver.received[0]!.at).toBeGreaterThanOrEqual(1900);
    await sleep(1000);
    expect(receiver.received).toHaveLength(2);
    await sleep(500);
    expect(await historyTypes(producer, id)).toContain('webhookDelivered');
  });

  async function startInstanceWithoutWebhooks(): Promise<Instance> {
    const i = await startInstance(d, ENV, { availability: false, results: false, cleanup: false });
    instances.push(i);
    return i;
  }
});
