/**
 * Two `codeq server` processes on different ports sharing one NATS and one Redis (the integration
 * project's shared servers) serve one queue consistently: 500 tasks enqueued through server A are
 * claimed and completed by long-polling workers on both servers, each task completed exactly once,
 * both servers doing a real share, and the event log free of double leases.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { subscriptionBucket } from '../../src/webhooks/subscription.store.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, testDeployment } from '../support/engine.js';
import type { StreamContents } from '../support/invariants.js';
import { accountFor, atMostOneTerminal, countEvents, noDoubleLease } from '../support/invariants.js';
import { uniqueName } from '../support/servers.js';

const TASKS = 500;
const WORKERS_PER_SERVER = 4;
const ADMIN = 'two-servers-admin-token';
const PRODUCER = 'two-servers-producer-token';
const workerToken = (server: string, i: number) => `two-servers-worker-${server}-${i}-token`;

interface Instance {
  name: 'A' | 'B';
  child: ChildProcess;
  base: string;
  output: string[];
}

/** Spawns `codeq server` as users run it and resolves once it printed its URL and /healthz answers. */
async function startInstance(name: 'A' | 'B', configPath: string, d: TestDeployment, dataDir: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'server',
      '--port',
      '0',
      '--nats-url',
      d.natsUrl,
      '--redis-url',
      d.redisUrl,
      '--data-dir',
      dataDir,
      '--config',
      configPath,
      '--log-level',
      'warn',
    ],
    { cwd: process.cwd(), env: { ...process.env, CODEQ_CONFIG: '', DEV_MODE: '' }, stdio: 'pipe' },
  );
  const output: string[] = [];
  const instance: Instance = { name, child, base: '', output };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server ${name} did not start:\n${output.join('')}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const m = /codeq listening on (http:\/\/\S+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server ${name} exited with ${code}:\n${output.join('')}`));
    });
  });
  instance.base = url;
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  return instance;
}

async function stopInstance(instance: Instance | undefined): Promise<void> {
  if (!instance) return;
  const { child } = instance;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function call(base: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${base}/v1/codeq${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
}

describe('two server processes sharing one NATS and one Redis', () => {
  const command = uniqueName('TWO_SERVERS');
  let dir: string;
  let deployment: TestDeployment;
  let a: Instance | undefined;
  let b: Instance | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'codeq-two-servers-'));
    deployment = testDeployment();
    const tokens = [
      { token: ADMIN, role: 'admin', subject: 'two-servers-admin' },
      { token: PRODUCER, role: 'producer', subject: 'two-servers-producer', eventTypes: [command] },
      ...(['A', 'B'] as const).flatMap((s) =>
        Array.from({ length: WORKERS_PER_SERVER }, (_, i) => ({
          token: workerToken(s, i),
          role: 'worker',
          subject: `worker-${s}-${i}`,
          eventTypes: [command],
        })),
      ),
    ];
    const configPath = join(dir, 'codeq.yaml');
    // YAML is a superset of JSON: the config file is written as JSON.
    writeFileSync(
      configPath,
      JSON.stringify({
        streamName: deployment.streamName,
        subjectPrefix: deployment.subjectPrefix,
        keyPrefix: deployment.keyPrefix,
        tokens,
      }),
    );
    // Sequential: the first start creates the stream and builds the projection.
    a = await startInstance('A', configPath, deployment, join(dir, 'a'));
    b = await startInstance('B', configPath, deployment, join(dir, 'b'));
  });

  afterAll(async () => {
    await Promise.all([stopInstance(a), stopInstance(b)]);
    if (deployment) {
      await dropDeployment(deployment);
      const nc = await connect({ servers: deployment.natsUrl });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(`KV_${subscriptionBucket(deployment.streamName)}`).catch(() => false);
      await nc.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The whole event log through server B's admin API, in the invariant checks' shape. */
  async function readLogOverHttp(base: string): Promise<StreamContents> {
    const byTask = new Map<string, StoredTaskEvent[]>();
    let fromSeq = 1;
    let events = 0;
    let lastSeq = 0;
    for (;;) {
      const page = await call(base, `/admin/events?fromSeq=${fromSeq}&limit=5000`, ADMIN);
      expect(page.status).toBe(200);
      const batch = page.body.events as {
        seq: number;
        type: StoredTaskEvent['type'];
        taskId: string;
        command: string;
        time: string;
        actor: string;
        data: unknown;
      }[];
      if (batch.length === 0) break;
      for (const e of batch) {
        const event = {
          v: 1,
          seq: e.seq,
          type: e.type,
          taskId: e.taskId,
          command: e.command,
          at: Date.parse(e.time),
          actor: e.actor,
          data: e.data,
        } as StoredTaskEvent;
        let list = byTask.get(e.taskId);
        if (!list) byTask.set(e.taskId, (list = []));
        list.push(event);
        events++;
        lastSeq = e.seq;
      }
      fromSeq = page.body.nextSeq as number;
    }
    return { byTask, events, lastSeq };
  }

  it('spreads claims across both servers, completes every task exactly once, no double lease', async () => {
    const servers = [a!, b!];
    expect(a!.base).not.toBe(b!.base);
    const taskIds: string[] = [];
    let enqueueDone = false;
    const completedBy = { A: 0, B: 0 };
    const claimedIds = new Map<string, string>(); // task id → worker that completed it
    const duplicates: string[] = [];
    const errors: string[] = [];

    // Workers long-poll on both servers before any task exists, then claim and complete.
    const worker = async (server: Instance, i: number) => {
      const token = workerToken(server.name, i);
      for (;;) {
        if (enqueueDone && claimedIds.size >= TASKS) return;
        const claim = await call(server.base, '/tasks/claim', token, {
          commands: [command],
          waitSeconds: 1,
          leaseSeconds: 120,
        });
        if (claim.status === 204) continue;
        if (claim.status !== 200) {
          errors.push(`claim on ${server.name}: ${claim.status} ${JSON.stringify(claim.body)}`);
          return;
        }
        const id = claim.body.id as string;
        expect(claim.body.workerId).toBe(`worker-${server.name}-${i}`);
        if (claimedIds.has(id)) duplicates.push(id);
        claimedIds.set(id, `worker-${server.name}-${i}`);
        const done = await call(server.base, `/tasks/${id}/result`, token, {
          status: 'COMPLETED',
          result: { server: server.name, worker: i },
        });
        if (done.status !== 200) {
          errors.push(`result on ${server.name}: ${done.status} ${JSON.stringify(done.body)}`);
          return;
        }
        completedBy[server.name]++;
      }
    };
    const workers = servers.flatMap((s) =>
      Array.from({ length: WORKERS_PER_SERVER }, (_, i) => worker(s, i)),
    );

    // Enqueue through server A only, 20 requests in flight.
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < TASKS) {
          const n = next++;
          const res = await call(a!.base, '/tasks', PRODUCER, { command, payload: { n } });
          expect(res.status).toBe(202);
          taskIds.push(res.body.id as string);
        }
      }),
    );
    enqueueDone = true;
    await Promise.all(workers);

    expect(errors).toEqual([]);
    expect(duplicates).toEqual([]);
    expect(new Set(taskIds).size).toBe(TASKS);
    expect(claimedIds.size).toBe(TASKS);
    expect(completedBy.A + completedBy.B).toBe(TASKS);
    // Both servers served a real share (an even split would be 250 each).
    expect(completedBy.A).toBeGreaterThanOrEqual(TASKS * 0.2);
    expect(completedBy.B).toBeGreaterThanOrEqual(TASKS * 0.2);

    // The log, read through server B: one completed event per task, nothing double-leased.
    const stream = await readLogOverHttp(b!.base);
    const completed = countEvents(stream, 'completed');
    expect(completed.size).toBe(TASKS);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    expect(taskIds.every((id) => completed.get(id) === 1)).toBe(true);
    const claims = countEvents(stream, 'claimed');
    expect(taskIds.every((id) => claims.get(id) === 1)).toBe(true);
    expect(noDoubleLease(stream).violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
    const accounted = accountFor(stream, taskIds);
    expect(accounted.violations).toEqual([]);
    expect(accounted.byFinalState).toEqual({ completed: TASKS });
    // The actor of each completion is the worker that claimed it.
    for (const [taskId, events] of stream.byTask) {
      const done = events.find((e) => e.type === 'completed');
      expect(done?.actor).toBe(claimedIds.get(taskId));
    }

    // Both servers agree that the queue is empty.
    for (const s of servers) {
      const stats = await call(s.base, `/admin/queues/${command}`, ADMIN);
      expect(stats.status).toBe(200);
      expect(stats.body).toMatchObject({
        command,
        ready: 0,
        delayed: 0,
        inProgress: 0,
        dlq: 0,
        paused: false,
      });
    }
  });
});
