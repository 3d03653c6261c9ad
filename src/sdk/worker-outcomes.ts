/**
 * How a worker records its handlers' outcomes: the result object of a return value, a batch of
 * completions (with the check a retried batch needs), and what a throw sends (nack, abandon or nothing).
 */
import type { Settled } from './batcher.js';
import {
  AbandonError,
  LetLeaseExpireError,
  RateLimitedError,
  RetryLaterError,
  UnrecoverableError,
  isLeaseLost,
} from './errors.js';
import { withRetry } from './retry.js';
import type { ResolvedRetryOptions } from './retry.js';
import type { ResultRecord, Transport, TransportCompletion } from './transport.js';
import type { FailureInfo } from './worker.types.js';

/** The result object stored for a handler's return value (the API wants an object). */
export function toResultObject(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return { value };
}

/** True for a promise or any object with a `then` method (what `await` would wait for). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Sends one batch of completions, retrying transient failures. When the batch had to be retried,
 * an item refused on the retry may have been recorded by the try whose answer was lost: it counts
 * as done if the task is completed.
 */
export async function completeBatch(
  transport: Transport,
  items: TransportCompletion[],
  retry: ResolvedRetryOptions,
): Promise<Settled<ResultRecord>[]> {
  let retried = false;
  const answers = await withRetry((attempt) => {
    retried = attempt > 0;
    return transport.completeMany(items);
  }, retry);
  if (!retried) return answers;
  return Promise.all(
    answers.map(async (a, i) => {
      if (a.ok || !isLeaseLost(a.error)) return a;
      const task = await transport.getTask(items[i]!.taskId).catch(() => undefined);
      if (task?.status !== 'COMPLETED') return a;
      const value: ResultRecord = {
        taskId: task.id,
        status: 'COMPLETED',
        result: items[i]!.result,
        completedAt: task.updatedAt,
      };
      return { ok: true as const, value };
    }),
  );
}

/**
 * Records the failure of a handler that threw `thrown`: abandons the task for an
 * {@link AbandonError}, sends nothing for a {@link LetLeaseExpireError}, else nacks it: dead-lettered
 * at once for an {@link UnrecoverableError}, with the given delay for a {@link RetryLaterError},
 * without spending the attempt for a {@link RateLimitedError}, with
 * the server's backoff otherwise. Resolves with the error (a non-Error wrapped) and how the attempt
 * ended.
 */
export async function recordFailure(
  transport: Transport,
  taskId: string,
  thrown: unknown,
  retry: ResolvedRetryOptions,
): Promise<{ error: Error; info: FailureInfo }> {
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  if (error instanceof LetLeaseExpireError) return { error, info: { outcome: 'leaseExpiry', via: 'none' } };
  if (error instanceof AbandonError) {
    await withRetry(() => transport.abandon(taskId), retry);
    return { error, info: { outcome: 'retry', via: 'abandon' } };
  }
  const message = (error.message || error.name || 'handler failed').slice(0, 4096);
  if (error instanceof UnrecoverableError) {
    // Straight to the dead-letter queue (an admin can requeue it), not a FAILED result.
    await withRetry(() => transport.nack(taskId, { reason: message, deadLetter: true }), retry);
    return { error, info: { outcome: 'dead', via: 'nack' } };
  }
  const nack: { reason: string; delaySeconds?: number; rateLimited?: boolean } = { reason: message };
  if (error instanceof RetryLaterError) nack.delaySeconds = error.delaySeconds;
  if (error instanceof RateLimitedError) {
    nack.delaySeconds = error.retryAfterSeconds;
    nack.rateLimited = true;
  }
  const out = await withRetry(() => transport.nack(taskId, nack), retry);
  const info: FailureInfo =
    out.status === 'dlq'
      ? { outcome: 'dead', via: 'nack' }
      : { outcome: 'retry', via: 'nack', delaySeconds: out.delaySeconds };
  return { error, info };
}
