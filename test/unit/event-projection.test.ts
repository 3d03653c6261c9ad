import { describe, expect, it } from 'vitest';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { projectEvent } from '../../src/projections/event.projection.js';
import { opIndex } from '../../src/projections/op-layout.js';

const base = { v: 1, taskId: 't1', command: 'c', at: 1_795_000_000_123, actor: 'w' } as const;

describe('projection ops (what apply.lua takes)', () => {
  it('given an enqueue, every value is a decimal string or null, with the exact ready score', () => {
    const seq = 2 ** 43 + 7; // large sequences must keep every digit
    const op = projectEvent({
      ...base,
      type: 'enqueued',
      seq,
      data: { payload: { a: 1 }, priority: 2, maxAttempts: 5, runAt: 1_795_000_060_000 },
    } as StoredTaskEvent);
    expect(op.every((v) => v === null || typeof v === 'string')).toBe(true);
    expect(op.slice(0, 8)).toEqual([
      't1',
      String(seq),
      'E',
      '1795000000123',
      '2',
      '5',
      '{"a":1}',
      '1795000060000',
    ]);
    expect(op[opIndex('E', 'readyScore')]).toBe(((9n - 2n) * 2n ** 44n + BigInt(seq)).toString());
  });

  it('given a claim and a completion, the lease, attempts and result travel as strings', () => {
    const claimed = projectEvent({
      ...base,
      type: 'claimed',
      seq: 10,
      data: { workerId: 'w', leaseUntil: 1_795_000_030_123, attempts: 2 },
    } as StoredTaskEvent);
    expect(claimed).toEqual(['t1', '10', 'C', '1795000000123', '2', 'w', '1795000030123']);
    const completed = projectEvent({
      ...base,
      type: 'completed',
      seq: 11,
      data: { workerId: 'w', result: { ok: true } },
    } as StoredTaskEvent);
    expect(completed).toEqual(['t1', '11', 'D', '1795000000123', '{"ok":true}', null]);
  });
});
