/**
 * Errors of the SDK. Every failure a producer or worker sees is a {@link CodeqError} (re-exported
 * here), so callers branch on `code`. Handlers throw the two classes below to steer what the worker
 * does with a failed task.
 */
import { CodeqError, isCodeqError } from '../errors.js';
import type { CodeqErrorCode } from '../errors.js';

export { CodeqError, isCodeqError };
export type { CodeqErrorCode };

/**
 * Thrown by a handler to say "retrying will not help": the worker nacks with `deadLetter: true`, so
 * the task is dead-lettered (status `FAILED`, in the DLQ) on the first occurrence whatever its
 * attempts. Same idea as BullMQ's `UnrecoverableError`.
 */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/**
 * Thrown by a handler to retry after a delay it chooses (e.g. an upstream's `Retry-After`) instead of
 * the server's backoff. The server caps the delay at `backoffMaxSeconds`.
 */
export class RetryLaterError extends Error {
  /**
   * Whole seconds before the task is claimable again (rounded up, at least 0); 0 asks for the
   * server's backoff, as codeQ reads a nack's 0.
   */
  readonly delaySeconds: number;

  constructor(message: string, delaySeconds: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryLaterError';
    this.delaySeconds = Math.max(0, Math.ceil(delaySeconds));
  }
}

/**
 * Thrown by a handler when something downstream rate-limits it (an upstream's 429 with
 * `Retry-After`): the worker nacks with `rateLimited: true`, so the attempt is not spent, the task
 * waits `retryAfterSeconds` (0: the server's backoff), and so does its group key or, without one,
 * its queue (no other worker is handed the same throttled work meanwhile).
 */
export class RateLimitedError extends Error {
  /** Whole seconds to wait (rounded up, at least 0); 0 asks for the server's backoff. */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = Math.max(0, Math.ceil(retryAfterSeconds));
  }
}

/**
 * Thrown by a handler to give the task back untouched: the worker abandons it, so it is claimable
 * again at once with its attempts unchanged (no backoff, no attempt used). For a worker that took a
 * task it cannot run here, or for tests (codeQ's `--ack abandon`).
 */
export class AbandonError extends Error {
  constructor(message = 'task abandoned by its handler', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbandonError';
  }
}

/**
 * Thrown by a handler to record nothing: the worker stops heartbeating and frees the slot, and the
 * task stays leased until its lease runs out; then the server treats it like the task of a crashed
 * worker (retried with backoff, dead-lettered at the attempt limit). For tests of lease expiry
 * (codeQ's `--ack none`).
 */
export class LetLeaseExpireError extends Error {
  constructor(message = 'task left to its lease by its handler', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LetLeaseExpireError';
  }
}

/** Why a job's `AbortSignal` fired (see {@link JobAbortedError}). */
export type JobAbortReason = 'leaseLost' | 'cancelled' | 'shutdown';

const ABORT_CODES: Record<JobAbortReason, CodeqErrorCode> = {
  leaseLost: 'LEASE_EXPIRED',
  cancelled: 'TASK_CANCELLED',
  shutdown: 'ABORTED',
};

/**
 * The reason a job's `AbortSignal` fired. `leaseLost`: the server no longer lists this worker as the
 * holder (heartbeat refused, or the lease deadline passed without a successful heartbeat); a late
 * completion will be refused. `cancelled` (code `TASK_CANCELLED`): the task was cancelled while it
 * ran; the worker sends no result for it. `shutdown`: the worker's close timeout ran out and the
 * task was handed back.
 */
export class JobAbortedError extends CodeqError {
  /** Why the job was aborted. */
  readonly reason: JobAbortReason;

  constructor(reason: JobAbortReason, message: string, options?: { cause?: unknown }) {
    super(ABORT_CODES[reason], message, options);
    this.name = 'JobAbortedError';
    this.reason = reason;
  }
}

/** The abort error of a lease the server refused for good with `error` (cancelled, or lost). */
export function lostLeaseError(error: CodeqError): JobAbortedError {
  return error.code === 'TASK_CANCELLED'
    ? new JobAbortedError('cancelled', 'task cancelled', { cause: error })
    : new JobAbortedError('leaseLost', `lease lost: ${error.message}`, { cause: error });
}

/** True when a job was aborted because its task was cancelled. */
export function isCancellation(err: unknown): boolean {
  return err instanceof JobAbortedError && err.reason === 'cancelled';
}

/** Codes that say the caller no longer holds the task (a lease operation was refused for good). */
export const LEASE_LOST_CODES: readonly CodeqErrorCode[] = Object.freeze([
  'NOT_OWNER',
  'WRONG_STATE',
  'LEASE_EXPIRED',
  'NOT_FOUND',
  'TASK_CANCELLED',
]);

/** True when `err` says the caller's lease on a task is gone. */
export function isLeaseLost(err: unknown): boolean {
  return err instanceof CodeqError && LEASE_LOST_CODES.includes(err.code);
}

/**
 * True when repeating the same call may succeed and cannot do harm: the server or the connection
 * failed (`UNAVAILABLE`, `TIMEOUT`) or the task moved under a concurrent writer (`VERSION_CONFLICT`).
 */
export function isTransient(err: unknown): boolean {
  return (
    err instanceof CodeqError &&
    (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT' || err.code === 'VERSION_CONFLICT')
  );
}

/** Wraps anything thrown into a {@link CodeqError} (`INTERNAL` for non-codeq errors). */
export function toCodeqError(err: unknown): CodeqError {
  if (err instanceof CodeqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CodeqError('INTERNAL', message, { cause: err });
}
