/**
 * Push delivery across two codeq server instances on one deployment: SDK Workers on NatsTransport
 * (credits spread over both instances by the micro protocol's queue group) share the work with no
 * double lease, read off the log; a worker that vanishes gets a delivered-but-unaccepted task
 * abandoned at once, and loses an accepted one to its lease's expiry, after which it is delivered
 * again.
 */
import { connect, createInbox, headers, type NatsConnection } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { NatsTransport } from '../../src/sdk/nats.transport.js';
import { Producer } from '../../src/sdk/producer.js';
import { Worker } from '../../src/sdk/worker.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import { countEvents, noDoubleLease, readStream } from '../support/invariants.js';
import { uniqueName } from '../support/servers.js';
import { deploymentEnv } from '../support/service.js';
import { until } from './sdk-harness.js';

const PRODUCER = 'two-producer-token-01';
const WORKERS = ['two-worker-token-0001', 'two-worker-token-0002'];
const TOTAL = 300;

let deployment: TestDeployment;
let prefix: string;
const services: RunningService[] = [];
const connections: NatsConnection[] = [];
let reader: Engine;

function start(): Promise<RunningService> {
  return startService({
    env: {
      ...deploymentEnv(deployment, prefix),
      LOG_LEVEL: 'silent',
      // A lease that ran out is retried after the backoff: keep it short.
      BACKOFF_POLICY: 'linear',
      BACKOFF_BASE_SECONDS: '1',
      BACKOFF_MAX_SECONDS: '1',
      TOKENS: JSON.stringify([
        { token: PRODUCER, role: 'producer', subject: 'p', eventTypes: ['*'] },
        ...WORKERS.map((token, i) => ({ token, role: 'worker', subject: `w${i + 1}`, eventTypes: ['*'] })),
      ]),
    },
    print: () => undefined,
  });
}

async function natsConnection(): Promise<NatsConnection> {
  const nc = await connect({ servers: deployment.natsUrl });
  connections.push(nc);
  return nc;
}

async function types(taskId: string): Promise<string[]> {
  return (await reader.history(taskId)).events.map((e) => e.type);
}

beforeAll(async () => {
  deployment = testDeployment();
  prefix = uniqueName('two').toLowerCase();
  services.push(await start(), await start());
  reader = await Engine.create(engineOptions(deployment));
});

afterAll(async () => {
  await reader?.close();
  for (const nc of connections.splice(0)) await nc.close();
  for (const s of services.splice(0)) await s.stop();
  if (deployment) await dropDeployment(deployment);
});

describe('push delivery over two instances', () => {
  it('workers on both instances share the work, with no double lease on the log', async () => {
    const command = uniqueName('SHARED');
    const producer = new Producer({
      transport: new NatsTransport({ nc: await natsConnection(), prefix, token: PRODUCER }),
    });
    const done = new Map<string, string>();
    const workers = await Promise.all(
      WORKERS.map(async (token, i) => {
        // Small credits, so each worker sends many credit requests and both instances get some.
        const transport = new NatsTransport({ nc: await natsConnection(), prefix, token });
        return new Worker({
          transport,
          commands: [command],
          concurrency: 4,
          handler: (job) => {
            done.set(job.id, `w${i + 1}`);
            return new Promise((r) => setTimeout(r, 2));
          },
        });
      }),
    );
    const tasks = await producer.enqueueMany(
      Array.from({ length: TOTAL }, (_, n) => ({ command, payload: { n } })),
    );
    await until(async () => (await reader.queueStats(command)).ready === 0 && done.size === TOTAL, 60_000);
    await Promise.all(workers.map((w) => w.close()));

    expect(new Set(done.values())).toEqual(new Set(['w1', 'w2']));
    const stream = await readStream(reader);
    const lease = noDoubleLease(stream);
    expect(lease.violations).toEqual([]);
    const completed = countEvents(stream, 'completed');
    expect(tasks.every((t) => completed.get(t.id) === 1)).toBe(true);

    // Both instances served credits (the queue group spread them).
    const client = new Svcm((await natsConnection()) as never).client();
    const credits: number[] = [];
    for await (const s of await client.stats('codeq')) {
      if (s.metadata?.prefix !== prefix) continue;
      credits.push(s.endpoints?.find((e) => e.subject === `${prefix}.v1.workers.credit`)?.num_requests ?? 0);
    }
    expect(credits).toHaveLength(2);
    expect(credits.every((n) => n > 0)).toBe(true);
  });

  it('a vanished worker: an unaccepted delivery is abandoned at once, an accepted task returns at its lease expiry', async () => {
    const command = uniqueName('VANISH');
    const nc = await natsConnection();
    const credit = async (deliverSubject: string, leaseSeconds: number) => {
      const h = headers();
      h.set('Authorization', `Bearer ${WORKERS[0]}`);
      const body = { commands: [command], credits: 1, deliverSubject, leaseSeconds };
      const reply = await nc.request(`${prefix}.v1.workers.credit`, JSON.stringify(body), {
        headers: h,
        timeout: 5000,
      });
      expect(reply.json()).toEqual({ granted: 1 });
    };
    // Gone before its task came: a long lease, and still the task is back at once.
    const gone = nc.subscribe(createInbox());
    await credit(gone.getSubject(), 300);
    gone.unsubscribe();
    const producer = new Producer({ transport: new NatsTransport({ nc, prefix, token: PRODUCER }) });
    const first = await producer.enqueue(command, { n: 1 });
    await until(async () => (await types(first.id)).includes('abandoned'), 10_000);
    expect(await types(first.id)).toEqual(['enqueued', 'claimed', 'abandoned']);

    // Accepts a task, then vanishes: the lease (1 s) runs out and the task is delivered again.
    const accepted: string[] = [];
    const inbox = createInbox();
    const vanishing = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        accepted.push((msg.json() as { id: string }).id);
        msg.respond(JSON.stringify({ accepted: true }));
        vanishing.unsubscribe();
      },
    });
    await credit(inbox, 1);
    await until(() => accepted.length === 1, 10_000);
    expect(accepted[0]).toBe(first.id);
    const second = await producer.enqueue(command, { n: 2 });

    const handled: string[] = [];
    const worker = new Worker({
      transport: new NatsTransport({ nc, prefix, token: WORKERS[1]! }),
      commands: [command],
      handler: (job) => void handled.push(job.id),
    });
    await until(() => handled.includes(first.id) && handled.includes(second.id), 20_000);
    await worker.close();
    const history = await types(first.id);
    expect(history.slice(0, 6)).toEqual([
      'enqueued',
      'claimed',
      'abandoned',
      'claimed',
      'leaseExpired',
      'claimed',
    ]);
    expect(history.at(-1)).toBe('completed');
  });
});
