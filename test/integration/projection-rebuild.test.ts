/**
 * The live projection equals a projection rebuilt from the stream, compared key by key (design §4,
 * §9.1): after a mixed workload rebuilt on demand, and after a wipe of the deployment's keys that
 * the background loop notices and repairs by itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/engine/engine.types.js';
import type { TaskView } from '../../src/contract/views.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import {
  accountFor,
  atMostOneTerminal,
  keysOf,
  noDoubleLease,
  projectionDump,
  readStream,
  reservedEntries,
  type DumpedKey,
} from '../support/invariants.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Engines and deployments of the running test, closed and dropped after it. */
const opened: { engines: Engine[]; deployments: TestDeployment[] } = { engines: [], deployments: [] };

async function openEngine(
  extra: Partial<EngineOptions>,
): Promise<{ engine: Engine; deployment: TestDeployment }> {
  const deployment = testDeployment();
  opened.deployments.push(deployment);
  const engine = await Engine.create(engineOptions(deployment, extra));
  opened.engines.push(engine);
  return { engine, deployment };
}

afterEach(async () => {
  await Promise.all(opened.engines.splice(0).map((e) => e.close()));
  for (const d of opened.deployments.splice(0)) await dropDeployment(d);
});

/** Keys of a dump grouped by kind (`ready`, `t`, `idem`, ...), to show the comparison is not vacuous. */
function kinds(dump: Record<string, DumpedKey>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(dump)) {
    const rest = key.slice(prefix.length + 1);
    const kind = rest.startsWith('{') ? (rest.split('}:')[1] ?? '').split(':')[0]! : rest.split(':')[0]!;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

function ids(views: readonly TaskView[]): string[] {
  return views.map((v) => v.id);
}

describe('projection rebuild: live equals rebuilt from the log', () => {
  it('after a mixed workload, a rebuild (flush + replay) reproduces every key', async () => {
    const { engine, deployment } = await openEngine({
      background: false,
      // Retries (nack without delay, lease expiry) come back after 1 s: due before the comparison.
      settings: { backoff: { policy: 'fixed', baseSeconds: 1, maxSeconds: 1 } },
    });
    const [A, B, C] = ['mix-a', 'mix-b', 'mix-c'];
    const now = Date.now();
    const all: string[] = [];
    const track = (views: TaskView[]): TaskView[] => {
      all.push(...views.map((v) => v.id));
      return views;
    };

    // --- enqueue: priorities, idempotency keys, delays due soon and far away, a runAt in the past.
    const ready = track(
      await engine.enqueueMany(
        Array.from({ length: 20 }, (_, n) => ({
          command: A,
          payload: { n, nested: { list: [n, 'x'] } },
          priority: n % 10,
          ...(n % 3 === 0 ? { idempotencyKey: `mix-key-${n}` } : {}),
          ...(n === 7 ? { webhook: 'https://example.com/hook' } : {}),
        })),
      ),
    );
    const dueSoon = track(
      await engine.enqueueMany(
        Array.from({ length: 4 }, (_, n) => ({
          command: A,
          payload: { soon: n },
          delaySeconds: 1,
          priority: n,
        })),
      ),
    );
    const farAway = track(
      await engine.enqueueMany(
        Array.from({ length: 3 }, (_, n) => ({
          command: A,
          payload: { far: n },
          runAt: now + 3600_000 + n,
          idempotencyKey: `mix-far-${n}`,
        })),
      ),
    );
    track([await engine.enqueue({ command: A, payload: { past: true }, runAt: now - 60_000, priority: 9 })]);
    const again = await engine.enqueue({
      command: A,
      payload: { ignored: true },
      idempotencyKey: 'mix-key-3',
    });
    expect(again.id).toBe(ready[3]?.id);

    // --- claims on A, then every kind of outcome.
    const claimedA = await engine.claim({ workerId: 'w-a', commands: [A], count: 10, leaseSeconds: 300 });
    expect(claimedA).toHaveLength(10);
    expect(claimedA[0]?.priority).toBe(9);
    const [c0, c1, c2, f0, f1, n0, n1, ab, hb0, hb1] = claimedA as TaskView[] & { length: 10 };
    for (const t of [c0, c1, c2]) {
      await engine.complete({
        taskId: t!.id,
        workerId: 'w-a',
        result: { ok: t!.id },
        ...(t === c0 ? { artifacts: [{ name: 'log.txt', url: 'https://example.com/log.txt' }] } : {}),
      });
    }
    await engine.fail({ taskId: f0!.id, workerId: 'w-a', error: 'boom' });
    await engine.fail({ taskId: f1!.id, workerId: 'w-a', error: 'bang', artifacts: [{ name: 'trace' }] });
    expect(await engine.nack({ taskId: n0!.id, workerId: 'w-a', delaySeconds: 0 })).toMatchObject({
      status: 'requeued',
    });
    await engine.nack({ taskId: n1!.id, workerId: 'w-a', reason: 'try later' }); // backoff: 1 s
    await engine.abandon({ taskId: ab!.id, workerId: 'w-a' });
    await engine.heartbeat({ taskId: hb0!.id, workerId: 'w-a', extendSeconds: 600 });
    await engine.heartbeat({ taskId: hb1!.id, workerId: 'w-a' });
    await engine.heartbeat({ taskId: hb1!.id, workerId: 'w-a', extendSeconds: 900 });

    // --- cancels: a far-future delayed task and a ready one.
    await engine.cancel({ taskId: farAway[0]!.id, actor: 'admin:test', reason: 'not needed' });
    const stillReady = (await engine.listTasks(A, 'ready', { limit: 100 })).items;
    await engine.cancel({ taskId: stillReady[stillReady.length - 1]!.id, actor: 'admin:test' });

    // --- B: maxAttempts 2, nacked twice → DLQ; one requeued from the DLQ and completed, one requeued and left.
    const b = track(
      await engine.enqueueMany(
        Array.from({ length: 6 }, (_, n) => ({ command: B, payload: { b: n }, maxAttempts: 2, priority: 5 })),
      ),
    );
    // Round 0 nacks all six (retry); round 1 completes two and nacks four into the DLQ.
    for (let round = 0; round < 2; round++) {
      // Round 1 waits out round 0's backoff (a nack's 0 is the 1 s policy here, codeQ's rule).
      const got: TaskView[] = [];
      for (let tries = 0; tries < 5 && got.length < 6; tries++) {
        const workerId = `w-b${round}`;
        got.push(...(await engine.claim({ workerId, commands: [B], count: 6 - got.length, waitSeconds: 3 })));
      }
      expect(got).toHaveLength(6);
      for (const t of got) {
        if (round === 1 && (t.id === b[0]!.id || t.id === b[1]!.id)) {
          await engine.complete({ taskId: t.id, workerId: `w-b${round}`, result: null });
        } else {
          await engine.nack({ taskId: t.id, workerId: `w-b${round}`, delaySeconds: 0, reason: `r${round}` });
        }
      }
    }
    expect((await engine.queueStats(B)).dlq).toBe(4);
    expect(
      await engine.requeueDlq({ command: B, taskIds: [b[2]!.id, b[3]!.id], actor: 'admin:test' }),
    ).toEqual({
      requeued: 2,
    });
    const [reb] = await engine.claim({ workerId: 'w-b2', commands: [B], count: 1 });
    expect(reb?.attempts).toBe(1);
    await engine.complete({ taskId: reb!.id, workerId: 'w-b2', result: { after: 'requeue' } });

    // --- C: leases that run out and are repaired by the sweeper (retry with backoff, or the DLQ).
    track(
      await engine.enqueueMany([
        { command: C, payload: { c: 0 }, maxAttempts: 1 },
        { command: C, payload: { c: 1 }, maxAttempts: 1 },
        { command: C, payload: { c: 2 }, maxAttempts: 3 },
        { command: C, payload: { c: 3 }, maxAttempts: 3 },
      ]),
    );
    const claimedC = await engine.claim({ workerId: 'w-c', commands: [C], count: 4, leaseSeconds: 1 });
    expect(claimedC).toHaveLength(4);
    await sleep(Math.max(...claimedC.map((t) => t.leaseUntil ?? 0)) - Date.now() + 100);
    await engine.runBackgroundOnce();
    expect(await engine.queueStats(C)).toMatchObject({ inProgress: 0, dlq: 2, delayed: 2 });

    // --- let everything meant to be due become due, and promote it on the live side too.
    const pending = await Promise.all(
      [...ids(dueSoon), n1!.id, ...ids(claimedC)].map((id) => engine.getTask(id)),
    );
    const latestDue = Math.max(...pending.map((t) => t.runAt ?? 0));
    await sleep(Math.max(0, latestDue - Date.now()) + 100);
    await engine.runBackgroundOnce();
    expect(await engine.queueStats(A)).toMatchObject({ delayed: 2, inProgress: 2, dlq: 0 });
    expect(await engine.queueStats(C)).toMatchObject({ delayed: 0, ready: 2, dlq: 2 });

    // --- the comparison.
    const redis = engine.store.client;
    expect(await reservedEntries(redis, deployment.keyPrefix)).toEqual({});
    const live = await projectionDump(redis, deployment.keyPrefix);
    expect(kinds(live, deployment.keyPrefix)).toMatchObject({
      t: all.length,
      id: all.length,
      idem: 10,
      commands: 1,
      ready: 3,
      delayed: 1,
      inflight: 1,
      dlq: 2,
      done: 2,
    });

    const events = await engine.rebuildProjection();
    expect(events).toBeGreaterThan(all.length);
    await engine.runBackgroundOnce();
    expect(await reservedEntries(redis, deployment.keyPrefix)).toEqual({});
    const rebuilt = await projectionDump(redis, deployment.keyPrefix);
    expect(rebuilt).toEqual(live);

    // The log itself satisfies the invariants.
    const stream = await readStream(engine);
    expect(noDoubleLease(stream).violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
    expect(accountFor(stream, all).violations).toEqual([]);
  });

  it('a rebuild does not bring back terminal tasks that retention already purged', async () => {
    const { engine, deployment } = await openEngine({
      background: false,
      settings: { completedRetentionMs: 300, deadRetentionMs: 300 },
    });
    const command = 'retention';
    const views = await engine.enqueueMany(
      Array.from({ length: 6 }, (_, n) => ({
        command,
        payload: { n },
        maxAttempts: 1,
        idempotencyKey: `ret-${n}`,
      })),
    );
    const claimed = await engine.claim({ workerId: 'w-ret', commands: [command], count: 4 });
    await engine.complete({ taskId: claimed[0]!.id, workerId: 'w-ret', result: 1 });
    await engine.fail({ taskId: claimed[1]!.id, workerId: 'w-ret', error: 'x' });
    await engine.nack({ taskId: claimed[2]!.id, workerId: 'w-ret' }); // maxAttempts 1: DLQ
    await engine.cancel({ taskId: views[5]!.id, actor: 'admin:test' });
    await sleep(400);
    await engine.runBackgroundOnce(); // purges the four terminal tasks from the projection (not the log)
    expect(await engine.queueStats(command)).toEqual({
      command,
      ready: 1,
      delayed: 0,
      inProgress: 1,
      dlq: 0,
      paused: false,
    });
    const live = await projectionDump(engine.store.client, deployment.keyPrefix);
    expect(kinds(live, deployment.keyPrefix)).toMatchObject({ t: 2, id: 2, idem: 2 });

    await engine.rebuildProjection();
    // Read before any background pass: a rebuild must not resurrect what retention removed.
    const rebuilt = await projectionDump(engine.store.client, deployment.keyPrefix);
    expect(rebuilt).toEqual(live);
  });

  it('a wipe of the deployment keys is detected and rebuilt by the background loop', async () => {
    const { engine, deployment } = await openEngine({ background: true, settings: { sweepIntervalMs: 200 } });
    const command = 'wipe';
    const views = await engine.enqueueMany(
      Array.from({ length: 40 }, (_, n) => ({
        command,
        payload: { n },
        priority: n % 10,
        maxAttempts: n % 4 === 0 ? 1 : 3,
        ...(n % 5 === 0 ? { idempotencyKey: `wipe-key-${n}` } : {}),
        ...(n >= 36 ? { delaySeconds: 3600 } : {}),
      })),
    );
    const claimed = await engine.claim({
      workerId: 'w-wipe',
      commands: [command],
      count: 12,
      leaseSeconds: 300,
    });
    expect(claimed).toHaveLength(12);
    for (const [i, t] of claimed.entries()) {
      if (i < 5) await engine.complete({ taskId: t.id, workerId: 'w-wipe', result: { i } });
      else if (i < 7) await engine.fail({ taskId: t.id, workerId: 'w-wipe', error: `e${i}` });
      else if (i < 9) await engine.nack({ taskId: t.id, workerId: 'w-wipe', delaySeconds: 0 });
      else if (i < 10) await engine.heartbeat({ taskId: t.id, workerId: 'w-wipe', extendSeconds: 600 });
      // the rest stay in progress
    }
    await engine.cancel({ taskId: views[39]!.id, actor: 'admin:test' });
    await engine.cancel({ taskId: views[1]!.id, actor: 'admin:test' });

    const redis = engine.store.client;
    // Let one background pass run over the settled state (it must not change anything).
    await sleep(500);
    expect(await reservedEntries(redis, deployment.keyPrefix)).toEqual({});
    const before = await projectionDump(redis, deployment.keyPrefix);
    expect(Object.keys(before).length).toBeGreaterThan(80);

    // Wipe every key of the deployment in one command (what FLUSHALL does to it).
    const keys = await keysOf(redis, deployment.keyPrefix);
    expect(keys).toContain(`${deployment.keyPrefix}:projector:built`);
    await redis.unlink(...keys);
    expect(await keysOf(redis, deployment.keyPrefix)).toEqual([]);

    const deadline = Date.now() + 15_000;
    let after: Record<string, DumpedKey> = {};
    for (;;) {
      if (await engine.store.isBuilt()) {
        after = await projectionDump(redis, deployment.keyPrefix);
        break;
      }
      if (Date.now() > deadline)
        throw new Error('the background loop did not rebuild the projection in 15 s');
      await sleep(50);
    }
    expect(after).toEqual(before);
    expect(await reservedEntries(redis, deployment.keyPrefix)).toEqual({});

    // And the engine works on the rebuilt projection.
    const [next] = await engine.claim({ workerId: 'w-after', commands: [command], count: 1 });
    expect(next).toBeDefined();
    await engine.complete({ taskId: next!.id, workerId: 'w-after', result: 'ok' });
    expect((await engine.getTask(next!.id)).status).toBe('COMPLETED');
  });
});
