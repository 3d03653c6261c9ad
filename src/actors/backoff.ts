/**
 * Retry delays after a nack or a lease expiry, exactly as the codeQ contract's "Backoff" table
 * defines them (`a` = attempts before this retry, `B` = base, `M` = max, whole seconds).
 */
import { CodeqError } from '../errors.js';
import type { BackoffPolicyName, BackoffSettings } from './task.types.js';

/** Every backoff policy name, in the contract's order. */
export const BACKOFF_POLICIES: readonly BackoffPolicyName[] = Object.freeze([
  'fixed',
  'linear',
  'exponential',
  'exp_full_jitter',
  'exp_equal_jitter',
]);

/** The contract's defaults: `exponential`, base 5 s, max 900 s. */
export const DEFAULT_BACKOFF: BackoffSettings = Object.freeze({
  policy: 'exponential',
  baseSeconds: 5,
  maxSeconds: 900,
});

/**
 * Validates a policy name from config or a request.
 *
 * @param name - candidate policy name (case-sensitive, as in the contract).
 * @returns the name, typed.
 * @throws CodeqError `INVALID_INPUT` naming the allowed policies.
 */
export function parseBackoffPolicy(name: string): BackoffPolicyName {
  if ((BACKOFF_POLICIES as readonly string[]).includes(name)) return name as BackoffPolicyName;
  throw new CodeqError(
    'INVALID_INPUT',
    `unknown backoff policy '${name}' (allowed: ${BACKOFF_POLICIES.join(', ')})`,
    { details: { field: 'backoffPolicy', allowed: [...BACKOFF_POLICIES] } },
  );
}

/** min(B * 2^a, M) without overflow: 2^a is Infinity past a = 1023 and B = 0 would then give NaN. */
function cappedExponential(base: number, attempts: number, max: number): number {
  if (base <= 0) return 0;
  // Once B * 2^a passes M it stays there; stopping early also keeps huge `a` cheap and finite.
  if (attempts >= 1023 || base * 2 ** attempts >= max) return max;
  return base * 2 ** attempts;
}

/** A uniform integer in [0, n] from a uniform float in [0, 1). */
function randomIntInclusive(n: number, random: () => number): number {
  if (n <= 0) return 0;
  // `random` returning exactly 1 (a sloppy source) must not step past n.
  return Math.min(n, Math.floor(random() * (n + 1)));
}

/**
 * The retry delay in whole seconds.
 *
 * - `fixed`: min(B, M)
 * - `linear`: min(B * max(1, a), M)
 * - `exponential`: min(B * 2^a, M)
 * - `exp_full_jitter`: a random integer in [0, min(B * 2^a, M)]
 * - `exp_equal_jitter`: h = floor(min(B * 2^a, M) / 2); h + a random integer in [0, h]
 *
 * @param settings - policy, `baseSeconds` (B, seconds) and `maxSeconds` (M, seconds).
 * @param attemptsBefore - `a`: deliveries so far (the task's `attempts` when the retry is decided);
 *   fractional values count as their floor; negative or NaN as 0.
 * @param random - uniform float in [0, 1), used by the jitter policies only (e.g. `Math.random`).
 * @returns delay in seconds, never negative, never above M (for M >= 0).
 */
export function backoffDelaySeconds(
  settings: BackoffSettings,
  attemptsBefore: number,
  random: () => number,
): number {
  const base = Math.max(0, settings.baseSeconds);
  const max = Math.max(0, settings.maxSeconds);
  const a = Number.isNaN(attemptsBefore) ? 0 : Math.max(0, Math.floor(attemptsBefore));
  switch (settings.policy) {
    case 'fixed':
      return Math.min(base, max);
    case 'linear':
      return Math.min(base * Math.max(1, a), max);
    case 'exponential':
      return cappedExponential(base, a, max);
    case 'exp_full_jitter':
      return randomIntInclusive(Math.floor(cappedExponential(base, a, max)), random);
    case 'exp_equal_jitter': {
      const half = Math.floor(cappedExponential(base, a, max) / 2);
      return half + randomIntInclusive(half, random);
    }
    default: {
      const unknown: never = settings.policy;
      throw new CodeqError('INVALID_INPUT', `unknown backoff policy '${String(unknown)}'`);
    }
  }
}
