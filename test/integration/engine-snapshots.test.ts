/**
 * Live tasks outlive the log's max age through snapshots (subject rollups): with a stream that
 * forgets events after 2 s, tasks kept alive for 5 s are still whole after Redis is wiped and the
 * projection rebuilt from what the log still holds.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('snapshots keep live tasks in an ageing log', () => {
  let engine: Engine;
  let deployment: TestDeployment;
  beforeAll(async () => {
    deployment = testDeployment();
    engine = await Engine.create(
      engineOptions(deployment, {
        streamMaxAgeMs: 2000,
        background: true,
        settings: { sweepIntervalMs: 100 },
      }),
    );
  });
  afterAll(async () => {
    await engine.close();
    await dropDeployment(deployment);
  });

  it('a delayed task and a leased task survive 5 s in a 2 s log and a rebuild', async () => {
    const delayed = await engine.enqueue({
      command: 'SNAP',
      payload: { kind: 'delayed' },
      delaySeconds: 7,
      priority: 3,
    });
    const leased = await engine.enqueue({
      command: 'SNAP_LEASED',
      payload: { kind: 'leased' },
      idempotencyKey: 'snap-key',
    });
    const [claimed] = await engine.claim({ workerId: 'w', commands: ['SNAP_LEASED'], leaseSeconds: 60 });
    expect(claimed?.id).toBe(leased.id);
    // Its last progress report must survive the rollup too.
    await engine.progress({ taskId: leased.id, workerId: 'w', progress: 60, data: { step: 3 } });
    const finished = await engine.enqueue({ command: 'SNAP', payload: { kind: 'done' } });
    const [f] = await engine.claim({ workerId: 'w', commands: ['SNAP'] });
    await engine.complete({ taskId: f!.id, workerId: 'w', result: {} });
    expect(f?.id).toBe(finished.id);

    await sleep(5000);

    // The log no longer holds the tasks' first events: each live task's history starts with a snapshot.
    for (const task of [delayed, leased]) {
      const events = (await engine.history(task.id)).events;
      expect(events[0]?.type).toBe('snapshot');
      expect(events.some((e) => e.type === 'enqueued')).toBe(false);
    }
    // A finished task is not kept alive: it ages out of the log like any terminal task.
    expect(await engine.log.history('SNAP', finished.id)).toEqual([]);

    // Redis loses everything; the projection comes back from snapshots alone.
    const before = { delayed: await engine.getTask(delayed.id), leased: await engine.getTask(leased.id) };
    const redis = new Redis(deployment.redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${deployment.keyPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys.filter((k) => !k.includes(':lock:')));
    } while (cursor !== '0');
    redis.disconnect();
    await engine.rebuildProjection();

    const after = { delayed: await engine.getTask(delayed.id), leased: await engine.getTask(leased.id) };
    for (const key of ['delayed', 'leased'] as const) {
      const { version: _v1, ...was } = before[key];
      const { version: _v2, ...now } = after[key];
      expect(now).toEqual(was);
    }
    expect(after.delayed).toMatchObject({ status: 'PENDING', priority: 3, payload: { kind: 'delayed' } });
    expect(after.leased).toMatchObject({
      status: 'IN_PROGRESS',
      workerId: 'w',
      idempotencyKey: 'snap-key',
      progress: 60,
      progressData: { step: 3 },
    });
    expect(await engine.queueStats('SNAP')).toMatchObject({ delayed: 1, ready: 0 });
    expect(await engine.queueStats('SNAP_LEASED')).toMatchObject({ inProgress: 1 });

    // The rebuilt tasks work: the lease holder completes, and the idempotency key still answers.
    await engine.complete({ taskId: leased.id, workerId: 'w', result: { ok: true } });
    expect((await engine.getTask(leased.id)).status).toBe('COMPLETED');
    const again = await engine.enqueue({ command: 'SNAP_LEASED', payload: {}, idempotencyKey: 'snap-key' });
    expect(again.id).toBe(leased.id);
  });
});
