import { describe, it, expect } from 'vitest';
import {
  BACKOFF_POLICIES,
  DEFAULT_BACKOFF,
  backoffDelaySeconds,
  parseBackoffPolicy,
} from '../../src/actors/backoff.js';
import type { BackoffPolicyName } from '../../src/actors/task.types.js';
import { isCodeqError } from '../../src/errors.js';

const never = (): number => {
  throw new Error('random must not be used');
};
const delays = (policy: BackoffPolicyName, base: number, max: number, attempts: number[], random = never) =>
  attempts.map((a) => backoffDelaySeconds({ policy, baseSeconds: base, maxSeconds: max }, a, random));

/** A small deterministic PRNG (mulberry32) so jitter tests are reproducible. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('backoffDelaySeconds', () => {
  const A = [0, 1, 2, 3, 4, 5, 8, 100];

  it('fixed: min(B, M)', () => {
    expect(delays('fixed', 5, 900, A)).toEqual([5, 5, 5, 5, 5, 5, 5, 5]);
    expect(delays('fixed', 50, 30, [0, 3])).toEqual([30, 30]);
  });

  it('linear: min(B * max(1, a), M)', () => {
    expect(delays('linear', 5, 900, A)).toEqual([5, 5, 10, 15, 20, 25, 40, 500]);
    expect(delays('linear', 5, 12, [1, 2, 3])).toEqual([5, 10, 12]);
  });

  it('exponential: min(B * 2^a, M)', () => {
    expect(delays('exponential', 5, 900, A)).toEqual([5, 10, 20, 40, 80, 160, 900, 900]);
  });

  it('never overflows for huge attempt counts', () => {
    for (const policy of BACKOFF_POLICIES) {
      for (const a of [1023, 1024, 5000, Number.MAX_SAFE_INTEGER, Infinity]) {
        const d = backoffDelaySeconds({ policy, baseSeconds: 5, maxSeconds: 900 }, a, () => 0.999);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(900);
      }
    }
    expect(delays('exponential', 0, 900, [2000])).toEqual([0]);
    expect(delays('exponential', 5, 900, [-3, NaN])).toEqual([5, 5]);
  });

  it('exp_full_jitter: an integer in [0, min(B * 2^a, M)], both ends reachable', () => {
    expect(delays('exp_full_jitter', 5, 900, [0, 3, 10], () => 0)).toEqual([0, 0, 0]);
    expect(delays('exp_full_jitter', 5, 900, [0, 3, 10], () => 0.999999)).toEqual([5, 40, 900]);
    expect(delays('exp_full_jitter', 5, 900, [3], () => 1)).toEqual([40]);
    const random = seeded(42);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const d = backoffDelaySeconds(
        { policy: 'exp_full_jitter', baseSeconds: 5, maxSeconds: 900 },
        1,
        random,
      );
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(10);
      seen.add(d);
    }
    expect(seen.size).toBe(11);
  });

  it('exp_equal_jitter: h + an integer in [0, h], h = floor(min(B * 2^a, M) / 2)', () => {
    expect(delays('exp_equal_jitter', 5, 900, [0, 1, 3, 10], () => 0)).toEqual([2, 5, 20, 450]);
    expect(delays('exp_equal_jitter', 5, 900, [0, 1, 3, 10], () => 0.999999)).toEqual([4, 10, 40, 900]);
    const random = seeded(7);
    for (let i = 0; i < 2000; i++) {
      const d = backoffDelaySeconds(
        { policy: 'exp_equal_jitter', baseSeconds: 5, maxSeconds: 900 },
        4,
        random,
      );
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(40);
      expect(d).toBeLessThanOrEqual(80);
    }
  });
});

describe('parseBackoffPolicy and defaults', () => {
  it('accepts every policy name', () => {
    for (const name of BACKOFF_POLICIES) expect(parseBackoffPolicy(name)).toBe(name);
  });

  it('rejects others with INVALID_INPUT listing the allowed names', () => {
    let error: unknown;
    try {
      parseBackoffPolicy('Exponential');
    } catch (err) {
      error = err;
    }
    expect(isCodeqError(error, 'INVALID_INPUT')).toBe(true);
    expect((error as Error).message).toContain(
      'fixed, linear, exponential, exp_full_jitter, exp_equal_jitter',
    );
  });

  it('defaults to exponential, 5 s base, 900 s max', () => {
    expect(DEFAULT_BACKOFF).toEqual({ policy: 'exponential', baseSeconds: 5, maxSeconds: 900 });
    expect(Object.isFrozen(DEFAULT_BACKOFF)).toBe(true);
  });
});
