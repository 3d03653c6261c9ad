/**
 * A worker's slots: how many tasks it may hold and claim ({@link claimLimits}), and the tasks it
 * holds, with the two kinds of waiters on them: claim loops waiting for a free slot, and shutdown
 * waiting until none is held ({@link HeldTasks}).
 */
import { CodeqError } from '../errors.js';
import type { WorkerOptions } from './worker.types.js';

/** How a worker claims, from its options (defaults in {@link WorkerOptions}). */
export interface ClaimLimits {
  /** Tasks held at once. */
  concurrency: number;
  /** Most tasks per claim. */
  claimBatch: number;
  /** Claim calls in flight at once. */
  claimLoops: number;
  /** Tasks claimed before the worker stops claiming; `Infinity` = no limit. */
  maxTasks: number;
}

/** The claim limits of `options`; throws `INVALID_INPUT` for commands or a `maxTasks` that cannot work. */
export function claimLimits(
  options: Pick<
    WorkerOptions,
    'transport' | 'commands' | 'concurrency' | 'claimBatchSize' | 'claimLoops' | 'maxTasks'
  >,
): ClaimLimits {
  if (options.commands.length === 0 && !options.transport.claimsWithoutCommands)
    throw new CodeqError('INVALID_INPUT', 'worker: commands must not be empty on this transport');
  const max = options.maxTasks;
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1))
    throw new CodeqError('INVALID_INPUT', `worker: maxTasks must be a whole number >= 1, got ${max}`);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 10));
  const claimBatch = Math.max(
    1,
    Math.min(options.claimBatchSize ?? concurrency, options.transport.maxClaimBatch),
  );
  const claimLoops = Math.max(
    1,
    Math.floor(options.claimLoops ?? Math.min(4, Math.ceil(concurrency / claimBatch))),
  );
  return { concurrency, claimBatch, claimLoops, maxTasks: max ?? Infinity };
}

/** A worker's held tasks and who waits on them. */
export class HeldTasks<T> {
  private readonly held = new Set<T>();
  private slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  /** Tasks held now. */
  get size(): number {
    return this.held.size;
  }

  /** Starts holding `item`. */
  add(item: T): void {
    this.held.add(item);
  }

  /** A copy of the held tasks (safe to iterate while they are released). */
  snapshot(): T[] {
    return [...this.held];
  }

  /**
   * Stops holding `item`; false when it was not held. Wakes one claim loop waiting for a slot, and
   * every idle waiter once nothing is held.
   */
  delete(item: T): boolean {
    if (!this.held.delete(item)) return false;
    this.slotWaiters.shift()?.();
    if (this.held.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    return true;
  }

  /** Resolves when a slot may have come free (the caller checks again). */
  waitForSlot(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /** Wakes every claim loop waiting for a slot (slots came free, or the worker is stopping). */
  wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when nothing is held any more, or after `timeoutMs` (default: no limit). */
  idle(timeoutMs = Infinity): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = timeoutMs === Infinity ? undefined : setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
