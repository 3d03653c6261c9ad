/**
 * Long-poll claims over real HTTP:
 * (a) a waiting claim answers within a few milliseconds of a task becoming claimable, and 204 at
 *     its deadline;
 * (b) while it waits it costs no Redis command and no NATS message (counted on private servers
 *     that nothing else uses);
 * (c) a client that disconnects releases its wait (the dead request never takes a later task), and
 *     closeServer() answers the long-polls still waiting with 204.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import type { CodeqConfig } from '../../src/config.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { LocalServer, freePort } from '../../src/local/local-servers.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, engineOptions, testDeployment } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [
  { token: 'lp-producer-token', role: 'producer', subject: 'lp-producer' },
  { token: 'lp-worker-token', role: 'worker', subject: 'lp-worker', eventTypes: ['*'] },
  { token: 'lp-dead-worker-token', role: 'worker', subject: 'lp-dead-worker', eventTypes: ['*'] },
  { token: 'lp-live-worker-token', role: 'worker', subject: 'lp-live-worker', eventTypes: ['*'] },
];
const PRODUCER = 'lp-producer-token';
const WORKER = 'lp-worker-token';

function testConfig(): CodeqConfig {
  return loadConfig({ env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent' } });
}

async function startApp(engine: Engine): Promise<{ app: CodeqServer; base: string }> {
  const app = buildServer({
    engine,
    config: testConfig(),
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/codeq` };
}

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers
  /** `performance.now()` when the whole answer had arrived. */
  at: number;
}

async function call(
  base: string,
  path: string,
  token: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, at: performance.now() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tracks whether a promise has settled yet. */
function track<T>(p: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const promise = p.finally(() => {
    done = true;
  });
  return { promise, settled: () => done };
}

describe('long-poll claim timing (shared servers)', () => {
  let deployment: TestDeployment;
  let engine: Engine;
  let app: CodeqServer;
  let base: string;

  beforeAll(async () => {
    deployment = testDeployment();
    engine = await Engine.create(
      engineOptions(deployment, { settings: toEngineSettings(testConfig()), background: false }),
    );
    ({ app, base } = await startApp(engine));
  });
  afterAll(async () => {
    if (app) await closeServer(app);
    if (engine) await engine.close();
    if (deployment) await dropDeployment(deployment);
  });

  it('answers a waiting claim within a few ms of the create response', async () => {
    const command = uniqueName('LP_WAKE');
    // Round 0 warms up sockets and code paths (the wake-up path included) and is not measured.
    const gaps: number[] = [];
    for (let i = 0; i < 6; i++) {
      const waiting = track(
        call(base, '/tasks/claim', WORKER, { commands: [command], waitSeconds: 10, leaseSeconds: 60 }),
      );
      await sleep(150);
      expect(waiting.settled()).toBe(false); // really waiting: nothing claimable yet
      const createSent = performance.now();
      const created = await call(base, '/tasks', PRODUCER, { command, payload: { i } });
      expect(created.status).toBe(202);
      const claimed = await waiting.promise;
      expect(claimed.status).toBe(200);
      expect(claimed.body.id).toBe(created.body.id);
      // The claim cannot have answered before the task was created.
      expect(claimed.at).toBeGreaterThan(createSent);
      if (i > 0) gaps.push(claimed.at - created.at);
    }
    // Typically 1-5 ms here; 100 ms leaves room for a noisy 2-core machine, yet is far from polling.
    for (const gap of gaps) expect(gap).toBeLessThan(100);
  });

  it('answers 204 at the deadline, not before and not much after', async () => {
    const command = uniqueName('LP_EMPTY');
    for (const waitSeconds of [1, 2]) {
      const started = performance.now();
      const res = await call(base, '/tasks/claim', WORKER, { commands: [command], waitSeconds });
      const elapsed = performance.now() - started;
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      expect(elapsed).toBeGreaterThanOrEqual(waitSeconds * 1000 - 5);
      expect(elapsed).toBeLessThan(waitSeconds * 1000 + 250);
    }
  });
});

describe('a waiting long-poll costs no Redis or NATS commands (private idle servers)', () => {
  let dir: string;
  let nats: LocalServer;
  let redisServer: LocalServer;
  let monitorPort: number;
  let deployment: TestDeployment;
  let engine: Engine;
  let app: CodeqServer;
  let base: string;
  let probe: Redis;

  beforeAll(async () => {
    // Private servers: the counters are server-wide, so nothing else may talk to them.
    dir = mkdtempSync(join(tmpdir(), 'codeq-longpoll-'));
    monitorPort = await freePort();
    nats = await new LocalServer({
      kind: 'nats',
      dataDir: join(dir, 'nats'),
      extraArgs: ['-m', String(monitorPort)],
    }).start();
    redisServer = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
    deployment = testDeployment({ natsUrl: nats.url, redisUrl: redisServer.url });
    // background: false — the sweeper/projector loop is a separate periodic cost (one pass every
    // sweepIntervalMs, whether or not anybody waits); this test isolates the cost of waiting itself.
    engine = await Engine.create(
      engineOptions(deployment, { settings: toEngineSettings(testConfig()), background: false }),
    );
    ({ app, base } = await startApp(engine));
    probe = new Redis(redisServer.url, { lazyConnect: true });
    await probe.connect();
  });
  afterAll(async () => {
    probe?.disconnect();
    if (app) await closeServer(app);
    if (engine) await engine.close();
    await Promise.all([nats?.stop(), redisServer?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Redis commands processed so far (the INFO call itself is counted by the next read). */
  const redisCommands = async (): Promise<number> => {
    const info = await probe.info('stats');
    const m = /total_commands_processed:(\d+)/.exec(info);
    if (!m) throw new Error(`no total_commands_processed in INFO stats:\n${info}`);
    return Number(m[1]);
  };
  /** NATS messages in and out so far (/varz is HTTP on the monitoring port, not a NATS message). */
  const natsMessages = async (): Promise<{ in: number; out: number }> => {
    const varz = (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as {
      in_msgs: number;
      out_msgs: number;
    };
    return { in: varz.in_msgs, out: varz.out_msgs };
  };
  const snapshot = async () => ({ redis: await redisCommands(), nats: await natsMessages() });

  it('measures zero commands over ~2 s of waiting, and the counters do see a claim round', async () => {
    const command = uniqueName('LP_IDLE');

    // Control: the counters are sensitive. A claim that does not wait (one round) costs Redis work.
    const c0 = await snapshot();
    expect((await call(base, '/tasks/claim', WORKER, { commands: [command] })).status).toBe(204);
    const c1 = await snapshot();
    expect(c1.redis - c0.redis).toBeGreaterThan(1);

    // Calibration: what the measurement costs on its own (nobody waiting): exactly one INFO.
    const q0 = await snapshot();
    await sleep(300);
    const q1 = await snapshot();
    expect(q1.redis - q0.redis).toBe(1);
    expect(q1.nats).toEqual(q0.nats);

    // The wait: a claim of 3 s over real HTTP; it does its first (empty) round, then sleeps.
    const started = performance.now();
    const waiting = track(call(base, '/tasks/claim', WORKER, { commands: [command], waitSeconds: 3 }));
    await sleep(400);
    const w0 = await snapshot();
    await sleep(2000);
    const w1 = await snapshot();
    expect(waiting.settled()).toBe(false); // still waiting during the whole measurement
    // Exactly what the measurement costs: one INFO (counted by the second read), no NATS message.
    expect(w1.redis - w0.redis).toBe(1);
    expect(w1.nats).toEqual(w0.nats);

    const res = await waiting.promise;
    expect(res.status).toBe(204);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2990);
  });
});

describe('disconnects and shutdown release waiting claims (shared servers)', () => {
  let deployment: TestDeployment;
  let engine: Engine;
  let app: CodeqServer;
  let base: string;

  beforeAll(async () => {
    deployment = testDeployment();
    engine = await Engine.create(
      engineOptions(deployment, { settings: toEngineSettings(testConfig()), background: false }),
    );
    ({ app, base } = await startApp(engine));
  });
  afterAll(async () => {
    if (app) await closeServer(app);
    if (engine) await engine.close();
    if (deployment) await dropDeployment(deployment);
  });

  it('a client that disconnects releases its wait: a later task goes to the live claimer', async () => {
    const command = uniqueName('LP_ABORT');
    const controller = new AbortController();
    const dead = call(
      base,
      '/tasks/claim',
      'lp-dead-worker-token',
      { commands: [command], waitSeconds: 20, leaseSeconds: 60 },
      controller.signal,
    ).catch((err: unknown) => err);
    await sleep(200);
    controller.abort();
    expect(await dead).toMatchObject({ name: 'AbortError' });
    await sleep(100); // let the server see the closed socket

    // Had the dead request's waiter stayed registered, it would be first in line for the wake-up
    // below, claim the task for lp-dead-worker and write the answer into a closed socket.
    const live = track(
      call(base, '/tasks/claim', 'lp-live-worker-token', {
        commands: [command],
        waitSeconds: 10,
        leaseSeconds: 60,
      }),
    );
    await sleep(150);
    expect(live.settled()).toBe(false);
    const created = await call(base, '/tasks', PRODUCER, { command, payload: { n: 1 } });
    expect(created.status).toBe(202);
    const claimed = await live.promise;
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ id: created.body.id, workerId: 'lp-live-worker' });
    expect(claimed.at - created.at).toBeLessThan(100);

    const history = await call(base, `/tasks/${created.body.id}/history`, PRODUCER);
    const claims = (history.body.events as { type: string; actor: string }[]).filter(
      (e) => e.type === 'claimed',
    );
    expect(claims).toHaveLength(1);
    expect(claims[0]?.actor).toBe('lp-live-worker');
  });

  it('closeServer() answers the long-polls still waiting with 204', async () => {
    const command = uniqueName('LP_CLOSE');
    const second = await startApp(engine);
    const started = performance.now();
    const waits = [1, 2, 3].map(() =>
      call(second.base, '/tasks/claim', WORKER, { commands: [command], waitSeconds: 25 }),
    );
    await sleep(300);
    await closeServer(second.app);
    const answers = await Promise.all(waits);
    expect(answers.map((a) => a.status)).toEqual([204, 204, 204]);
    // Answered at shutdown, not at the 25 s deadline.
    expect(Math.max(...answers.map((a) => a.at)) - started).toBeLessThan(3000);
    // The engine (closed later by its owner) still serves the other server.
    expect((await call(base, '/tasks/claim', WORKER, { commands: [command] })).status).toBe(204);
  });
});
