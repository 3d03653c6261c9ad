/**
 * Hand-off: a task this engine enqueues while one of its claimers long-polls goes straight to that
 * claimer (reserved for it, no reserve round), and everything else about the claim stays as after a
 * reserve: the `claimed` event is fenced on the enqueue's sequence, the projection ends the same, and
 * a reservation whose claim never came lapses back to ready.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimWaiters } from '../../src/engine/claim-waiters.js';
import { Engine } from '../../src/engine/engine.js';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import { accountFor, atMostOneTerminal, noDoubleLease, readStream } from '../support/invariants.js';
import { sleep } from '../support/assertions.js';

describe('engine hand-off to a waiting claimer', () => {
  let deployment: TestDeployment;
  let engine: Engine;
  let redis: Redis;
  const claims: { count: number; handedOff: boolean }[] = [];

  beforeAll(async () => {
    deployment = testDeployment();
    engine = await Engine.create(
      engineOptions(deployment, {
        observer: {
          onClaimFinished: (_ms, count, handedOff) => claims.push({ count, handedOff: !!handedOff }),
        },
      }),
    );
    redis = new Redis(deployment.redisUrl);
  });

  afterAll(async () => {
    redis?.disconnect();
    await engine?.close();
    if (deployment) await dropDeployment(deployment);
  });

  const members = (command: string, index: 'ready' | 'reserved' | 'inflight' | 'delayed') =>
    redis.zrange(engine.store.keys[index](command), '0', '-1');

  it('a long-polling claim gets tasks enqueued meanwhile, up to its count, fenced on their enqueue', async () => {
    const command = 'handoff';
    claims.length = 0;
    const waiting = engine.claim({ workerId: 'w', commands: [command], count: 2, waitSeconds: 10 });
    await sleep(100); // the claim found nothing and waits
    const tasks = await engine.enqueueMany([0, 1, 2].map((i) => ({ command, payload: { i } })));
    const claimed = await waiting;
    expect(claims).toEqual([{ count: 2, handedOff: true }]);
    expect(claimed.map((t) => t.id)).toEqual([tasks[0]!.id, tasks[1]!.id]);
    expect(claimed.map((t) => t.payload)).toEqual([{ i: 0 }, { i: 1 }]);
    expect(claimed.every((t) => t.status === 'IN_PROGRESS' && t.workerId === 'w' && t.attempts === 1)).toBe(
      true,
    );

    // The projection is what a reserve round would have left; the third task waits in ready.
    expect(await members(command, 'reserved')).toEqual([]);
    expect((await members(command, 'inflight')).sort()).toEqual([tasks[0]!.id, tasks[1]!.id].sort());
    expect(await members(command, 'ready')).toEqual([tasks[2]!.id]);
    const history = (await engine.history(tasks[0]!.id)).events as StoredTaskEvent[];
    expect(history.map((e) => e.type)).toEqual(['enqueued', 'claimed']);
    expect((await engine.getTask(tasks[0]!.id)).version).toBe(history[1]!.seq);

    const rest = await engine.claim({ workerId: 'w', commands: [command], count: 5 });
    expect(rest.map((t) => t.id)).toEqual([tasks[2]!.id]);
    await engine.submitResults(
      [...claimed, ...rest].map((t) => ({
        taskId: t.id,
        workerId: 'w',
        status: 'COMPLETED' as const,
        result: 1,
      })),
    );
    const stream = await readStream(engine);
    expect(noDoubleLease(stream).violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
    expect(
      accountFor(
        stream,
        tasks.map((t) => t.id),
      ).violations,
    ).toEqual([]);
  });

  it('a claim whose caller left during the hand-off gives the tasks back to ready at once', async () => {
    const command = 'handoff-aborted';
    const controller = new AbortController();
    // Abort right after the tasks were handed to this claim, before it appends anything.
    const waiters = (engine as unknown as { parts: { waiters: ClaimWaiters } }).parts.waiters;
    const handOff = waiters.handOff.bind(waiters);
    waiters.handOff = (tasks) => {
      const plan = handOff(tasks);
      controller.abort();
      return plan;
    };
    try {
      const waiting = engine.claim({
        workerId: 'w',
        commands: [command],
        waitSeconds: 10,
        signal: controller.signal,
      });
      await sleep(100);
      const task = await engine.enqueue({ command, payload: {} });
      expect(await waiting).toEqual([]);
      expect(await members(command, 'reserved')).toEqual([]);
      expect(await members(command, 'ready')).toEqual([task.id]);
      expect((await engine.history(task.id)).events.map((e) => e.type)).toEqual(['enqueued']);
      const again = await engine.claim({ workerId: 'w2', commands: [command] });
      expect(again.map((t) => t.id)).toEqual([task.id]);
    } finally {
      waiters.handOff = handOff;
    }
  });

  it('a delayed task is not handed off: it waits in delayed', async () => {
    const command = 'handoff-delayed';
    claims.length = 0;
    const waiting = engine.claim({ workerId: 'w', commands: [command], waitSeconds: 0.5 });
    await sleep(100);
    const task = await engine.enqueue({ command, payload: {}, delaySeconds: 60 });
    expect(await waiting).toEqual([]);
    expect(claims).toEqual([{ count: 0, handedOff: false }]);
    expect(await members(command, 'delayed')).toEqual([task.id]);
    expect(await members(command, 'reserved')).toEqual([]);
  });

  it('a handed-off reservation whose claim never came lapses back to ready and is claimed', async () => {
    const command = 'handoff-lapsed';
    const now = Date.now();
    const event: StoredTaskEvent = {
      v: 1,
      type: 'enqueued',
      taskId: randomUUID(),
      command,
      at: now,
      actor: 'producer',
      data: { payload: { lapsed: true }, priority: 0, maxAttempts: 3 },
      seq: 1,
    } as StoredTaskEvent;
    // What a hand-off's apply writes, as if its claimer died before appending: reserved, then lapsed.
    await engine.store.apply([event], now, { reserve: { ids: new Set([event.taskId]), until: now - 1 } });
    expect(await members(command, 'reserved')).toEqual([event.taskId]);
    expect(await members(command, 'ready')).toEqual([]);
    const round = await engine.store.reserve(command, {
      now: Date.now(),
      count: 1,
      reserveMs: 10_000,
      inspectLimit: 0,
      promoteLimit: 10,
    });
    expect(round.promoted).toBe(1);
    expect(round.reserved.map((t) => t.id)).toEqual([event.taskId]);
  });
});
