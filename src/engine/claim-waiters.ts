/**
 * Long-poll claimers waiting for work. A waiter costs nothing while it waits: no Redis or NATS
 * traffic, one timer. Wake-ups arrive per command (core NATS), and are handed to one waiter at a
 * time: a waiter that finds work passes the wake-up on, one that finds none ends the chain, so a
 * single arrival never stampedes every waiter into Redis.
 */

/** Why a wait ended. */
export type WaitOutcome = 'woken' | 'timeout' | 'aborted';

interface Waiter {
  commands: readonly string[];
  resolve: (outcome: WaitOutcome) => void;
  timer: ReturnType<typeof setTimeout>;
  onAbort?: () => void;
  signal?: AbortSignal | undefined;
}

/** The waiters of one process, by command. */
export class ClaimWaiters {
  private readonly byCommand = new Map<string, Set<Waiter>>();
  private readonly generations = new Map<string, number>();
  private closed = false;

  /**
   * A counter per command that moves on every wake-up. Read it before an empty reserve and compare
   * after: a change means work arrived in between and the claimer must look again instead of waiting.
   */
  generation(commands: readonly string[]): number {
    let sum = 0;
    for (const c of commands) sum += this.generations.get(c) ?? 0;
    return sum;
  }

  /** Number of waiting claimers (all commands). */
  get size(): number {
    const all = new Set<Waiter>();
    for (const set of this.byCommand.values()) for (const w of set) all.add(w);
    return all.size;
  }

  /**
   * Waits until one of `commands` is woken, `untilMs` (epoch ms) passes, or `signal` aborts.
   * Resolves at once with `aborted` after {@link close}.
   */
  wait(commands: readonly string[], untilMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.closed || signal?.aborted) return Promise.resolve('aborted');
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        commands,
        signal,
        resolve: (outcome) => {
          clearTimeout(waiter.timer);
          if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
          for (const c of commands) this.byCommand.get(c)?.delete(waiter);
          resolve(outcome);
        },
        timer: setTimeout(() => waiter.resolve('timeout'), Math.max(0, untilMs - Date.now())),
      };
      if (signal) {
        waiter.onAbort = () => waiter.resolve('aborted');
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      for (const c of commands) {
        let set = this.byCommand.get(c);
        if (!set) this.byCommand.set(c, (set = new Set()));
        set.add(waiter);
      }
    });
  }

  /** Work arrived for `command`: wakes its longest-waiting claimer (if any). */
  wake(command: string): void {
    this.generations.set(command, (this.generations.get(command) ?? 0) + 1);
    const set = this.byCommand.get(command);
    if (!set || set.size === 0) return;
    const first = set.values().next().value as Waiter;
    first.resolve('woken');
  }

  /** Ends every wait with `aborted` and refuses new ones (shutdown). */
  close(): void {
    this.closed = true;
    for (const set of [...this.byCommand.values()]) for (const w of [...set]) w.resolve('aborted');
    this.byCommand.clear();
  }
}
