/**
 * Two engine instances on one deployment and 16 concurrent claimers drain 5,000 tasks: every task
 * is completed exactly once, no task is ever leased twice at once, and the queue ends empty. Also:
 * a worker whose lease ran out cannot record a late result (design §9.3, §9.4).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { TaskView } from '../../src/contract/views.js';
import { CodeqError } from '../../src/errors.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import {
  accountFor,
  atMostOneTerminal,
  countEvents,
  noDoubleLease,
  readStream,
  reservedEntries,
} from '../support/invariants.js';
import { rejection, sleep } from '../support/assertions.js';

const TOTAL = 5000;
const CHUNK = 500;
const CLAIMERS = 16;
const COMMAND = 'drain';
const DRAIN_DEADLINE_MS = 40_000;

describe('engine concurrency: two instances, 16 claimers, 5,000 tasks', () => {
  let deployment: TestDeployment;
  const engines: Engine[] = [];

  beforeAll(async () => {
    deployment = testDeployment();
    const options = engineOptions(deployment, { background: true, settings: { sweepIntervalMs: 200 } });
    engines.push(await Engine.create(options));
    engines.push(await Engine.create(options));
  });

  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    if (deployment) await dropDeployment(deployment);
  });

  it('completes every task exactly once, never double-leases, and ends with an empty queue', async () => {
    const [e1, e2] = engines as [Engine, Engine];

    // Enqueue in chunks, alternating engines, while nothing claims yet.
    const ids: string[] = [];
    for (let i = 0; i < TOTAL; i += CHUNK) {
      const engine = (i / CHUNK) % 2 === 0 ? e1 : e2;
      const views = await engine.enqueueMany(
        Array.from({ length: Math.min(CHUNK, TOTAL - i) }, (_, j) => ({
          command: COMMAND,
          payload: { n: i + j },
          priority: (i + j) % 10,
        })),
      );
      ids.push(...views.map((v) => v.id));
    }
    expect(new Set(ids).size).toBe(TOTAL);
    expect(await e1.queueStats(COMMAND)).toMatchObject({ ready: TOTAL, delayed: 0, inProgress: 0 });

    // 16 claimers, split over the two engines, each claiming 1..8 at a time and completing them.
    let completedCalls = 0;
    const errors: unknown[] = [];
    const started = Date.now();
    const claimer = async (index: number): Promise<void> => {
      const engine = index % 2 === 0 ? e1 : e2;
      const workerId = `worker-${index}`;
      for (;;) {
        if (Date.now() - started > DRAIN_DEADLINE_MS) {
          errors.push(new Error(`${workerId}: drain deadline passed`));
          return;
        }
        let tasks: TaskView[];
        try {
          const count = 1 + Math.floor(Math.random() * 8);
          tasks = await engine.claim({
            workerId,
            commands: [COMMAND],
            count,
            waitSeconds: 1,
            leaseSeconds: 60,
          });
        } catch (err) {
          errors.push(err);
          return;
        }
        if (tasks.length === 0) {
          const s = await engine.queueStats(COMMAND);
          if (s.ready === 0 && s.delayed === 0 && s.inProgress === 0 && completedCalls >= TOTAL) return;
          continue;
        }
        const outcomes = await Promise.allSettled(
          tasks.map((t) =>
            engine.complete({ taskId: t.id, workerId, result: { by: workerId, n: t.payload } }),
          ),
        );
        for (const o of outcomes) {
          if (o.status === 'fulfilled') completedCalls++;
          else errors.push(o.reason);
        }
      }
    };
    await Promise.all(Array.from({ length: CLAIMERS }, (_, i) => claimer(i)));
    const drainMs = Date.now() - started;
    console.log(`[engine-concurrency] drained ${TOTAL} tasks in ${drainMs} ms`);

    expect(errors).toEqual([]);
    expect(completedCalls).toBe(TOTAL);

    // The log: exactly one `completed` per task, 5,000 in all, and the invariants hold.
    const stream = await readStream(e1);
    const completed = countEvents(stream, 'completed');
    expect(completed.size).toBe(TOTAL);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    expect(ids.every((id) => completed.get(id) === 1)).toBe(true);

    const lease = noDoubleLease(stream);
    expect(lease.violations).toEqual([]);
    expect(lease.byFinalState).toEqual({ completed: TOTAL });
    expect(atMostOneTerminal(stream).violations).toEqual([]);
    const accounted = accountFor(stream, ids);
    expect(accounted.violations).toEqual([]);
    expect(accounted.byFinalState).toEqual({ completed: TOTAL });

    // The projection agrees, from either instance.
    for (const engine of engines) {
      expect(await engine.queueStats(COMMAND)).toEqual({
        command: COMMAND,
        ready: 0,
        delayed: 0,
        inProgress: 0,
        dlq: 0,
        paused: false,
      });
    }
    expect(await reservedEntries(e1.store.client, deployment.keyPrefix)).toEqual({});
    expect((await e2.listTasks(COMMAND, 'done', { limit: 1 })).total).toBe(TOTAL);
  });
});

describe('engine concurrency: short leases, stalled workers and the sweeper racing claimers', () => {
  const TASKS = 1000;
  const STALL_EVERY = 20; // every 20th task stalls past its lease on its first delivery
  let deployment: TestDeployment;
  const engines: Engine[] = [];

  beforeAll(async () => {
    deployment = testDeployment();
    const options = engineOptions(deployment, {
      background: true,
      settings: { sweepIntervalMs: 200, backoff: { policy: 'fixed', baseSeconds: 1, maxSeconds: 1 } },
    });
    engines.push(await Engine.create(options));
    engines.push(await Engine.create(options));
  });

  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    if (deployment) await dropDeployment(deployment);
  });

  it('refuses every late result, re-delivers the task and still completes each exactly once', async () => {
    const [e1, e2] = engines as [Engine, Engine];
    const command = 'contended';
    const views = await e1.enqueueMany(
      Array.from({ length: TASKS }, (_, n) => ({ command, payload: { n }, maxAttempts: 5 })),
    );
    const ids = views.map((v) => v.id);
    const stalledIds = new Set(views.filter((_, n) => n % STALL_EVERY === 0).map((v) => v.id));

    let completedCalls = 0;
    const refused = new Map<string, string>();
    const errors: unknown[] = [];
    const zombies: Promise<void>[] = [];
    const started = Date.now();
    const claimer = async (index: number): Promise<void> => {
      const engine = index % 2 === 0 ? e1 : e2;
      const workerId = `contender-${index}`;
      while (Date.now() - started < DRAIN_DEADLINE_MS) {
        const count = 1 + Math.floor(Math.random() * 8);
        const tasks = await engine.claim({
          workerId,
          commands: [command],
          count,
          waitSeconds: 1,
          leaseSeconds: 2,
        });
        if (tasks.length === 0) {
          const s = await engine.queueStats(command);
          if (s.ready + s.delayed + s.inProgress === 0 && completedCalls >= TASKS) return;
          continue;
        }
        await Promise.all(
          tasks.map(async (t) => {
            const stall = stalledIds.has(t.id) && t.attempts === 1;
            const finish = async (): Promise<void> => {
              if (stall) await sleep((t.leaseUntil ?? Date.now()) - Date.now() + 500);
              try {
                await engine.complete({ taskId: t.id, workerId, result: { by: workerId } });
                completedCalls++;
              } catch (err) {
                if (stall && err instanceof CodeqError) refused.set(t.id, err.code);
                else errors.push(err);
              }
            };
            // A stalled worker does not hold up its claim loop (it is a zombie running elsewhere).
            if (stall) zombies.push(finish());
            else await finish();
          }),
        );
      }
      errors.push(new Error(`${workerId}: drain deadline passed`));
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => claimer(i)));
    await Promise.all(zombies);
    console.log(`[engine-concurrency] contended drain of ${TASKS} tasks in ${Date.now() - started} ms`);

    expect(errors).toEqual([]);
    expect(completedCalls).toBe(TASKS);
    // Every stalled delivery's late result was refused (which code depends on how far repair got).
    expect([...refused.keys()].sort()).toEqual([...stalledIds].sort());
    for (const code of refused.values())
      expect(['LEASE_EXPIRED', 'WRONG_STATE', 'NOT_OWNER']).toContain(code);

    const stream = await readStream(e2);
    const completed = countEvents(stream, 'completed');
    expect(completed.size).toBe(TASKS);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    const expiredLeases = countEvents(stream, 'leaseExpired');
    for (const id of stalledIds) expect(expiredLeases.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    const lease = noDoubleLease(stream);
    expect(lease.violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
    const accounted = accountFor(stream, ids);
    expect(accounted.violations).toEqual([]);
    expect(accounted.byFinalState).toEqual({ completed: TASKS });
    expect(await e1.queueStats(command)).toEqual({
      command,
      ready: 0,
      delayed: 0,
      inProgress: 0,
      dlq: 0,
      paused: false,
    });
    expect(await reservedEntries(e1.store.client, deployment.keyPrefix)).toEqual({});
  });
});

describe('engine concurrency: a late result after the lease ran out is refused', () => {
  let deployment: TestDeployment;
  let engine: Engine;

  beforeAll(async () => {
    deployment = testDeployment();
    // No sweeper of its own (the test runs it), and no retry delay so a repaired task is claimable at once.
    engine = await Engine.create(
      engineOptions(deployment, {
        background: false,
        settings: { backoff: { policy: 'fixed', baseSeconds: 0, maxSeconds: 0 } },
      }),
    );
  });

  afterAll(async () => {
    await engine?.close();
    if (deployment) await dropDeployment(deployment);
  });

  afterEach(async () => {
    // Leave nothing claimable behind for the next case (each case uses its own command anyway).
    expect(await reservedEntries(engine.store.client, deployment.keyPrefix)).toEqual({});
  });

  const historyTypes = async (taskId: string): Promise<string[]> =>
    (await engine.history(taskId)).events.map((e) => e.type);

  it('refuses the zombie with WRONG_STATE once the sweeper repaired the lease', async () => {
    const command = 'late-repaired';
    const task = await engine.enqueue({ command, payload: { case: 'repaired' } });
    const [claimed] = await engine.claim({ workerId: 'zombie', commands: [command], leaseSeconds: 1 });
    expect(claimed?.id).toBe(task.id);
    await sleep(1200);
    await engine.runBackgroundOnce();
    expect(await historyTypes(task.id)).toEqual(['enqueued', 'claimed', 'leaseExpired']);

    const err = await rejection(
      engine.complete({ taskId: task.id, workerId: 'zombie', result: { late: true } }),
    );
    expect(err.code).toBe('WRONG_STATE');
    const failErr = await rejection(engine.fail({ taskId: task.id, workerId: 'zombie', error: 'late' }));
    expect(failErr.code).toBe('WRONG_STATE');

    const history = await engine.history(task.id);
    expect(history.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'leaseExpired']);
    expect(history.state.status).toBe('pending');
    expect((await engine.getTask(task.id)).status).toBe('PENDING');
  });

  it('refuses the zombie with NOT_OWNER once another worker re-claimed the task', async () => {
    const command = 'late-reclaimed';
    const task = await engine.enqueue({ command, payload: { case: 'reclaimed' } });
    await engine.claim({ workerId: 'zombie', commands: [command], leaseSeconds: 1 });
    await sleep(1200);
    await engine.runBackgroundOnce();
    const [again] = await engine.claim({ workerId: 'successor', commands: [command], leaseSeconds: 60 });
    expect(again?.id).toBe(task.id);
    expect(again?.attempts).toBe(2);

    const err = await rejection(
      engine.complete({ taskId: task.id, workerId: 'zombie', result: { late: true } }),
    );
    expect(err.code).toBe('NOT_OWNER');
    expect(await historyTypes(task.id)).not.toContain('completed');

    await engine.complete({ taskId: task.id, workerId: 'successor', result: { ok: true } });
    const history = await engine.history(task.id);
    expect(history.events.map((e) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'leaseExpired',
      'claimed',
      'completed',
    ]);
    const done = history.events.filter((e) => e.type === 'completed');
    expect(done).toHaveLength(1);
    expect(done[0]?.type === 'completed' && done[0].data.workerId).toBe('successor');
  });

  it('refuses the zombie with LEASE_EXPIRED when no sweeper has repaired the lease yet', async () => {
    const command = 'late-unrepaired';
    const task = await engine.enqueue({ command, payload: { case: 'unrepaired' } });
    const [claimed] = await engine.claim({ workerId: 'zombie', commands: [command], leaseSeconds: 1 });
    expect(claimed?.leaseUntil).toBeDefined();
    await sleep(Math.max(0, (claimed?.leaseUntil ?? 0) - Date.now()) + 200);

    const err = await rejection(
      engine.complete({ taskId: task.id, workerId: 'zombie', result: { late: true } }),
    );
    expect(err.code).toBe('LEASE_EXPIRED');
    const hbErr = await rejection(
      engine.heartbeat({ taskId: task.id, workerId: 'zombie', extendSeconds: 60 }),
    );
    expect(hbErr.code).toBe('LEASE_EXPIRED');
    expect(await historyTypes(task.id)).toEqual(['enqueued', 'claimed']);

    // The sweeper's repair then lands normally, still without a result.
    await engine.runBackgroundOnce();
    const history = await engine.history(task.id);
    expect(history.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'leaseExpired']);

    const stream = await readStream(engine);
    expect(noDoubleLease(stream).violations).toEqual([]);
    expect(atMostOneTerminal(stream).violations).toEqual([]);
  });
});
