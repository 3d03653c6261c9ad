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

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

/** A size-or-delay batcher. Not shared between unrelated callers: each owner makes its own. */
export class Batcher<I, O> {
  private readonly maxSize: number;
  private readonly maxDelayMs: number;
  private readonly sendFn: (items: I[]) => Promise<Settled<O>[]>;
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private batches = 0;

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
    return this.queue.length;
  }

  /** Adds one item; resolves with its own outcome once its batch is answered. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxSize) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.maxDelayMs);
    });
  }

  /** Sends what is waiting now, and resolves once every batch sent so far is answered. */
  async flush(): Promise<void> {
    this.flushNow();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxSize);
      const done = this.sendBatch(batch).finally(() => this.inFlight.delete(done));
      this.inFlight.add(done);
    }
  }

  private async sendBatch(batch: Pending<I, O>[]): Promise<void> {
    this.batches++;
    let answers: Settled<O>[];
    try {
      answers = await this.sendFn(batch.map((p) => p.item));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const s = answers[i];
      if (s === undefined) p.reject(new Error('batch answer missing for an item'));
      else if (s.ok) p.resolve(s.value);
      else p.reject(s.error);
    });
  }
}
