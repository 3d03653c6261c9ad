/**
 * Flow control on real servers, with two engine instances on one deployment: pause and resume
 * (recorded in the log, surviving a rebuild and a restart), a queue concurrency limit and a group
 * concurrency limit that hold across instances (checked on the log: never more than N leased at
 * once), fair turns between group keys, and rate limits per queue and per group key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { TaskView } from '../../src/contract/views.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import { readStream } from '../support/invariants.js';
import { leasePeaks } from '../support/lease-concurrency.js';
import { rejection, sleep } from '../support/assertions.js';

describe('flow control across two engine instances', () => {
  let deployment: TestDeployment;
  let e1: Engine;
  let e2: Engine;
  let queueNo = 0;
  const queue = (name: string) => `${name}-${queueNo++}`;

  beforeAll(async () => {
    deployment = testDeployment();
    const options = engineOptions(deployment, { settings: { sweepIntervalMs: 200 } });
    e1 = await Engine.create(options);
    e2 = await Engine.create(options);
  });

  afterAll(async () => {
    await Promise.all([e1?.close(), e2?.close()]);
    if (deployment) await dropDeployment(deployment);
  });

  /** Claims with `claimers` loops spread over both engines, holding each task `holdMs`, until `total` completed. */
  async function drain(command: string, total: number, claimers: number, holdMs: number): Promise<void> {
    let done = 0;
    const deadline = Date.now() + 40_000;
    await Promise.all(
      Array.from({ length: claimers }, async (_, i) => {
        const engine = i % 2 === 0 ? e1 : e2;
        while (done < total && Date.now() < deadline) {
          const [task] = await engine.claim({ workerId: `w${i}`, commands: [command], waitSeconds: 1 });
          if (!task) continue;
          await sleep(holdMs);
          await engine.complete({ taskId: task.id, workerId: `w${i}`, result: { ok: true } });
          done++;
        }
      }),
    );
    expect(done).toBe(total);
  }

  it('pause: enqueues go on, claims stop, waiting claims stay waiting until resume; in the log, kept by a rebuild and a restart', async () => {
    const command = queue('pause');
    await e1.enqueueMany([1, 2, 3].map((n) => ({ command, payload: { n } })));
    const paused = await e1.controlQueue(command, { type: 'pause', reason: 'deploy' }, 'admin:alice');
    expect(paused.settings.paused).toBe(true);
    expect(paused.event).toMatchObject({
      type: 'queuePaused',
      actor: 'admin:alice',
      data: { reason: 'deploy' },
    });
    // Pausing again changes nothing and writes nothing.
    expect((await e2.controlQueue(command, { type: 'pause' }, 'admin:bob')).event).toBeUndefined();

    await e1.enqueue({ command, payload: { n: 4 } });
    expect(await e2.claim({ workerId: 'w', commands: [command], count: 10 })).toEqual([]);
    expect(await e2.queueStats(command)).toMatchObject({ ready: 4, paused: true });
    expect(await e1.queueDetail(command)).toMatchObject({ paused: true, ready: 4 });

    // The projection is rebuilt from the log: still paused.
    await e1.rebuildProjection();
    expect(await e1.claim({ workerId: 'w', commands: [command], count: 10 })).toEqual([]);
    // A new instance reads the pause from the log.
    const e3 = await Engine.create(engineOptions(deployment));
    try {
      await expect(e3.queueStats(command)).resolves.toMatchObject({ paused: true });
      expect(await e3.claim({ workerId: 'w', commands: [command] })).toEqual([]);

      // A claimer waiting on one instance gets work as soon as another instance resumes the queue.
      const waiting = e2.claim({ workerId: 'w', commands: [command], waitSeconds: 10 });
      await sleep(300);
      const resumed = await e3.controlQueue(command, { type: 'resume' }, 'admin:bob');
      expect(resumed.settings.paused).toBe(false);
      expect(await waiting).toHaveLength(1);
    } finally {
      await e3.close();
    }
    const history = await e2.queueControlHistory(command);
    expect(history.map((e) => [e.type, e.actor])).toEqual([
      ['queuePaused', 'admin:alice'],
      ['queueResumed', 'admin:bob'],
    ]);
  });

  it('refuses invalid controls and writes nothing', async () => {
    const command = queue('bad');
    for (const patch of [{}, { concurrency: 0 }, { rate: { limit: 1 } }, { concurrency: 2, extra: 1 }]) {
      const err = await rejection(e1.controlQueue(command, { type: 'setLimits', patch } as never, 'admin:x'));
      expect(err.code).toBe('INVALID_INPUT');
    }
    expect((await rejection(e1.controlQueue(command, { type: 'explode' } as never, 'admin:x'))).code).toBe(
      'INVALID_INPUT',
    );
    expect(await e1.queueControlHistory(command)).toEqual([]);
    const bad = await rejection(e1.enqueue({ command, payload: 1, groupKey: 'has space' }));
    expect(bad.code).toBe('INVALID_INPUT');
  });

  it('a queue concurrency limit holds across instances (never more than N leased at once, on the log)', async () => {
    const command = queue('limited');
    await e2.controlQueue(command, { type: 'setLimits', patch: { concurrency: 3 } }, 'admin:alice');
    const total = 40;
    await e1.enqueueMany(Array.from({ length: total }, (_, n) => ({ command, payload: { n } })));
    // A batch claim gets no more than the limit allows.
    const batch = await e1.claim({ workerId: 'wb', commands: [command], count: 10 });
    expect(batch).toHaveLength(3);
    expect(await e2.claim({ workerId: 'wb', commands: [command], count: 10 })).toEqual([]);
    for (const t of batch) await e1.complete({ taskId: t.id, workerId: 'wb', result: null });
    await drain(command, total - 3, 8, 15);
    const peaks = leasePeaks(await readStream(e1), command);
    expect(peaks.queue).toBe(3);
    expect(peaks.claimOrder).toHaveLength(total);
  });

  it('group keys take turns, and a group concurrency limit holds across instances', async () => {
    const command = queue('tenants');
    await e1.controlQueue(command, { type: 'setLimits', patch: { groupConcurrency: 2 } }, 'admin:alice');
    // The big tenant's backlog is enqueued first; the small tenants' come after.
    await e1.enqueueMany(
      Array.from({ length: 60 }, (_, n) => ({ command, payload: { n }, groupKey: 'big' })),
    );
    await e2.enqueueMany(
      Array.from({ length: 5 }, (_, n) => ({ command, payload: { n }, groupKey: 'small.1' })),
    );
    await e2.enqueueMany(
      Array.from({ length: 5 }, (_, n) => ({ command, payload: { n }, groupKey: 'small.2' })),
    );
    const detail = await e1.queueDetail(command);
    expect(detail).toMatchObject({ ready: 70, groupedReady: 70, groups: 3 });
    expect(detail.topGroups[0]).toEqual({ groupKey: 'big', ready: 60, leased: 0 });
    expect(detail.oldestReadyAgeMs).toBeGreaterThanOrEqual(0);

    // One batch claim: two per group at most, each group in turn.
    const first = await e2.claim({ workerId: 'wb', commands: [command], count: 10 });
    expect(first.map((t) => t.groupKey).sort()).toEqual([
      'big',
      'big',
      'small.1',
      'small.1',
      'small.2',
      'small.2',
    ]);
    for (const t of first) await e2.complete({ taskId: t.id, workerId: 'wb', result: null });

    await drain(command, 64, 8, 10);
    const peaks = leasePeaks(await readStream(e1), command);
    expect(Math.max(...peaks.byGroup.values())).toBe(2);
    // Fair turns: the small tenants' ten tasks were all claimed among the first 30 claims, though
    // 60 of the big tenant's were ahead of them.
    const lastSmall = peaks.claimOrder.findLastIndex((c) => c.groupKey !== 'big');
    expect(lastSmall).toBeLessThan(30);
    expect(peaks.claimOrder).toHaveLength(70);
  });

  it('rate limits: per queue (claims per interval) and per group key', async () => {
    const command = queue('rated');
    await e1.controlQueue(
      command,
      { type: 'setLimits', patch: { rate: { limit: 4, intervalMs: 60_000 } } },
      'admin:a',
    );
    await e1.enqueueMany(Array.from({ length: 10 }, (_, n) => ({ command, payload: { n } })));
    const got: TaskView[] = await e1.claim({ workerId: 'w', commands: [command], count: 10 });
    got.push(...(await e2.claim({ workerId: 'w', commands: [command], count: 10 })));
    expect(got).toHaveLength(4);
    // Removing the limit lets the rest go at once.
    await e2.controlQueue(command, { type: 'setLimits', patch: { rate: null } }, 'admin:a');
    expect(await e1.claim({ workerId: 'w', commands: [command], count: 10 })).toHaveLength(6);

    const grouped = queue('group-rated');
    await e1.controlQueue(
      grouped,
      { type: 'setLimits', patch: { groupRate: { limit: 2, intervalMs: 60_000 } } },
      'admin:a',
    );
    for (const g of ['a', 'b']) {
      await e1.enqueueMany(
        Array.from({ length: 5 }, (_, n) => ({ command: grouped, payload: { n }, groupKey: g })),
      );
    }
    const claimed = await e2.claim({ workerId: 'w', commands: [grouped], count: 10 });
    expect(claimed.map((t) => t.groupKey).sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(await e1.claim({ workerId: 'w', commands: [grouped], count: 10 })).toEqual([]);
    expect(await e1.queueDetail(grouped)).toMatchObject({
      limits: { groupRate: { limit: 2, intervalMs: 60_000 } },
      groupedReady: 6,
    });
  });
});
