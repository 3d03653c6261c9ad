/**
 * A client of the NATS-native interface written with nothing but `@nats-io/transport-node` (and
 * `@nats-io/services`' discovery client): the client part below imports no codeq code. Only the
 * harness (starting codeq servers, dropping the deployment) does.
 */
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createAuthenticator } from '../../src/api/auth/authenticator.js';
import { loadConfig } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { CodeqError } from '../../src/errors.js';
import { startPublishIntake } from '../../src/nats/publish-intake.js';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { dropDeployment, testDeployment, type TestDeployment } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';
import { deploymentEnv } from '../support/service.js';

const PRODUCER = 'nats-producer-token-0001';
const WORKER = 'nats-worker-token-00001';
const ADMIN = 'nats-admin-token-000001';
const VIEWER = 'nats-viewer-token-00001';

// ---- harness (codeq side) ----
let deployment: TestDeployment;
let prefix: string;
let command: string;
const running: RunningService[] = [];

function codeqEnv(): Record<string, string> {
  return {
    ...deploymentEnv(deployment, prefix),
    LOG_LEVEL: process.env.DEBUG_LOG ?? 'silent',
    TOKENS: JSON.stringify([
      { token: PRODUCER, role: 'producer', subject: 'p1', eventTypes: ['*'] },
      { token: ADMIN, role: 'admin', subject: 'a1', eventTypes: ['*'] },
      { token: VIEWER, role: 'viewer', subject: 'v1', eventTypes: ['*'] },
      {
        token: WORKER,
        role: 'worker',
        subject: 'w1',
        eventTypes: [command],
        scopes: ['codeq:claim', 'codeq:heartbeat', 'codeq:abandon', 'codeq:nack', 'codeq:result'],
      },
    ]),
  };
}

async function startCodeq(): Promise<RunningService> {
  const service = await startService({ env: codeqEnv(), print: () => undefined });
  running.push(service);
  return service;
}

// ---- client (NATS only) ----
let nc: NatsConnection;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function auth(token: string) {
  const h = headers();
  h.set('Authorization', `Bearer ${token}`);
  return h;
}

async function call(subject: string, body: unknown, token?: string, timeout = 5000): Promise<Msg> {
  return nc.request(`${prefix}.v1.${subject}`, JSON.stringify(body), {
    timeout,
    ...(token === undefined ? {} : { headers: auth(token) }),
  });
}

function errorOf(msg: Msg): { code: string | undefined; text: string | undefined } {
  return {
    code: msg.headers?.get('Nats-Service-Error-Code') ?? '',
    text: msg.headers?.get('Nats-Service-Error') ?? '',
  };
}

/** The four counts of a queue, read as the admin. */
async function counts(cmd: string): Promise<Json> {
  const { ready, delayed, inProgress, dlq } = await ok('queues.stats', { command: cmd }, ADMIN);
  return { ready, delayed, inProgress, dlq };
}

async function ok(subject: string, body: unknown, token: string, timeout?: number): Promise<Json> {
  const msg = await call(subject, body, token, timeout);
  expect(errorOf(msg)).toEqual({ code: '', text: '' });
  return msg.json<Json>();
}

/** Polls `probe` until it holds (bounded: a failure, not a hang, when it never does). */
async function until(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition never held');
}

async function ready(cmd: string): Promise<number> {
  return (await ok('queues.stats', { command: cmd }, ADMIN)).ready as number;
}

/** Messages in the intake stream, through the JetStream API subject. */
async function intakeMessages(): Promise<number> {
  const info = await nc.request(`$JS.API.STREAM.INFO.${deployment.streamName}_INTAKE`, '', { timeout: 5000 });
  return info.json<Json>().state.messages as number;
}

function publish(cmd: string, body: unknown, token = PRODUCER): void {
  nc.publish(`${prefix}.v1.publish.${cmd}`, typeof body === 'string' ? body : JSON.stringify(body), {
    headers: auth(token),
  });
}

/**
 * Harness of the intake fault cases: with every codeq instance stopped, one message is published,
 * then an intake runs on an engine whose enqueue goes through `enqueue` (told the call's number);
 * the message must end enqueued exactly once and leave the intake stream.
 */
async function intakeThrough(
  enqueue: (
    engine: Engine,
    input: Parameters<Engine['enqueue']>[0],
    call: number,
  ) => ReturnType<Engine['enqueue']>,
): Promise<void> {
  for (const s of running.splice(0)) await s.stop();
  const cmd = uniqueName('PUB');
  publish(cmd, { payload: 'once' });
  await nc.flush();
  const config = loadConfig({ env: codeqEnv() });
  const engine = await Engine.create({
    natsServers: deployment.natsUrl,
    redisUrl: deployment.redisUrl,
    streamName: deployment.streamName,
    subjectPrefix: deployment.subjectPrefix,
    keyPrefix: deployment.keyPrefix,
    background: false,
  });
  let calls = 0;
  const wrapped = Object.create(engine) as Engine;
  wrapped.enqueue = (input) => enqueue(engine, input, calls++);
  const intakeNc = await connect({ servers: deployment.natsUrl });
  const intake = await startPublishIntake({
    nc: intakeNc,
    engine: wrapped,
    authenticator: createAuthenticator(config),
    config,
    logger: pino({ level: 'silent' }),
  });
  try {
    await until(async () => calls >= 2 && (await intakeMessages()) === 0);
    expect((await engine.queueStats(cmd)).ready).toBe(1);
  } finally {
    await intake.stop();
    await intakeNc.close();
    await engine.close();
  }
}

beforeAll(async () => {
  deployment = testDeployment();
  prefix = uniqueName('api').toLowerCase();
  command = uniqueName('GEN');
  await startCodeq();
  nc = await connect({ servers: deployment.natsUrl });
});

afterAll(async () => {
  await nc
    ?.request(`$JS.API.STREAM.DELETE.${deployment.streamName}_INTAKE`, '', { timeout: 5000 })
    .catch(() => undefined);
  await nc?.close();
  for (const s of running.splice(0)) await s.stop();
  if (deployment) await dropDeployment(deployment);
});

describe('NATS-native client', () => {
  it('finds the service with $SRV.PING and $SRV.INFO', async () => {
    const client = new Svcm(nc as never).client();
    const pings = [];
    for await (const p of await client.ping('codeq')) pings.push(p);
    expect(pings.some((p) => p.metadata?.prefix === prefix)).toBe(true);
    const infos = [];
    for await (const i of await client.info('codeq')) if (i.metadata?.prefix === prefix) infos.push(i);
    const subjects = infos[0]!.endpoints.map((e) => e.subject);
    for (const s of ['tasks.enqueue', 'tasks.claim', 'tasks.result', 'events.replay', 'queues.list'])
      expect(subjects).toContain(`${prefix}.v1.${s}`);
  });

  it('does the whole lifecycle', async () => {
    const task = await ok('tasks.enqueue', { command, payload: { n: 1 }, priority: 3 }, PRODUCER);
    expect(task).toMatchObject({ command, status: 'PENDING', payload: '{"n":1}' });
    const claimed = await ok(
      'tasks.claim',
      { commands: [command], leaseSeconds: 60, waitSeconds: 1 },
      WORKER,
    );
    expect(claimed.id).toBe(task.id);
    const beat = await ok('tasks.heartbeat', { taskId: task.id, extendSeconds: 120 }, WORKER);
    expect(beat.ok).toBe(true);
    expect(await ok('tasks.nack', { taskId: task.id, delaySeconds: 1, reason: 'again' }, WORKER)).toEqual({
      status: 'requeued',
      delaySeconds: 1,
    });
    const again = await ok('tasks.claim', { commands: [command], waitSeconds: 5, view: 'full' }, WORKER);
    expect(again).toMatchObject({ id: task.id, attempts: 2, payload: { n: 1 } });
    const record = await ok(
      'tasks.result',
      { taskId: task.id, status: 'COMPLETED', result: { ok: 1 } },
      WORKER,
    );
    expect(record).toMatchObject({ taskId: task.id, status: 'COMPLETED', result: { ok: 1 } });
    expect(await ok('tasks.get', { taskId: task.id }, PRODUCER)).toMatchObject({ status: 'COMPLETED' });
    const history = await ok('tasks.history', { taskId: task.id }, PRODUCER);
    expect(history.events.map((e: Json) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'heartbeat',
      'nacked',
      'claimed',
      'completed',
    ]);

    const batch = await ok(
      'tasks.enqueue',
      {
        tasks: [
          { command, payload: 2 },
          { command, payload: 3 },
        ],
      },
      PRODUCER,
    );
    expect(batch.results).toHaveLength(2);
    expect(batch.results.every((r: Json) => r.task?.id)).toBe(true);
    // The batch: both claimed at once, results in one request.
    const two = await ok('tasks.claim', { commands: [command], count: 5 }, WORKER);
    expect(two.tasks).toHaveLength(2);
    const results = await ok(
      'tasks.result',
      { results: two.tasks.map((t: Json) => ({ taskId: t.id, status: 'FAILED', error: 'no' })) },
      WORKER,
    );
    expect(results.results.map((r: Json) => r.ok)).toEqual([true, true]);
    // Nothing left: an empty reply (HTTP's 204).
    const none = await call('tasks.claim', { commands: [command] }, WORKER);
    expect(none.data.length).toBe(0);

    const stats = await ok('queues.stats', { command }, ADMIN);
    expect(stats).toMatchObject({ command, ready: 0, inProgress: 0 });
    const list = await ok('queues.list', {}, ADMIN);
    expect(list.map((s: Json) => s.command)).toContain(command);
  });

  it('replays a command across pages, resumable by sequence', async () => {
    const pages: Json[] = [];
    const more: string[] = [];
    const iter = await nc.requestMany(`${prefix}.v1.events.replay`, JSON.stringify({ command, limit: 4 }), {
      headers: auth(ADMIN),
      strategy: 'stall',
      stall: 3000,
      maxWait: 10_000,
    });
    for await (const m of iter) {
      expect(errorOf(m).code).toBe('');
      pages.push(m.json<Json>());
      more.push(m.headers?.get('Codeq-Replay-More') ?? '');
      if (pages.at(-1)!.events.length === 0) break;
    }
    const events = pages.flatMap((p) => p.events);
    // 3 enqueued, 4 claimed, 1 heartbeat, 1 nacked, 3 results.
    expect(events).toHaveLength(12);
    expect(events.every((e: Json) => e.command === command)).toBe(true);
    expect(pages.length).toBeGreaterThan(2);
    expect(more.at(-1)).toBe('false');
    // Resumed from the middle: the rest only.
    const resumeAt = events[5].seq as number;
    const rest: Json[] = [];
    for await (const m of await nc.requestMany(
      `${prefix}.v1.events.replay`,
      JSON.stringify({ command, fromSeq: resumeAt }),
      { headers: auth(ADMIN), strategy: 'stall', stall: 3000, maxWait: 10_000 },
    )) {
      const page = m.json<Json>();
      if (page.events.length === 0) break;
      rest.push(...page.events);
    }
    expect(rest.map((e) => e.seq)).toEqual(events.slice(5).map((e: Json) => e.seq));
  });

  it('claims nothing for a claim published without a reply subject (its tasks would go nowhere)', async () => {
    const task = await ok('tasks.enqueue', { command, payload: 'nowhere' }, PRODUCER);
    // A plain publish: no reply subject, so whatever it claimed would sit leased until expiry.
    nc.publish(`${prefix}.v1.tasks.claim`, JSON.stringify({ commands: [command], leaseSeconds: 3600 }), {
      headers: auth(WORKER),
    });
    // Handled after the publish (same connection, same subscription, in order).
    const claimed = await ok('tasks.claim', { commands: [command], waitSeconds: 1 }, WORKER);
    expect(claimed.id).toBe(task.id);
    await ok('tasks.result', { taskId: task.id, status: 'COMPLETED', result: {} }, WORKER);
  });

  it('refuses without credentials and with a bad body, writing nothing', async () => {
    const denied = await call('tasks.enqueue', { command, payload: 1 });
    expect(errorOf(denied)).toEqual({ code: '401', text: 'missing Authorization header' });
    expect(denied.json()).toEqual({ error: 'missing Authorization header' });
    const forbidden = await call('tasks.enqueue', { command, payload: 1 }, WORKER);
    expect(errorOf(forbidden).code).toBe('403');

    const before = await counts(command);
    const bad = await call('tasks.enqueue', { command, payload: 1, priority: 'high' }, PRODUCER);
    expect(errorOf(bad).code).toBe('400');
    expect(bad.json<Json>().error).toMatch(/^invalid body: 'priority'/);
    const badItem = await call(
      'tasks.enqueue',
      { tasks: [{ command, payload: 1 }, { payload: 2 }] },
      PRODUCER,
    );
    expect(errorOf(badItem).code).toBe('400');
    const unknown = await call('tasks.enqueue', { command, payload: 1, colour: 'red' }, PRODUCER);
    expect(unknown.json()).toEqual({ error: "invalid body: unknown field 'colour'" });
    const malformed = await nc.request(`${prefix}.v1.tasks.enqueue`, '{"command":', {
      headers: auth(PRODUCER),
      timeout: 5000,
    });
    expect(malformed.json()).toEqual({ error: 'invalid body: malformed JSON' });
    expect(await counts(command)).toEqual(before);
  });

  it("refuses credits whose delivery subject is not a worker's (the server would request it as itself)", async () => {
    // Deliveries are requests made with codeq's own NATS permissions: to the JetStream API, the log's
    // subjects or the API's own, a Task JSON body could delete a stream or append a forged event.
    for (const deliverSubject of [
      `$JS.API.STREAM.DELETE.${deployment.streamName}`,
      `${deployment.subjectPrefix}.${command}.x`,
      `${prefix}.v1.publish.${command}`,
      `${prefix}.v1.tasks.enqueue`,
    ]) {
      const refused = await call(
        'workers.credit',
        { commands: [command], credits: 1, deliverSubject },
        WORKER,
      );
      expect(errorOf(refused).code).toBe('400');
      expect(refused.json<Json>().error).toMatch(/deliverSubject/);
    }
  });

  it('pushes tasks to a queue group on the shared delivery subject, with no claim loop', async () => {
    const cmd = command; // the worker token's event type
    // The lifecycle tests above leave this queue empty; the counts below start from there.
    expect(await counts(cmd)).toEqual({ ready: 0, delayed: 0, inProgress: 0, dlq: 0 });
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++)
      ids.add((await ok('tasks.enqueue', { command: cmd, payload: { i } }, PRODUCER)).id);

    // Two members of one queue group on codeq.v1.deliver.<command>: each delivery reaches one of them.
    const deliverSubject = `${prefix}.v1.deliver.${cmd}`;
    const got = new Map<string, string>();
    const members = ['m1', 'm2'].map((name) =>
      nc.subscribe(deliverSubject, {
        queue: 'render-fleet',
        callback: (_err, msg) => {
          const task = msg.json<Json>();
          got.set(task.id as string, name);
          msg.respond(JSON.stringify({ accepted: true }));
        },
      }),
    );
    await nc.flush();
    expect(
      await ok('workers.credit', { commands: [cmd], credits: 6, deliverSubject, expiresMs: 5000 }, WORKER),
    ).toEqual({
      granted: 6,
    });
    await until(async () => got.size === ids.size);
    expect(new Set(got.keys())).toEqual(ids);
    // Every delivered task is leased to the token's identity: any member may finish it.
    for (const id of ids) {
      expect(await ok('tasks.get', { taskId: id }, ADMIN)).toMatchObject({
        status: 'IN_PROGRESS',
        workerId: 'w1',
      });
      await ok('tasks.result', { taskId: id, status: 'COMPLETED', result: { by: got.get(id) } }, WORKER);
    }
    expect(await counts(cmd)).toEqual({ ready: 0, delayed: 0, inProgress: 0, dlq: 0 });
    for (const m of members) m.unsubscribe();
  });

  it('lets a viewer read, as over HTTP, and refuses its changes, writing nothing', async () => {
    const { id } = await ok('tasks.enqueue', { command, payload: { seen: true } }, PRODUCER);
    expect(await ok('tasks.get', { taskId: id }, VIEWER)).toMatchObject({ id, status: 'PENDING' });
    expect((await ok('tasks.history', { taskId: id }, VIEWER)).events).toHaveLength(1);
    expect(await ok('queues.stats', { command }, VIEWER)).toMatchObject({ command });
    const before = await counts(command);
    for (const [subject, body] of [
      ['tasks.enqueue', { command, payload: 1 }],
      ['tasks.cancel', { taskId: id }],
      ['tasks.claim', { commands: [command] }],
    ] as const) {
      const refused = await call(subject, body, VIEWER);
      expect(errorOf(refused)).toEqual({ code: '403', text: 'forbidden. Viewer role is read-only' });
    }
    expect(await ok('tasks.get', { taskId: id }, ADMIN)).toMatchObject({ status: 'PENDING' });
    expect(await counts(command)).toEqual(before);
  });
});

describe('publish intake', () => {
  it('enqueues a published body, and terminates and counts a bad one', async () => {
    const cmd = uniqueName('PUB');
    publish(cmd, '{not json');
    publish(cmd, { payload: 1 }, WORKER);
    publish(cmd, { payload: { a: 1 } });
    await until(async () => (await ready(cmd)) === 1 && (await intakeMessages()) === 0);
    const metrics = await (await fetch(`${running[0]!.url}/metrics`)).text();
    expect(metrics).toContain('codeq_nats_intake_messages_total{outcome="rejected"} 2');
    expect(metrics).toContain('codeq_nats_intake_messages_total{outcome="enqueued"} 1');
  });

  it('keeps what is published while no instance runs, and enqueues it once when one starts', async () => {
    const cmd = uniqueName('PUB');
    for (const s of running.splice(0)) await s.stop();
    publish(cmd, { payload: 'a' });
    publish(cmd, { payload: 'b', idempotencyKey: 'k-b' });
    await nc.flush();
    expect(await intakeMessages()).toBe(2);
    await startCodeq();
    await until(async () => (await intakeMessages()) === 0 && (await ready(cmd)) === 2);
    const events: Json[] = [];
    for await (const m of await nc.requestMany(
      `${prefix}.v1.events.replay`,
      JSON.stringify({ command: cmd }),
      { headers: auth(ADMIN), strategy: 'stall', stall: 3000, maxWait: 10_000 },
    )) {
      const page = m.json<Json>();
      if (page.events.length === 0) break;
      events.push(...page.events);
    }
    expect(events.map((e) => e.type)).toEqual(['enqueued', 'enqueued']);
  });

  it('retries a message whose enqueue failed with an internal error, rather than dropping it', async () => {
    // The first enqueue fails before writing anything (an unexpected error, as a lost Redis
    // connection gives): the message must come back and be enqueued, not be terminated.
    await intakeThrough(async (engine, input, call) => {
      if (call === 0) throw new Error('Connection is closed.');
      return engine.enqueue(input);
    });
  });

  it('does not enqueue twice a message redelivered after its enqueue', async () => {
    // The first ack is lost (the enqueue happened, then an outage): the message comes back, with
    // the same derived idempotency key.
    await intakeThrough(async (engine, input, call) => {
      const task = await engine.enqueue(input);
      if (call === 0) throw new CodeqError('UNAVAILABLE', 'ack lost');
      return task;
    });
  });
});
