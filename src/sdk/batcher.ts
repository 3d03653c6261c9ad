/**
 * Collects single calls into batches: a batch goes out when it holds `maxSize` items or when the
 * first item has waited `maxDelayMs`, whichever comes first. Each caller gets its own item's
 * outcome. The producer uses it for enqueues, the worker for completions.
 */

/** One item's outcome of a batch call. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Options of a {@link Batcher}. */
export interface BatcherOptions<I, O> {
  /** Most items per batch; default 100. */
  maxSize?: number;
  /** Longest wait of the first item of a batch before it goes out, in ms; default 5 ms. 0 = next tick. */
  maxDelayMs?: number;
  /** Sends one batch. Returns one outcome per item, in order. A throw fails every item with that error. */
  send: (items: I[]) => Promise<Settled<O>[]>;
}

/** Receives one item's outcome (see {@link Batcher.push}). */
export interface BatchWaiter<O> {
  /** The item succeeded. */
  resolve(value: O): void;
  /** The item failed, or its whole batch did. */
  reject(error: unknown): void;
}

/** A size-or-delay batcher. Not shared between unrelated callers: each owner makes its own. */
export class Batcher<I, O> {
  private readonly maxSize: number;
  private readonly maxDelayMs: number;
  private readonly sendFn: (items: I[]) => Promise<Settled<O>[]>;
  // Two parallel arrays rather than one object per item: the worker pushes one item per task.
  private items: I[] = [];
  private waiters: BatchWaiter<O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private batches = 0;
  private readonly onTimer = () => this.flushNow();

  constructor(options: BatcherOptions<I, O>) {
    this.maxSize = Math.max(1, options.maxSize ?? 100);
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 5);
    this.sendFn = options.send;
  }

  /** Batches sent so far (for metrics and tests). */
  get batchCount(): number {
    return this.batches;
  }

  /** Items waiting for their batch to go out. */
  get pending(): number {
    return this.items.length;
  }

  /** Adds one item; resolves with its own outcome once its batch is answered. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => this.push(item, { resolve, reject }));
  }

  /**
   * Adds one item whose outcome goes to `waiter` once its batch is answered.
   * What {@link Batcher.add} does without a promise per item, for callers with an object to call.
   */
  push(item: I, waiter: BatchWaiter<O>): void {
    this.items.push(item);
    this.waiters.push(waiter);
    if (this.items.length >= this.maxSize) this.flushNow();
    else this.timer ??= setTimeout(this.onTimer, this.maxDelayMs);
  }

  /** Sends what is waiting now, and resolves once every batch sent so far is answered. */
  async flush(): Promise<void> {
    this.flushNow();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.items.length > 0) {
      let items = this.items;
      let waiters = this.waiters;
      if (items.length <= this.maxSize) {
        this.items = [];
        this.waiters = [];
      } else {
        items = this.items.splice(0, this.maxSize);
        waiters = this.waiters.splice(0, this.maxSize);
      }
      const done = this.sendBatch(items, waiters).finally(() => this.inFlight.delete(done));
      this.inFlight.add(done);
    }
  }

  private async sendBatch(items: I[], waiters: BatchWaiter<O>[]): Promise<void> {
    this.batches++;
    let answers: Settled<O>[];
    try {
      answers = await this.sendFn(items);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    for (let i = 0; i < waiters.length; i++) {
      const s = answers[i];
      if (s === undefined) waiters[i]!.reject(new Error('batch answer missing for an item'));
      else if (s.ok) waiters[i]!.resolve(s.value);
      else waiters[i]!.reject(s.error);
    }
  }
}
