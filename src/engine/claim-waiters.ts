/**
 * Long-poll claimers waiting for work. A waiter costs nothing while it waits: no Redis or NATS
 * traffic, one timer. Wake-ups arrive per command (core NATS), and are handed to one waiter at a
 * time: a waiter that finds work passes the wake-up on, one that finds none ends the chain, so a
 * single arrival never stampedes every waiter into Redis. Tasks this engine enqueues can also be
 * handed straight to its waiters ({@link ClaimWaiters.handOff}).
 */
import type { StoredTask } from '../projections/projection.store.js';

/** Why a wait ended without tasks. */
export type WaitOutcome = 'woken' | 'timeout' | 'aborted';

/** A wait that ended with tasks handed to it, reserved for it in the projection. */
export interface HandedOff {
  /** The tasks, in enqueue order; the waiter claims them (or gives them back). */
  handed: StoredTask[];
}

/** Tasks handed to waiters, delivered once their reservations are on the Redis connection. */
export interface HandOff {
  /** Ids of the tasks handed off. */
  taken: Set<string>;
  /** Ends the receiving waits with their tasks. Call once. */
  deliver: () => void;
}

interface Waiter {
  commands: readonly string[];
  /** Most tasks a hand-off gives this waiter. */
  capacity: number;
  resolve: (outcome: WaitOutcome | HandedOff) => void;
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
   * Waits until one of `commands` is woken, tasks are handed to it (at most `capacity`), `untilMs`
   * (epoch ms) passes, or `signal` aborts. Resolves at once with `aborted` after {@link close}.
   */
  wait(
    commands: readonly string[],
    untilMs: number,
    signal?: AbortSignal,
    capacity = 1,
  ): Promise<WaitOutcome | HandedOff> {
    if (this.closed || signal?.aborted) return Promise.resolve('aborted');
    return new Promise<WaitOutcome | HandedOff>((resolve) => {
      const waiter: Waiter = {
        commands,
        capacity: Math.max(1, capacity),
        signal,
        resolve: (outcome) => {
          clearTimeout(waiter.timer);
          if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
          this.detach(waiter);
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

  /** Whether a claimer of `command` is waiting. */
  isWaiting(command: string): boolean {
    return (this.byCommand.get(command)?.size ?? 0) > 0;
  }

  /**
   * Hands `tasks` straight to waiting claimers of their commands, longest-waiting first, each up
   * to its capacity; a waiter that is given any leaves the waiting sets at once, so no wake-up or
   * second hand-off reaches it. Undefined when nobody took any. The caller reserves the taken
   * tasks in the projection and calls `deliver` once that write is on the Redis connection, so
   * whatever the claimers do next is ordered after it.
   */
  handOff(tasks: readonly StoredTask[]): HandOff | undefined {
    let plan: Map<Waiter, StoredTask[]> | undefined;
    for (const task of tasks) {
      const set = this.byCommand.get(task.command);
      if (!set || set.size === 0) continue;
      const waiter = set.values().next().value as Waiter;
      plan ??= new Map();
      let given = plan.get(waiter);
      if (!given) plan.set(waiter, (given = []));
      given.push(task);
      if (given.length >= waiter.capacity) this.detach(waiter);
    }
    if (!plan) return undefined;
    const taken = new Set<string>();
    for (const [waiter, given] of plan) {
      // Taken now: neither its timer nor an abort can end it without its tasks any more (the
      // claimer sees an abort itself and gives them back).
      this.detach(waiter);
      clearTimeout(waiter.timer);
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      for (const t of given) taken.add(t.id);
    }
    const chosen = plan;
    return { taken, deliver: () => chosen.forEach((handed, waiter) => waiter.resolve({ handed })) };
  }

  private detach(waiter: Waiter): void {
    for (const c of waiter.commands) this.byCommand.get(c)?.delete(waiter);
  }

  /** Ends every wait with `aborted` and refuses new ones (shutdown). */
  close(): void {
    this.closed = true;
    for (const set of [...this.byCommand.values()]) for (const w of [...set]) w.resolve('aborted');
    this.byCommand.clear();
  }
}
