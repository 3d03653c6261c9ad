/**
 * Retries with exponential backoff and full jitter, for calls that are safe to repeat (see
 * {@link isTransient}). Waits are cut short by an abort signal.
 */
import { CodeqError } from '../errors.js';
import { isTransient } from './errors.js';

/** How transient failures are retried. */
export interface RetryOptions {
  /** Retries after the first try; default 5 (so at most 6 calls). 0 disables retrying. */
  retries?: number;
  /** First backoff in ms; default 100 ms. Doubles on every retry. */
  baseDelayMs?: number;
  /** Longest backoff in ms; default 5 000 ms. */
  maxDelayMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/** Fills in the defaults of {@link RetryOptions}. */
export function resolveRetry(options: RetryOptions = {}): ResolvedRetryOptions {
  return {
    retries: options.retries ?? 5,
    baseDelayMs: options.baseDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5000,
  };
}

/**
 * The wait before retry number `retry` (0-based), in ms: a random value in [0, min(max, base·2^retry)]
 * ("full jitter", so many clients that failed together do not come back together).
 */
export function backoffDelayMs(retry: number, options: ResolvedRetryOptions, random = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.round(random() * ceiling);
}

/** Resolves after `ms`, or rejects with `ABORTED` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CodeqError('ABORTED', 'aborted'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CodeqError('ABORTED', 'aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `fn` until it succeeds, a non-retryable error comes, or the retries are used up (then the
 * last error is thrown). `fn` receives the 0-based try number so it can tell a retry from the first
 * try.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: ResolvedRetryOptions,
  extra: { retryable?: (err: unknown) => boolean; signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const retryable = extra.retryable ?? isTransient;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= options.retries || !retryable(err) || extra.signal?.aborted) throw err;
      await sleep(backoffDelayMs(attempt, options), extra.signal).catch(() => {
        throw err;
      });
    }
  }
}
