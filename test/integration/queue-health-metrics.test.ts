/**
 * The health signals autoscalers and alerts read, on real servers: per queue, the age of the oldest
 * ready task, the group keys with ready work, the paused flag (in `/metrics` and in the queue's
 * detail), and the enqueue → first claim delay histogram.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { createMetrics, engineObserver, type Metrics } from '../../src/metrics/metrics.js';
import { createTestEngine } from '../support/engine.js';
import { sleep } from '../support/assertions.js';

describe('queue health signals', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  let metrics: Metrics;

  beforeAll(async () => {
    metrics = createMetrics();
    ({ engine, close } = await createTestEngine({ observer: engineObserver(metrics) }));
    metrics.setSource(engine);
  });
  afterAll(async () => {
    metrics?.setSource(undefined);
    await close?.();
  });

  /** The value of one series in the exposition, or undefined when absent. */
  async function sample(name: string, command: string): Promise<number | undefined> {
    const text = await metrics.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{command="${command}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  }

  it('reports oldest ready age, group keys, pause and the enqueue-to-claim delay', async () => {
    const command = 'health-a';
    const idle = 'health-idle';
    await engine.enqueue({ command, payload: { first: true } });
    await sleep(250);
    await engine.enqueueMany(
      ['t1', 't1', 't2', 't3'].map((groupKey, n) => ({ command, payload: { n }, groupKey, priority: 9 })),
    );
    await engine.enqueue({ command: idle, payload: 1 });
    const [claimed] = await engine.claim({ workerId: 'w', commands: [idle] });
    await engine.controlQueue(idle, { type: 'pause' }, 'admin:test');

    // The oldest ready task is the low-priority one enqueued first, not the head of the queue.
    const age = await sample('codeq_queue_oldest_ready_age_seconds', command);
    expect(age).toBeGreaterThanOrEqual(0.25);
    expect(await sample('codeq_queue_groups', command)).toBe(3);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`codeq_queue_group_tasks{command="${command}",group_key="t1",state="ready"} 2`);
    expect(text).toContain(`codeq_queue_group_tasks{command="${command}",group_key="t3",state="leased"} 0`);
    expect(await sample('codeq_queue_paused', command)).toBe(0);
    expect(await sample('codeq_queue_paused', idle)).toBe(1);
    // Nothing ready in the idle queue: no age series for it.
    expect(await sample('codeq_queue_oldest_ready_age_seconds', idle)).toBeUndefined();
    expect(claimed).toBeDefined();
    expect(await sample('codeq_claim_delay_seconds_count', idle)).toBe(1);

    const detail = await engine.queueDetail(command);
    expect(detail).toMatchObject({ ready: 5, groupedReady: 4, groups: 3, paused: false });
    expect(detail.topGroups).toEqual([
      { groupKey: 't1', ready: 2, leased: 0 },
      { groupKey: 't2', ready: 1, leased: 0 },
      { groupKey: 't3', ready: 1, leased: 0 },
    ]);
    expect(detail.oldestReadyAgeMs).toBeGreaterThanOrEqual(250);
  });
});
