/**
 * The tasks a worker holds, with the two kinds of waiters on them: claim loops waiting for a free
 * slot, and shutdown waiting until none is held.
 */

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
