/**
 * Faults under a real workload (design §9.2–9.4): a producer enqueues N tasks in paced batches and
 * several worker loops on two engines claim and complete them while Redis is flushed, Redis is
 * killed and restarted empty, nats-server is killed -9 and restarted on its data dir, or an engine
 * process is killed -9 while it holds leases. Afterwards the workers drain the queue and the STREAM
 * is checked: every task the producer got back has exactly one `enqueued` event, no double lease,
 * at most one terminal event, every task completed, nothing extra; then the projection must agree
 * (counts, task states) and equal a rebuild from the log.
 *
 * Each test has its own nats-server and redis-server (startServers), so killing them touches
 * nothing else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/engine/engine.types.js';
import { CodeqError } from '../../src/errors.js';
import type { ChildOptions } from '../support/engine-child.js';
import { engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import {
  accountFor,
  atMostOneTerminal,
  countEvents,
  noDoubleLease,
  projectionDump,
  readStream,
  reservedEntries,
  type StreamContents,
} from '../support/invariants.js';
import { startServers, type TestServers } from '../support/servers.js';
import { sleep, startWorkload, type Workload } from '../support/workload.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMMAND = 'FAULT';
/** Tasks per test. */
const N = 1500;
const LEASE_SECONDS = 2;
/** Bounded wait for the queue to drain after the fault. */
const DRAIN_MS = 60_000;
const TEST_TIMEOUT_MS = 100_000;

/** Everything a test started, torn down in afterEach whatever happened. */
interface Started {
  servers?: TestServers;
  engines: Engine[];
  children: ChildProcess[];
  controls: { stop: boolean }[];
  loops: Promise<unknown>[];
}
let started: Started = { engines: [], children: [], controls: [], loops: [] };

afterEach(async () => {
  const s = started;
  started = { engines: [], children: [], controls: [], loops: [] };
  for (const c of s.controls) c.stop = true;
  for (const child of s.children) await killChild(child);
  // Worker loops end within a long-poll (1 s) once told to stop; do not wait forever on a hung one.
  await Promise.race([Promise.allSettled(s.loops), sleep(15_000)]);
  await Promise.all(s.engines.map((e) => e.close().catch(() => undefined)));
  await s.servers?.close();
});

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // While a dependency reconnects, reads fail fast with UNAVAILABLE: not yet, ask again.
    const done = await Promise.resolve()
      .then(check)
      .catch((err: unknown) => {
        if (err instanceof CodeqError && err.code === 'UNAVAILABLE') return false;
        throw err;
      });
    if (done) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Private servers, a deployment on them and the engine options every engine of the test uses. */
async function setup(): Promise<{
  servers: TestServers;
  deployment: TestDeployment;
  options: EngineOptions;
}> {
  const servers = await startServers();
  started.servers = servers;
  rebuilds = 0;
  const deployment = testDeployment({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
  const options = engineOptions(deployment, {
    background: true,
    settings: {
      sweepIntervalMs: 200,
      defaultLeaseSeconds: LEASE_SECONDS,
      backoff: { policy: 'fixed', baseSeconds: 1, maxSeconds: 1 },
    },
  });
  return { servers, deployment, options };
}

/** Automatic and on-demand rebuilds of the current test's engines (from their logs). */
let rebuilds = 0;
async function newEngine(options: EngineOptions): Promise<Engine> {
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        if (line.includes('"projection rebuilt"')) rebuilds++;
      },
    },
  );
  const engine = await Engine.create({ ...options, logger });
  started.engines.push(engine);
  return engine;
}

/** A workload: one producer and `workersPerEngine` worker loops on each of the given engines. */
function startFaultWorkload(
  producerEngine: Engine,
  workerEngines: Engine[],
  workersPerEngine: number,
): Workload {
  const w = startWorkload({
    producer: producerEngine,
    workers: workerEngines.flatMap((engine) => Array.from({ length: workersPerEngine }, () => engine)),
    command: COMMAND,
    total: N,
    batchSize: 25,
    pauseMs: 40,
    leaseSeconds: LEASE_SECONDS,
    producerDeadlineMs: 60_000,
  });
  started.controls.push(w.control);
  started.loops.push(
    w.producer.catch(() => undefined),
    ...w.workers,
  );
  return w;
}

/** Waits until the run is well under way: part enqueued, part completed. */
async function midRun(w: Workload): Promise<void> {
  await waitFor(
    'the workload to be under way',
    () => w.progress.ids.size >= N * 0.4 && w.stats.completed >= N * 0.1,
    30_000,
  );
}

/** Ids of tasks whose last event in the stream is `completed`. */
function completedTasks(stream: StreamContents): Set<string> {
  const done = new Set<string>();
  for (const [id, events] of stream.byTask) if (events[events.length - 1]?.type === 'completed') done.add(id);
  return done;
}

/** What the projection holds for one task (diagnostics of a failed drain). */
async function projectionOf(engine: Engine, id: string): Promise<object> {
  const redis = engine.store.client;
  const k = engine.store.keys;
  const sets = ['ready', 'reserved', 'delayed', 'inflight', 'dlq', 'done'] as const;
  const scores = await Promise.all(sets.map((set) => redis.zscore(k[set](COMMAND), id)));
  return {
    hash: await redis.hgetall(k.task(COMMAND, id)),
    index: await redis.get(k.taskIndex(id)),
    sets: Object.fromEntries(sets.map((set, i) => [set, scores[i]]).filter(([, v]) => v !== null)),
    checkpoint: await engine.store.checkpoint(),
  };
}

/** Lets the workers run until the log shows every produced task completed (bounded), then stops them. */
async function drain(engine: Engine, w: Workload): Promise<StreamContents> {
  await w.producer;
  expect(w.progress.ids.size).toBe(N);
  const deadline = Date.now() + DRAIN_MS;
  let stream = await readStream(engine);
  for (;;) {
    const done = completedTasks(stream);
    const open = [...w.progress.ids.values()].filter((id) => !done.has(id));
    if (open.length === 0) break;
    if (Date.now() > deadline) {
      const sample = await Promise.all(
        open.slice(0, 5).map(async (id) => ({
          id,
          history: stream.byTask.get(id)?.map((e) => `${e.type}@${e.seq}`),
          projection: await projectionOf(engine, id).catch((err: unknown) => String(err)),
        })),
      );
      const stats = await engine.queueStats(COMMAND).catch((err: unknown) => String(err));
      throw new Error(
        `queue did not drain in ${DRAIN_MS} ms: ${open.length} tasks not completed; ` +
          `stats ${JSON.stringify(stats)}; e.g. ${JSON.stringify(sample)}`,
      );
    }
    await sleep(1000);
    stream = await readStream(engine);
  }
  w.control.stop = true;
  await Promise.all(w.workers);
  // Read again: nothing may have happened after the last completion, but the check must see it all.
  return readStream(engine);
}

/** The stream-side invariants of a finished run. */
function verifyStream(stream: StreamContents, w: Workload): void {
  const ids = [...w.progress.ids.values()];
  // Distinct keys got distinct tasks, and the stream holds exactly those tasks (none extra).
  expect(new Set(ids).size).toBe(N);
  const enqueuedInStream = [...stream.byTask].filter(([, ev]) => ev.some((e) => e.type === 'enqueued'));
  expect(enqueuedInStream.length).toBe(N);
  const produced = new Set(ids);
  expect(enqueuedInStream.filter(([id]) => !produced.has(id)).map(([id]) => id)).toEqual([]);
  expect(stream.byTask.size).toBe(N);
  // Exactly one `enqueued` each (and the right idempotency key), folds through the machine.
  const accounted = accountFor(stream, ids);
  expect(accounted.violations).toEqual([]);
  for (const [key, id] of w.progress.ids) {
    const first = stream.byTask.get(id)?.[0];
    expect(first?.type === 'enqueued' ? first.data.idempotencyKey : undefined).toBe(key);
  }
  expect(noDoubleLease(stream).violations).toEqual([]);
  expect(atMostOneTerminal(stream).violations).toEqual([]);
  // Every task ended completed, exactly once: the counts add up to N.
  expect(accounted.byFinalState).toEqual({ completed: N });
  const completed = countEvents(stream, 'completed');
  expect(completed.size).toBe(N);
  expect([...completed.values()].every((n) => n === 1)).toBe(true);
  // A worker's `complete` resolved at most once per task (a second success would be a double result).
  expect(w.stats.doubleCompletes).toBe(0);
}

/**
 * The projection agrees with the log at rest: zero open work, N done, tasks COMPLETED, no stale
 * reservation, and it equals a projection rebuilt from the log.
 */
async function verifyProjection(
  options: EngineOptions,
  deployment: TestDeployment,
  w: Workload,
): Promise<void> {
  // Every other engine is closed first: nothing writes while the projection is compared.
  await Promise.all(started.engines.splice(0).map((e) => e.close()));
  const engine = await newEngine({ ...options, background: false });
  await engine.runBackgroundOnce(); // catch-up of anything applied late
  expect(await engine.queueStats(COMMAND)).toEqual({
    command: COMMAND,
    ready: 0,
    delayed: 0,
    inProgress: 0,
    dlq: 0,
    paused: false,
  });
  expect((await engine.listTasks(COMMAND, 'done', { limit: 1 })).total).toBe(N);
  const ids = [...w.progress.ids.values()];
  const sample = ids.filter((_, i) => i % 15 === 0);
  const views = await Promise.all(sample.map((id) => engine.getTask(id)));
  expect(views.filter((v) => v.status !== 'COMPLETED')).toEqual([]);
  const redis = new Redis(deployment.redisUrl);
  try {
    expect(await reservedEntries(redis, deployment.keyPrefix)).toEqual({});
    const live = await projectionDump(redis, deployment.keyPrefix);
    await engine.rebuildProjection();
    const rebuilt = await projectionDump(redis, deployment.keyPrefix);
    const differing = [...new Set([...Object.keys(live), ...Object.keys(rebuilt)])]
      .filter((key) => JSON.stringify(live[key]) !== JSON.stringify(rebuilt[key]))
      .map((key) => ({ key, live: live[key], rebuilt: rebuilt[key] }));
    expect(differing.slice(0, 5)).toEqual([]);
    expect(differing.length).toBe(0);
  } finally {
    redis.disconnect();
  }
}

function report(name: string, t0: number, w: Workload, stream: StreamContents, extra: object = {}): void {
  const leaseExpired = [...countEvents(stream, 'leaseExpired').values()].reduce((a, b) => a + b, 0);
  console.log(
    `[faults] ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${stream.events} events, ` +
      `claims ${w.stats.claimed}, leaseExpired ${leaseExpired}, producer retries ${w.progress.retries}, ` +
      `rebuilds ${rebuilds}, errors ${JSON.stringify(w.errors)} ${JSON.stringify(extra)}`,
  );
}

/** What a fault injected by {@link faultRun} can reach. */
interface FaultContext {
  servers: Awaited<ReturnType<typeof setup>>['servers'];
  deployment: Awaited<ReturnType<typeof setup>>['deployment'];
  a: Engine;
}

/**
 * One fault test: two engines under a running workload, `fault` injected mid-run, then the workload
 * drained and the stream and the projection verified.
 */
async function faultRun(label: string, fault: (ctx: FaultContext) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  const { servers, deployment, options } = await setup();
  const a = await newEngine(options);
  const b = await newEngine(options);
  const w = startFaultWorkload(a, [a, b], 3);
  await midRun(w);
  await fault({ servers, deployment, a });
  const stream = await drain(a, w);
  verifyStream(stream, w);
  expect(w.errors.unexpected()).toEqual({});
  await verifyProjection(options, deployment, w);
  report(label, t0, w, stream);
}

describe('engine under faults (real workload, private servers)', () => {
  it(
    'FLUSHALL on Redis mid-run: the projection is rebuilt from the log and no task is lost or duplicated',
    async () => {
      await faultRun('flushall', async ({ deployment, a }) => {
        const admin = new Redis(deployment.redisUrl);
        await admin.flushall();
        admin.disconnect();
        await waitFor('the projection to be rebuilt', () => a.store.isBuilt(), 20_000);
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Redis killed -9 and restarted empty mid-run: clients reconnect, the projection is rebuilt, nothing lost',
    async () => {
      await faultRun('redis kill -9', async ({ servers, a }) => {
        await servers.redis.kill();
        await sleep(1000);
        await servers.redis.start();
        await waitFor('the projection to be rebuilt', () => a.store.isBuilt(), 20_000);
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'nats-server killed -9 and restarted on its data dir mid-run: retried enqueues (same keys) neither lose nor duplicate',
    async () => {
      await faultRun('nats kill -9', async ({ servers }) => {
        await servers.nats.kill();
        await sleep(1000);
        await servers.nats.start();
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'an engine process killed -9 mid-claim while holding leases: its leases expire and are repaired, everything completes',
    async () => {
      const t0 = Date.now();
      const { deployment, options } = await setup();
      const a = await newEngine(options);
      const childOptions: ChildOptions = {
        natsUrl: deployment.natsUrl,
        redisUrl: deployment.redisUrl,
        streamName: deployment.streamName,
        subjectPrefix: deployment.subjectPrefix,
        keyPrefix: deployment.keyPrefix,
        command: COMMAND,
        workerPrefix: 'child',
        workers: 3,
        leaseSeconds: 3,
        maxWorkMs: 5,
        holdEvery: 7,
        sweepIntervalMs: 200,
        backoff: { policy: 'fixed', baseSeconds: 1, maxSeconds: 1 },
      };
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/support/engine-child.ts', JSON.stringify(childOptions)],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      started.children.push(child);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const childState = {
        ready: false,
        held: new Set<string>(),
        completed: new Set<string>(),
        claimedLines: 0,
        /** Last line per child worker: 'claiming' means a claim call was in flight. */
        lastByWorker: new Map<string, string>(),
        errorLine: '',
      };
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let msg: { ev?: string; w?: string; ids?: string[]; held?: string[]; id?: string; message?: string };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.w) childState.lastByWorker.set(msg.w, msg.ev ?? '');
        if (msg.ev === 'ready') childState.ready = true;
        else if (msg.ev === 'claimed') {
          childState.claimedLines++;
          for (const id of msg.held ?? []) childState.held.add(id);
        } else if (msg.ev === 'completed' && msg.id) childState.completed.add(msg.id);
        else if (msg.ev === 'error') childState.errorLine = msg.message ?? '';
      });
      await waitFor(
        'the child engine to start',
        () => {
          if (child.exitCode !== null) throw new Error(`child exited: ${childState.errorLine} ${stderr}`);
          return childState.ready;
        },
        30_000,
      );

      const w = startFaultWorkload(a, [a], 3);
      await midRun(w);
      // The child holds leases (heartbeated, never completed) and has done real work.
      await waitFor(
        'the child to hold leases and complete tasks',
        () => childState.held.size >= 3 && childState.completed.size >= 30,
        30_000,
      );
      // Prefer a moment where a child worker is inside a claim call.
      await waitFor(
        'a child claim in flight',
        () => [...childState.lastByWorker.values()].includes('claiming'),
        2000,
      ).catch(() => undefined);
      const midClaim = [...childState.lastByWorker.values()].filter((ev) => ev === 'claiming').length;
      const heldAtKill = new Set(childState.held);
      const completedAtKill = new Set(childState.completed);
      await killChild(child);
      expect(child.signalCode).toBe('SIGKILL');

      const stream = await drain(a, w);
      verifyStream(stream, w);
      expect(w.errors.unexpected()).toEqual({});

      // Every lease the child took ended in its own completion or in a repair (leaseExpired).
      const badEndings: string[] = [];
      let childClaims = 0;
      for (const [id, events] of stream.byTask) {
        events.forEach((e, i) => {
          if (e.type !== 'claimed' || !e.data.workerId.startsWith('child-')) return;
          childClaims++;
          const next = events.slice(i + 1).find((x) => x.type !== 'heartbeat');
          const ok =
            (next?.type === 'completed' && next.data.workerId === e.data.workerId) ||
            (next?.type === 'leaseExpired' && next.data.workerId === e.data.workerId);
          if (!ok) badEndings.push(`${id}: ${events.map((x) => x.type).join(',')}`);
        });
      }
      expect(badEndings).toEqual([]);
      expect(childClaims).toBeGreaterThan(0);
      // The tasks the child held when it died show `leaseExpired` (of the child's lease) and were
      // then completed by the surviving engine's workers.
      expect(heldAtKill.size).toBeGreaterThanOrEqual(3);
      for (const id of heldAtKill) {
        expect(completedAtKill.has(id)).toBe(false);
        const events = stream.byTask.get(id) ?? [];
        const lastChildClaim = events.findLastIndex(
          (e) => e.type === 'claimed' && e.data.workerId.startsWith('child-'),
        );
        expect(lastChildClaim).toBeGreaterThanOrEqual(0);
        const after = events.slice(lastChildClaim + 1).filter((e) => e.type !== 'heartbeat');
        expect(after[0]?.type).toBe('leaseExpired');
        const last = events[events.length - 1];
        expect(last?.type === 'completed' ? last.data.workerId.startsWith('w-') : false).toBe(true);
      }
      await verifyProjection(options, deployment, w);
      report('engine process kill -9', t0, w, stream, {
        childClaims,
        childCompleted: completedAtKill.size,
        heldAtKill: heldAtKill.size,
        childWorkersMidClaim: midClaim,
      });
    },
    TEST_TIMEOUT_MS,
  );
});
