/**
 * The engine on a Redis Cluster (3 masters, 1 replica each; started once for the file): work
 * across commands whose keys live on different masters, batch enqueue with idempotency keys, DLQ
 * and counts, a rebuild after FLUSHALL on every master that reproduces every key, and a master
 * killed -9 under a running workload (its replica takes over: nothing lost, no double lease).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/engine/engine.types.js';
import type { TaskView } from '../../src/contract/views.js';
import { ProjectionKeys } from '../../src/projections/keys.js';
import { keySlot } from '../../src/projections/redis-slots.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import {
  accountFor,
  atMostOneTerminal,
  noDoubleLease,
  projectionDump,
  readStream,
  reservedEntries,
} from '../support/invariants.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { sleep, startWorkload } from '../support/workload.js';

let cluster: TestRedisCluster;
const opened: { engines: Engine[]; deployments: TestDeployment[] } = { engines: [], deployments: [] };

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1 });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

afterEach(async () => {
  await Promise.all(opened.engines.splice(0).map((e) => e.close()));
  for (const d of opened.deployments.splice(0)) await dropDeployment(d).catch(() => undefined);
});

async function openEngine(
  extra: Partial<EngineOptions>,
): Promise<{ engine: Engine; deployment: TestDeployment; options: EngineOptions }> {
  const deployment = testDeployment({ redisUrl: cluster.url });
  opened.deployments.push(deployment);
  const options = engineOptions(deployment, extra);
  const engine = await Engine.create(options);
  opened.engines.push(engine);
  return { engine, deployment, options };
}

/** The master port serving each command's keys (the hash tag decides the slot). */
async function mastersOf(prefix: string, commands: readonly string[]): Promise<Map<string, number>> {
  const keys = new ProjectionKeys(prefix);
  const out = new Map<string, number>();
  for (const c of commands) out.set(c, (await cluster.masterOf(keySlot(keys.commandBase(c)))).listenPort);
  return out;
}

/** Claims until `count` tasks came back (or the deadline passes). */
async function claimAll(engine: Engine, commands: string[], count: number): Promise<TaskView[]> {
  const claimed: TaskView[] = [];
  const deadline = Date.now() + 20_000;
  while (claimed.length < count && Date.now() < deadline) {
    claimed.push(...(await engine.claim({ workerId: 'w', commands, count: 50, waitSeconds: 1 })));
  }
  return claimed;
}

describe('engine on a Redis Cluster', () => {
  it('works across slots: batch enqueue with idempotency keys, claims, results, DLQ, counts, rebuild after FLUSHALL on every master', async () => {
    const { engine, deployment } = await openEngine({ background: false });
    const commands = ['rc-a', 'rc-b', 'rc-c', 'rc-d', 'rc-e', 'rc-f'];
    const owners = await mastersOf(deployment.keyPrefix, commands);
    // Not vacuous: the commands' keys (and the untagged id/idempotency keys) span several masters.
    expect(new Set(owners.values()).size).toBeGreaterThanOrEqual(2);

    const inputs = Array.from({ length: 60 }, (_, n) => ({
      command: commands[n % commands.length]!,
      payload: { n },
      priority: n % 10,
      ...(n % 2 === 0 ? { idempotencyKey: `rc-key-${n}` } : {}),
    }));
    const first = await engine.enqueueMany(inputs);
    // The keyed ones again: answered from the idempotency index (keys on every master).
    const keyed = inputs.filter((i) => i.idempotencyKey !== undefined);
    const again = await engine.enqueueMany(keyed);
    expect(again.map((v) => v.id)).toEqual(first.filter((_, n) => n % 2 === 0).map((v) => v.id));
    const stats = await engine.allQueueStats();
    expect(stats.reduce((sum, s) => sum + s.ready, 0)).toBe(60);

    // Reads by id go through the id index (untagged keys, any slot).
    const views = await Promise.all(first.slice(0, 12).map((v) => engine.getTask(v.id)));
    expect(views.map((v) => v.payload)).toEqual(first.slice(0, 12).map((v) => v.payload));

    const claimed = await claimAll(engine, commands, 60);
    expect(new Set(claimed.map((t) => t.id)).size).toBe(60);
    const dead = claimed.slice(0, 5);
    for (const t of dead) await engine.nack({ taskId: t.id, workerId: 'w', deadLetter: true });
    const results = await engine.submitResults(
      claimed
        .slice(5)
        .map((t) => ({ taskId: t.id, workerId: 'w', status: 'COMPLETED', result: { ok: t.id } })),
    );
    expect(results.filter((r) => r instanceof Error)).toEqual([]);
    const after = await engine.allQueueStats();
    expect(after.reduce((sum, s) => sum + s.dlq, 0)).toBe(5);
    expect(after.every((s) => s.ready === 0 && s.inProgress === 0)).toBe(true);
    const dlqCommand = dead[0]!.command;
    expect((await engine.listDlq(dlqCommand)).items.map((t) => t.id)).toEqual(
      expect.arrayContaining(dead.filter((t) => t.command === dlqCommand).map((t) => t.id)),
    );

    // FLUSHALL on every master: the background pass notices and rebuilds from the log.
    const live = await projectionDump(engine.store.client, deployment.keyPrefix);
    await cluster.flushAll();
    expect(await engine.store.isBuilt()).toBe(false);
    await engine.runBackgroundOnce();
    expect(await engine.store.isBuilt()).toBe(true);
    const rebuilt = await projectionDump(engine.store.client, deployment.keyPrefix);
    expect(Object.keys(rebuilt).length).toBeGreaterThan(120);
    expect(rebuilt).toEqual(live);
    expect(await engine.allQueueStats()).toEqual(after);
  });

  it('a master killed -9 under load: its replica takes over, the engine keeps working, nothing lost, no double lease', async () => {
    const command = 'rc-failover';
    const {
      engine: a,
      deployment,
      options,
    } = await openEngine({
      background: true,
      settings: { sweepIntervalMs: 200, defaultLeaseSeconds: 2 },
    });
    const b = await Engine.create(options);
    opened.engines.push(b);
    const victim = await cluster.masterOf(
      keySlot(new ProjectionKeys(deployment.keyPrefix).commandBase(command)),
    );

    const total = 400;
    const { progress, producer, stats, errors, control, workers } = startWorkload({
      producer: a,
      workers: [a, b, a, b],
      command,
      total,
      batchSize: 20,
      pauseMs: 30,
      leaseSeconds: 2,
      producerDeadlineMs: 40_000,
    });
    try {
      while (progress.ids.size < total * 0.3) await sleep(50);
      await victim.kill();
      await cluster.waitHealthy(30_000);
      await producer;
      const deadline = Date.now() + 30_000;
      while (stats.completedIds.size < total && Date.now() < deadline) await sleep(100);
    } finally {
      control.stop = true;
      await Promise.allSettled([producer, ...workers]);
    }
    // Back as a replica of its promoted replica (it restarts empty and resyncs).
    await victim.start();

    const stream = await readStream(a);
    expect(accountFor(stream, progress.ids.values()).violations).toEqual([]);
    expect(noDoubleLease(stream).violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
    expect(stats.completedIds.size).toBe(total);
    expect(errors.unexpected()).toEqual({});
    console.log(
      `[redis-cluster] failover: errors meanwhile ${JSON.stringify(errors)}, producer retries ${progress.retries}`,
    );
    await a.runBackgroundOnce();
    expect(await a.queueStats(command)).toEqual({
      command,
      ready: 0,
      delayed: 0,
      inProgress: 0,
      dlq: 0,
      paused: false,
    });
    expect(await reservedEntries(a.store.client, deployment.keyPrefix)).toEqual({});
    await cluster.waitHealthy(30_000);
  }, 60_000);
});
