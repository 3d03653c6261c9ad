/** The batcher (size or delay, per-item outcomes) and the retry helper (backoff bounds, what is retried). */
import { describe, expect, it } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import { Batcher } from '../../src/sdk/batcher.js';
import { isLeaseLost, isTransient } from '../../src/sdk/errors.js';
import { backoffDelayMs, resolveRetry, withRetry } from '../../src/sdk/retry.js';

describe('Batcher', () => {
  it('sends a batch when it is full, and the rest after the delay', async () => {
    const sent: number[][] = [];
    const b = new Batcher<number, number>({
      maxSize: 4,
      maxDelayMs: 30,
      send: async (items) => {
        sent.push(items);
        return items.map((i) => ({ ok: true as const, value: i * 10 }));
      },
    });
    const started = Date.now();
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => b.add(i)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60]);
    expect(sent).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(b.batchCount).toBe(2);
  });

  it('gives each item its own outcome, and fails all items when the batch throws', async () => {
    let fail = false;
    const b = new Batcher<number, number>({
      maxSize: 10,
      maxDelayMs: 1,
      send: async (items) => {
        if (fail) throw new Error('down');
        return items.map((i) => (i % 2 ? { ok: true as const, value: i } : { ok: false as const, error: i }));
      },
    });
    const mixed = await Promise.allSettled([b.add(1), b.add(2)]);
    expect(mixed.map((m) => m.status)).toEqual(['fulfilled', 'rejected']);
    fail = true;
    const all = await Promise.allSettled([b.add(3), b.add(5)]);
    expect(all.every((a) => a.status === 'rejected')).toBe(true);
  });

  it('flush() sends at once and waits for the answers', async () => {
    let answered = 0;
    const b = new Batcher<number, number>({
      maxSize: 100,
      maxDelayMs: 60_000,
      send: async (items) => {
        answered += items.length;
        return items.map((value) => ({ ok: true as const, value }));
      },
    });
    const p = b.add(1);
    await b.flush();
    expect(answered).toBe(1);
    await expect(p).resolves.toBe(1);
  });
});

describe('retry', () => {
  it('keeps full-jitter delays within [0, min(max, base·2^n)]', () => {
    const o = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect(backoffDelayMs(0, o, () => 0.999)).toBeLessThanOrEqual(100);
    expect(backoffDelayMs(3, o, () => 0.999)).toBeLessThanOrEqual(800);
    expect(backoffDelayMs(10, o, () => 1)).toBe(1000);
    expect(backoffDelayMs(5, o, () => 0)).toBe(0);
  });

  it('retries transient errors only, and gives up after `retries`', async () => {
    const o = resolveRetry({ retries: 3, baseDelayMs: 1 });
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new CodeqError('UNAVAILABLE', 'down');
      }, o),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(calls).toBe(4);
    calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new CodeqError('NOT_OWNER', 'no');
      }, o),
    ).rejects.toMatchObject({ code: 'NOT_OWNER' });
    expect(calls).toBe(1);
    calls = 0;
    const value = await withRetry(async (attempt) => {
      calls++;
      if (attempt < 2) throw new CodeqError('VERSION_CONFLICT', 'moved');
      return 'ok';
    }, o);
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('classifies errors', () => {
    expect(isTransient(new CodeqError('TIMEOUT', 't'))).toBe(true);
    expect(isTransient(new CodeqError('INVALID_INPUT', 'x'))).toBe(false);
    expect(isTransient(new Error('plain'))).toBe(false);
    for (const code of ['NOT_OWNER', 'WRONG_STATE', 'LEASE_EXPIRED', 'NOT_FOUND'] as const) {
      expect(isLeaseLost(new CodeqError(code, code))).toBe(true);
    }
    expect(isLeaseLost(new CodeqError('UNAVAILABLE', 'u'))).toBe(false);
  });
});
