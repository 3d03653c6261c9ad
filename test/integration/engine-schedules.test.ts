/**
 * Schedules on real servers: a schedule every second run by the leader among two instances, the
 * leader killed -9 between ticks and the other taking over (checked on the logs: every tick once,
 * none lost, one `enqueued` event per tick key); run-now; pause and resume; overlap skip and
 * cancelPrevious; every definition change an event of the schedule's history.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { tickIdempotencyKey } from '../../src/contract/schedules.js';
import type { StoredScheduleEvent } from '../../src/events/schedule-event.schema.js';
import { dropDeployment, engineOptions, testDeployment, type TestDeployment } from '../support/engine.js';
import { readStream } from '../support/invariants.js';
import { rejection, sleep } from '../support/assertions.js';
import { uniqueName } from '../support/servers.js';
import type { ChildOptions } from '../support/engine-child.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Sweep period of the runners: the schedules lease is 5 of them (1 s), renewed every third. */
const SWEEP_MS = 200;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const ticks = (events: StoredScheduleEvent[]) =>
  events.flatMap((e) => (e.type === 'scheduleTicked' && e.data.runId === undefined ? [e.data] : []));

describe('schedules across instances', () => {
  let deployment: TestDeployment;
  /** An instance that runs no ticks: defines, reads, runs now. */
  let admin: Engine;
  const children: ChildProcess[] = [];
  const engines: Engine[] = [];

  beforeAll(async () => {
    deployment = testDeployment();
    admin = await Engine.create(engineOptions(deployment));
  });

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all([...engines, admin].map((e) => e?.close()));
    if (deployment) await dropDeployment(deployment);
  });

  async function runner(): Promise<Engine> {
    const engine = await Engine.create(
      engineOptions(deployment, { background: true, settings: { sweepIntervalMs: SWEEP_MS } }),
    );
    engines.push(engine);
    return engine;
  }

  it('the leader killed -9 between ticks: the other instance takes over, no tick lost or doubled (on the logs)', async () => {
    // An engine process with no workers: it runs the background loop and the schedules.
    const options: ChildOptions = {
      ...deployment,
      command: 'unused',
      workerPrefix: 'child',
      workers: 0,
      leaseSeconds: 1,
      maxWorkMs: 0,
      holdEvery: 1,
      sweepIntervalMs: SWEEP_MS,
    };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/engine-child.ts', JSON.stringify(options)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('"ready"')) resolve();
        else if (line.includes('"error"')) reject(new Error(line));
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });

    const name = uniqueName('every-second');
    const command = uniqueName('sched');
    await admin.schedules.define({ name, command, every: '1s', payload: { report: 'x' } });
    // The child is the only runner: it leads.
    await until('two ticks by the child', async () => ticks(await admin.schedules.history(name)).length >= 2);
    await runner();
    // Kill right after a tick is recorded: between ticks.
    const before = ticks(await admin.schedules.history(name)).length;
    await until('one more tick', async () => ticks(await admin.schedules.history(name)).length > before);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await until('ticks by the surviving instance', async () =>
      ticks(await admin.schedules.history(name)).some((t) => t.tickAt > killedAt + 1500),
    );
    await admin.schedules.pause(name);
    // A tick in flight on the survivor lands before the pause or is decided after it: wait it out.
    await sleep(300);

    const history = await admin.schedules.history(name);
    const ran = ticks(history);
    const times = ran.map((t) => t.tickAt);
    expect(new Set(times).size).toBe(times.length);
    // Every second from the first tick to the last, none lost, none missed.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(1000);
    expect(history.filter((e) => e.type === 'scheduleTicksMissed')).toEqual([]);
    expect(ran.every((t) => t.taskId !== undefined)).toBe(true);

    // On the task log: one `enqueued` event per tick key, and its task is the one the tick recorded.
    const stream = await readStream(admin);
    const enqueuedByKey = new Map<string, string[]>();
    for (const events of stream.byTask.values())
      for (const e of events)
        if (e.type === 'enqueued' && e.command === command) {
          const key = e.data.idempotencyKey ?? '(none)';
          enqueuedByKey.set(key, [...(enqueuedByKey.get(key) ?? []), e.taskId]);
        }
    expect([...enqueuedByKey.keys()].sort()).toEqual(times.map((t) => tickIdempotencyKey(name, t)).sort());
    for (const t of ran) expect(enqueuedByKey.get(tickIdempotencyKey(name, t.tickAt))).toEqual([t.taskId]);
    await admin.schedules.delete(name);
  });

  it('define, get, list, update, pause, resume, run now, delete: each an event of the history', async () => {
    const name = uniqueName('nightly');
    const command = uniqueName('report');
    const view = await admin.schedules.define(
      {
        name,
        command,
        cron: '0 30 2 * * *',
        timezone: 'America/New_York',
        payload: { n: 1 },
        overlap: 'skip',
      },
      'admin:alice',
    );
    expect(view).toMatchObject({ name, paused: false, spec: { command, catchUp: 'none', priority: 0 } });
    expect(view.nextRunAt).toBeGreaterThan(Date.now());
    expect((await rejection(admin.schedules.define({ name, command, every: '1m' }))).code).toBe(
      'WRONG_STATE',
    );
    expect((await admin.schedules.list()).map((s) => s.name)).toContain(name);

    const updated = await admin.schedules.update(name, { every: '1h', priority: 7 }, 'admin:bob');
    expect(updated.spec).toMatchObject({ every: '1h', priority: 7 });
    expect(updated.spec.cron).toBeUndefined();
    await admin.schedules.pause(name, 'migration', 'admin:bob');
    expect((await admin.schedules.get(name)).nextRunAt).toBeUndefined();

    // Run now works while paused; the view shows the task and its status.
    const { task, schedule } = await admin.schedules.runNow(name, 'admin:carol');
    expect(task).toMatchObject({ command, payload: { n: 1 }, priority: 7, status: 'PENDING' });
    expect(schedule).toMatchObject({ lastTaskId: task.id, lastTaskStatus: 'PENDING', runRequests: [] });
    const [claimed] = await admin.claim({ workerId: 'w', commands: [command] });
    await admin.complete({ taskId: claimed!.id, workerId: 'w', result: { ok: true } });
    expect((await admin.schedules.get(name)).lastTaskStatus).toBe('COMPLETED');

    await admin.schedules.resume(name, 'admin:bob');
    await admin.schedules.delete(name, 'admin:bob');
    expect((await rejection(admin.schedules.get(name))).code).toBe('NOT_FOUND');
    expect((await admin.schedules.list()).map((s) => s.name)).not.toContain(name);

    const history = await admin.schedules.history(name);
    expect(history.map((e) => [e.type, e.actor])).toEqual([
      ['scheduleDefined', 'admin:alice'],
      ['scheduleUpdated', 'admin:bob'],
      ['schedulePaused', 'admin:bob'],
      ['scheduleRunRequested', 'admin:carol'],
      ['scheduleTicked', 'system'],
      ['scheduleResumed', 'admin:bob'],
      ['scheduleDeleted', 'admin:bob'],
    ]);
    // Bad input writes nothing.
    expect((await rejection(admin.schedules.define({ name: 'x', command, cron: '* * *' }))).code).toBe(
      'INVALID_INPUT',
    );
    expect(
      (await rejection(admin.schedules.define({ name: 'x', command, every: '1s', timezone: 'Nowhere/Land' })))
        .code,
    ).toBe('INVALID_INPUT');
    expect(await admin.schedules.history('x')).toEqual([]);
  });

  it('pause stops ticks, resume starts them from now; overlap skip and cancelPrevious', async () => {
    const e = engines[0] ?? (await runner());
    const command = uniqueName('overlap');
    const skip = uniqueName('skip');
    const cancel = uniqueName('cancel');
    await e.schedules.define({ name: skip, command, every: '1s', overlap: 'skip' });
    await e.schedules.define({
      name: cancel,
      command: `${command}-c`,
      every: '1s',
      overlap: 'cancelPrevious',
    });
    await until('three ticks of each', async () => {
      const [a, b] = await Promise.all([e.schedules.history(skip), e.schedules.history(cancel)]);
      return ticks(a).length >= 3 && ticks(b).length >= 3;
    });
    await e.schedules.pause(skip);
    await e.schedules.pause(cancel);
    const skipTicks = ticks(await e.schedules.history(skip));
    // Nobody claims: the first tick's task is pending, so the next ticks enqueue nothing.
    expect(skipTicks[0]!.taskId).toBeDefined();
    for (const t of skipTicks.slice(1))
      expect(t).toMatchObject({ skipped: 'overlap', previousTaskId: skipTicks[0]!.taskId });
    expect((await e.queueStats(command)).ready).toBe(1);
    // With cancelPrevious each tick cancels the pending one before it.
    const cancelTicks = ticks(await e.schedules.history(cancel));
    for (let i = 1; i < cancelTicks.length; i++)
      expect(cancelTicks[i]).toMatchObject({ cancelledTaskId: cancelTicks[i - 1]!.taskId });
    expect((await e.getTask(cancelTicks[0]!.taskId!)).status).toBe('CANCELLED');

    // Paused: no tick for a while.
    const count = ticks(await e.schedules.history(skip)).length;
    await sleep(1500);
    expect(ticks(await e.schedules.history(skip)).length).toBe(count);
    const resumedAt = Date.now();
    await e.schedules.resume(skip);
    await until('a tick after resume', async () =>
      ticks(await e.schedules.history(skip)).some((t) => t.tickAt > resumedAt),
    );
    // The ticks that fell while paused are not owed.
    const after = ticks(await e.schedules.history(skip)).slice(count);
    expect(after.every((t) => t.tickAt > resumedAt - 1000)).toBe(true);
    await e.schedules.delete(skip);
    await e.schedules.delete(cancel);
  });
});
