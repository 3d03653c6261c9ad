import { describe, expect, it } from 'vitest';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { createMetrics, engineObserver } from '../../src/metrics/metrics.js';

let seq = 0;
const event = (type: string, taskId: string, command: string, at: number, data: object = {}) =>
  ({ type, taskId, command, at, seq: ++seq, v: 1, actor: 'test', data }) as unknown as StoredTaskEvent;

describe('engine observer metrics', () => {
  it('given a batch of events, counts them per type and command and times each delivery', async () => {
    const metrics = createMetrics();
    const observer = engineObserver(metrics);
    observer.onEventsAppended!([
      event('enqueued', 't1', 'a', 1000),
      event('enqueued', 't2', 'a', 1000),
      event('enqueued', 't3', 'b', 1000),
      event('claimed', 't1', 'a', 2000),
      event('claimed', 't3', 'b', 2000),
    ]);
    observer.onEventsAppended!([
      event('completed', 't1', 'a', 2500),
      event('nacked', 't3', 'b', 6000),
      event('completed', 't2', 'a', 7000), // never claimed here: counted, not timed
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('codeq_tasks_created_total{command="a"} 2');
    expect(text).toContain('codeq_tasks_created_total{command="b"} 1');
    expect(text).toContain('codeq_tasks_claimed_total{command="a"} 1');
    expect(text).toContain('codeq_tasks_completed_total{command="a"} 2');
    expect(text).toContain('codeq_tasks_nacked_total{command="b"} 1');
    expect(text).toContain('codeq_task_run_duration_seconds_count{command="a",outcome="completed"} 1');
    expect(text).toContain('codeq_task_run_duration_seconds_sum{command="a",outcome="completed"} 0.5');
    expect(text).toContain('codeq_task_run_duration_seconds_sum{command="b",outcome="nacked"} 4');
  });
});
