/**
 * The SDK's schedules over both transports: ScheduleAdmin defines an every-hour schedule and reads
 * it back in one shape (times epoch ms) with its next run, changes, pauses and resumes it, runs it
 * now (the task is there for the producer), reads its history with the caller as actor, deletes
 * it; bad input is refused as INVALID_INPUT and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../src/sdk/producer.js';
import { ScheduleAdmin } from '../../src/sdk/schedule-admin.js';
import type { ScheduleInput, SchedulePatch } from '../../src/sdk/schedule-admin.js';
import { rejection } from '../support/assertions.js';
import { uniqueName } from '../support/servers.js';
import { ADMIN_KINDS, createHarness } from './sdk-harness.js';
import type { SdkHarness } from './sdk-harness.js';

const HOUR = 3_600_000;
const START = Date.UTC(2030, 0, 1);

/** The first tick of an `every` schedule without `startAt` strictly after `ms` (ticks from the epoch). */
const nextBoundary = (ms: number, period: number) => (Math.floor(ms / period) + 1) * period;

describe.each(ADMIN_KINDS)('SDK schedule admin over %s', (kind) => {
  let h: SdkHarness;
  const actor = kind === 'http' ? 'admin:sdk-admin' : 'admin:sdk';
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h.close());

  it('defines, reads, changes, pauses, runs now, resumes, reads the history and deletes', async () => {
    const name = uniqueName('sdk-sched');
    const command = uniqueName('SDK_SCHED');
    const transport = h.transport();
    const admin = new ScheduleAdmin({ transport });
    const producer = new Producer({ transport, batch: false });
    try {
      const defined = await admin.define({
        name,
        command,
        every: '1h',
        payload: { report: 'hourly' },
        priority: 3,
        startAt: new Date(START),
      });
      expect(defined).toEqual({
        name,
        command,
        every: '1h',
        timezone: 'UTC',
        payload: { report: 'hourly' },
        priority: 3,
        startAt: START,
        jitterSeconds: 0,
        overlap: 'allow',
        catchUp: 'none',
        paused: false,
        createdAt: defined.updatedAt,
        updatedAt: expect.any(Number),
        nextRunAt: START,
        pendingRuns: 0,
        version: expect.any(Number),
      });
      expect(await admin.get(name)).toEqual(defined);
      expect((await admin.list()).filter((s) => s.name === name)).toEqual([defined]);

      const changed = await admin.update(name, { every: '2h', startAt: null, maxAttempts: 2 });
      expect(changed).toMatchObject({ every: '2h', maxAttempts: 2 });
      expect(changed.startAt).toBeUndefined();
      expect(changed.nextRunAt).toBe(nextBoundary(changed.updatedAt, 2 * HOUR));

      const paused = await admin.pause(name, { reason: 'maintenance' });
      expect(paused).toMatchObject({ paused: true, pauseReason: 'maintenance' });
      expect(paused.nextRunAt).toBeUndefined();

      const { schedule, task } = await admin.runNow(name);
      expect(task).toMatchObject({
        command,
        payload: { report: 'hourly' },
        priority: 3,
        maxAttempts: 2,
        status: 'PENDING',
      });
      expect(task.idempotencyKey).toMatch(new RegExp(`^sched:${name}:run:`));
      expect(Number.isInteger(task.createdAt)).toBe(true);
      expect(await producer.get(task.id)).toMatchObject({ id: task.id, command, payload: task.payload });
      expect(schedule).toMatchObject({ lastTaskId: task.id, lastTaskStatus: 'PENDING', paused: true });
      expect(schedule.lastRunAt).toBeGreaterThanOrEqual(task.createdAt);

      const resumed = await admin.resume(name);
      expect(resumed.paused).toBe(false);
      expect(resumed.pauseReason).toBeUndefined();
      expect(resumed.nextRunAt).toBe(nextBoundary(resumed.updatedAt, 2 * HOUR));

      await admin.delete(name);
      expect((await rejection(admin.get(name))).code).toBe('NOT_FOUND');
      expect((await admin.list()).some((s) => s.name === name)).toBe(false);

      const history = await admin.history(name);
      expect(history.map((e) => [e.type, e.actor])).toEqual([
        ['scheduleDefined', actor],
        ['scheduleUpdated', actor],
        ['schedulePaused', actor],
        ['scheduleRunRequested', actor],
        ['scheduleTicked', 'system'],
        ['scheduleResumed', actor],
        ['scheduleDeleted', actor],
      ]);
      expect(history[0]!.data).toMatchObject({ spec: { startAt: START }, paused: false });
      expect(history[2]!.data).toEqual({ reason: 'maintenance' });
      expect(history[4]!.data).toMatchObject({ taskId: task.id });
      expect(history[0]!.at).toBe(defined.createdAt);
      expect(history.every((e, i) => i === 0 || e.seq > history[i - 1]!.seq)).toBe(true);
      expect((await admin.history(name, { limit: 1 })).map((e) => e.type)).toEqual(['scheduleDeleted']);
    } finally {
      await producer.close();
      await transport.close();
    }
  });

  it('refuses bad input as INVALID_INPUT and writes nothing', async () => {
    const name = uniqueName('sdk-sched-bad');
    const command = uniqueName('SDK_SCHED_BAD');
    const transport = h.transport();
    const admin = new ScheduleAdmin({ transport });
    try {
      const bad: ScheduleInput[] = [
        { name, command, every: '1x' },
        { name, command, every: '1h', cron: '* * * * *' },
        { name, command, every: '1h', startAt: Number.NaN },
        { name, command, every: '1h', startAt: new Date('not a date') },
        { name, command, every: '1h', priority: 10 },
        { name, command, cron: '61 * * * *' },
        { name: 'has space', command, every: '1h' },
      ];
      for (const input of bad) expect((await rejection(admin.define(input))).code).toBe('INVALID_INPUT');
      expect((await rejection(admin.get(name))).code).toBe('NOT_FOUND');
      expect((await rejection(admin.history(name))).code).toBe('NOT_FOUND');

      const defined = await admin.define({ name, command, every: '1h' });
      const patches: SchedulePatch[] = [{}, { every: 'nope' }, { startAt: -5 }, { priority: -1 }];
      for (const patch of patches)
        expect((await rejection(admin.update(name, patch))).code).toBe('INVALID_INPUT');
      const refusals = [
        () => admin.history(name, { limit: 0 }),
        () => admin.get(''),
        () => admin.pause('a/b'),
        () => admin.runNow('has space'),
      ];
      for (const call of refusals) expect((await rejection(call())).code).toBe('INVALID_INPUT');
      expect((await rejection(admin.runNow(uniqueName('absent')))).code).toBe('NOT_FOUND');
      expect(await admin.get(name)).toEqual(defined);
      expect((await admin.history(name)).map((e) => e.type)).toEqual(['scheduleDefined']);
    } finally {
      await transport.close();
    }
  });
});
