/**
 * The SDK's queue controls over both transports: QueueAdmin pauses (claims get nothing, enqueues
 * go on), resumes, changes limits as a merge patch, reads a queue in detail (paused, limits, group
 * figures) and its control history with the caller as actor; the producer's `groupKey` reaches
 * the task; a bad patch is refused and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../src/sdk/producer.js';
import { QueueAdmin } from '../../src/sdk/queue-admin.js';
import { rejection } from '../support/assertions.js';
import { uniqueName } from '../support/servers.js';
import { ADMIN_KINDS, createHarness } from './sdk-harness.js';
import type { SdkHarness } from './sdk-harness.js';

describe.each(ADMIN_KINDS)('SDK queue admin over %s', (kind) => {
  let h: SdkHarness;
  const actor = kind === 'http' ? 'admin:sdk-admin' : 'admin:sdk';
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h.close());

  it('pauses, resumes, limits, reads the detail and the control history', async () => {
    const command = uniqueName('SDK_CTL');
    const transport = h.transport();
    const admin = new QueueAdmin({ transport });
    const producer = new Producer({ transport, batch: false });
    try {
      expect(await admin.pause(command, { reason: 'maintenance' })).toEqual({
        command,
        paused: true,
        limits: {},
        changed: true,
      });
      expect((await admin.pause(command)).changed).toBe(false);
      const task = await producer.enqueue(command, { n: 1 }, { groupKey: 'tenant-1' });
      expect(task.groupKey).toBe('tenant-1');
      const claim = { commands: [command], leaseSeconds: 30, waitSeconds: 0, count: 5 };
      expect(await transport.claim(claim)).toEqual([]);
      expect(await admin.detail(command)).toMatchObject({
        command,
        ready: 1,
        paused: true,
        limits: {},
        groupedReady: 1,
        groups: 1,
        topGroups: [{ groupKey: 'tenant-1', ready: 1, leased: 0 }],
      });

      expect(await admin.resume(command)).toMatchObject({ paused: false, changed: true });
      const claimed = await transport.claim(claim);
      expect(claimed.map((t) => [t.id, t.groupKey])).toEqual([[task.id, 'tenant-1']]);

      const limited = await admin.setLimits(command, {
        concurrency: 4,
        rate: { limit: 10, intervalMs: 1000 },
      });
      expect(limited).toEqual({
        command,
        paused: false,
        limits: { concurrency: 4, rate: { limit: 10, intervalMs: 1000 } },
        changed: true,
      });
      expect((await admin.setLimits(command, { rate: null })).limits).toEqual({ concurrency: 4 });
      expect((await admin.detail(command)).limits).toEqual({ concurrency: 4 });

      const history = await admin.controls(command);
      expect(history.map((e) => [e.type, e.actor])).toEqual([
        ['queuePaused', actor],
        ['queueResumed', actor],
        ['queueLimitsChanged', actor],
        ['queueLimitsChanged', actor],
      ]);
      expect(history[0]).toMatchObject({ data: { reason: 'maintenance' }, settings: { paused: true } });
      expect(history.every((e) => Number.isInteger(e.at) && e.at > 0)).toBe(true);
      expect((await admin.controls(command, { limit: 1 })).map((e) => e.data)).toEqual([
        { patch: { rate: null } },
      ]);
    } finally {
      await producer.close();
      await transport.close();
    }
  });

  it('refuses a bad patch or group key as INVALID_INPUT and writes nothing', async () => {
    const command = uniqueName('SDK_BAD');
    const transport = h.transport();
    const admin = new QueueAdmin({ transport });
    const producer = new Producer({ transport, batch: false });
    try {
      for (const patch of [{}, { concurrency: 0 }, { groupRate: { limit: 1, intervalMs: 1 } }]) {
        expect((await rejection(admin.setLimits(command, patch))).code).toBe('INVALID_INPUT');
      }
      expect((await rejection(admin.controls(command, { limit: 0 }))).code).toBe('INVALID_INPUT');
      expect(await admin.controls(command)).toEqual([]);
      const bad = await rejection(producer.enqueue(command, {}, { groupKey: 'has space' }));
      expect(bad.code).toBe('INVALID_INPUT');
      expect(await admin.detail(command)).toMatchObject({ ready: 0, paused: false, limits: {} });
    } finally {
      await producer.close();
      await transport.close();
    }
  });
});
