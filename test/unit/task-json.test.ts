import { describe, expect, it } from 'vitest';
import { CODEQ_WIRE, iso, taskJson } from '../../src/api/task-json.js';

describe('RFC3339 conversion of epoch ms', () => {
  it('agrees with Date#toISOString for alternating, colliding and edge times', () => {
    const now = Date.UTC(2026, 10, 22, 12, 0, 0, 123);
    // now and now + 64 share a cache slot; repeats read the cache.
    const times = [now, now + 30_000, now, now + 64, now, 0, -1, 1.5, 8.64e15, now + 64, now + 30_000];
    for (const ms of times) expect(iso(ms)).toBe(new Date(ms).toISOString());
  });

  it('a task view keeps each of its times apart', () => {
    const base = Date.UTC(2026, 0, 1);
    const json = taskJson(
      {
        id: 't',
        command: 'c',
        payload: null,
        priority: 0,
        status: 'IN_PROGRESS',
        state: 'inProgress',
        attempts: 1,
        maxAttempts: 3,
        createdAt: base,
        updatedAt: base + 1,
        leaseUntil: base + 65,
        version: 2,
      },
      CODEQ_WIRE,
    );
    expect([json.createdAt, json.updatedAt, json.leaseUntil]).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.001Z',
      '2026-01-01T00:00:00.065Z',
    ]);
  });
});
