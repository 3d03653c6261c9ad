/**
 * Scale-out NATS (issue 12): an engine on a 3-node JetStream cluster (stream R3) under load while
 * the stream's leader is killed -9, then (with the first back) a follower. No caller may see an
 * error, nothing may be lost (every enqueued task has its events and is completed) or doubled (one
 * `enqueued` per idempotency key, no double lease, one terminal event). The longest enqueue stall
 * during the failover is printed: what a node loss costs (docs/architecture.md).
 *
 * The cluster is started once for the file (about 3 s); the whole file takes well under a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { TaskView } from '../../src/contract/views.js';
import { sleep } from '../support/assertions.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import {
  accountFor,
  atMostOneTerminal,
  countEvents,
  noDoubleLease,
  readStream,
} from '../support/invariants.js';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster.js';
import { ErrorTally } from '../support/workload.js';

const COMMAND = 'CLUSTER';
/** Above nats-server 2.9's stream leader election (about 5-9 s after a kill -9, measured). */
const DEPENDENCY_TIMEOUT_MS = 20_000;
const PRODUCERS = 3;
const BATCH = 50;
const WORKERS = 2;
/** Pause of each producer between its batches, ms (about 2,000 tasks/s in all). */
const PAUSE_MS = 50;

let cluster: NatsCluster;
let deployment: TestDeployment;
let engine: Engine;

beforeAll(async () => {
  cluster = await startNatsCluster();
  deployment = testDeployment({ natsUrl: cluster.urls[0]! });
  engine = await Engine.create(
    engineOptions(deployment, {
      natsServers: cluster.urls,
      streamReplicas: 3,
      dependencyTimeoutMs: DEPENDENCY_TIMEOUT_MS,
      background: true,
    }),
  );
}, 60_000);

afterAll(async () => {
  await engine?.close();
  if (cluster) {
    for (const node of cluster.nodes) if (!node.server.running) await cluster.restart(node.name);
    await dropDeployment({ ...deployment, natsUrl: cluster.urls.join(',') }).catch(() => undefined);
    await cluster.close();
  }
});

/** The load: producers enqueueing keyed batches, workers claiming and completing. */
interface Load {
  /** performance.now() when the load began. */
  began: number;
  errors: ErrorTally;
  /** Idempotency key → task id. */
  ids: Map<string, string>;
  /** Duration of every enqueueMany call, with its start (ms since the load began). */
  enqueueCalls: { startMs: number; ms: number }[];
  completed: Set<string>;
  doubleCompletes: number;
  stop: { producers: boolean; workers: boolean };
  loops: Promise<void>[];
}

function startLoad(): Load {
  const began = performance.now();
  const load: Load = {
    began,
    errors: new ErrorTally(),
    ids: new Map(),
    enqueueCalls: [],
    completed: new Set(),
    doubleCompletes: 0,
    stop: { producers: false, workers: false },
    loops: [],
  };
  const produce = async (p: number): Promise<void> => {
    for (let b = 0; !load.stop.producers; b++) {
      const inputs = Array.from({ length: BATCH }, (_, i) => ({
        command: COMMAND,
        payload: { p, b, i },
        idempotencyKey: `p${p}-b${b}-i${i}`,
      }));
      const started = performance.now();
      try {
        const views = await engine.enqueueMany(inputs);
        views.forEach((v, i) => load.ids.set(inputs[i]!.idempotencyKey, v.id));
      } catch (err) {
        load.errors.add(err);
      }
      load.enqueueCalls.push({ startMs: started - began, ms: performance.now() - started });
      await sleep(PAUSE_MS);
    }
  };
  const work = async (w: number): Promise<void> => {
    const workerId = `w${w}`;
    while (!load.stop.workers) {
      let tasks: TaskView[] = [];
      try {
        tasks = await engine.claim({ workerId, commands: [COMMAND], count: 16, waitSeconds: 1 });
      } catch (err) {
        load.errors.add(err);
        await sleep(100); // never a busy loop, even on a closed engine
      }
      for (const task of tasks) {
        try {
          await engine.complete({ taskId: task.id, workerId, result: { by: workerId } });
          if (load.completed.has(task.id)) load.doubleCompletes++;
          load.completed.add(task.id);
        } catch (err) {
          load.errors.add(err);
        }
      }
    }
  };
  for (let p = 0; p < PRODUCERS; p++) load.loops.push(produce(p));
  for (let w = 0; w < WORKERS; w++) load.loops.push(work(w));
  return load;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** A stream leader other than `not` (after a kill, the new one). */
async function leaderOtherThan(not: string | undefined): Promise<string> {
  let leader: string | undefined;
  await waitFor(
    'a stream leader',
    async () => {
      leader = await cluster.streamLeader(deployment.streamName);
      return leader !== undefined && leader !== not;
    },
    30_000,
  );
  return leader!;
}

describe('3-node NATS cluster', () => {
  it('loses nothing and doubles nothing when the stream leader, then a follower, is killed -9', async () => {
    const load = startLoad();
    const marks: string[] = [];
    const mark = (what: string): number => {
      const at = performance.now() - load.began;
      marks.push(`${what} at ${(at / 1000).toFixed(1)} s`);
      return at;
    };
    const enqueuedSoFar = (n: number) => () => load.ids.size >= n;
    let leader = '';
    let newLeader = '';
    let follower = '';
    let followerKilledAt = 0;
    try {
      await waitFor('the load to be under way', enqueuedSoFar(1000), 20_000);
      leader = await leaderOtherThan(undefined);
      const killedAt = load.ids.size;
      await cluster.kill(leader);
      mark(`leader ${leader} killed`);
      newLeader = await leaderOtherThan(leader);
      mark(`new leader ${newLeader} seen`);
      await waitFor('enqueues after the failover', enqueuedSoFar(killedAt + 1000), 40_000);

      // The first node back (same ports and store) and caught up, so losing a follower leaves a
      // quorum of current replicas.
      await cluster.restart(leader);
      await waitFor(
        'the restarted node to catch up',
        () => cluster.streamInSync(deployment.streamName),
        30_000,
      );
      mark(`${leader} back and current`);
      follower = cluster.nodes.find((n) => n.name !== newLeader && n.name !== leader)!.name;
      const beforeFollower = load.ids.size;
      await cluster.kill(follower);
      followerKilledAt = mark(`follower ${follower} killed`);
      await waitFor('enqueues without the follower', enqueuedSoFar(beforeFollower + 1000), 40_000);
      await sleep(3000); // a while on two nodes: claims and completes too
      await cluster.restart(follower);
      // The follower may have been the meta leader: reads (consumers) need one again.
      await cluster.waitForMetaLeader();
      mark(`${follower} back`);

      load.stop.producers = true;
      await Promise.all(load.loops.slice(0, PRODUCERS));
      await waitFor('the workers to complete every task', () => load.completed.size >= load.ids.size, 40_000);
      mark('all completed');
    } finally {
      load.stop.producers = true;
      load.stop.workers = true;
      await Promise.race([Promise.allSettled(load.loops), sleep(15_000)]);
    }

    const longest = load.enqueueCalls.reduce((a, c) => (c.ms > a.ms ? c : a), { startMs: 0, ms: 0 });
    const typical = load.enqueueCalls.map((c) => c.ms).sort((a, b) => a - b)[
      Math.floor(load.enqueueCalls.length / 2)
    ];
    const followerStall = load.enqueueCalls
      .filter((c) => c.startMs + c.ms >= followerKilledAt)
      .reduce((a, c) => Math.max(a, c.ms), 0);
    console.log(
      `[nats-cluster] ${marks.join('; ')}. ${load.ids.size} tasks, ${load.enqueueCalls.length} ` +
        `enqueueMany calls of ${BATCH}: longest enqueue stall ${Math.round(longest.ms)} ms (call started at ` +
        `${(longest.startMs / 1000).toFixed(1)} s), longest after the follower kill ${Math.round(followerStall)} ms, ` +
        `median call ${Math.round(typical ?? 0)} ms`,
    );

    expect(load.errors.toJSON()).toEqual({});
    expect(load.doubleCompletes).toBe(0);
    const stream = await readStream(engine);
    const ids = [...load.ids.values()];
    expect(new Set(ids).size).toBe(ids.length); // one task per key
    expect(accountFor(stream, ids).violations).toEqual([]);
    expect(noDoubleLease(stream).violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
    expect([...countEvents(stream, 'enqueued').values()].every((n) => n === 1)).toBe(true);
    // Nothing in the log that no caller was told about, and every task done.
    expect(stream.byTask.size).toBe(ids.length);
    for (const id of ids) expect(stream.byTask.get(id)?.at(-1)?.type).toBe('completed');
  }, 120_000);
});
