/**
 * The claim protocol (design §5): a Lua round per command reserves the best ready tasks and hands
 * back expired leases; the claims are decided by the task machine, appended with the versions the
 * reservation saw (the log's fence refuses a stale one) and applied in one round trip.
 */
import type { TaskIntent } from '../actors/task.types.js';
import type { CodeqError } from '../errors.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import { recordFromHash, viewOfRecord } from '../projections/task-record.js';
import { evolveTaskRecord } from '../projections/task-view.evolve.js';
import { targetOf, type IntentHandler } from './intent-handler.js';
import type { TaskView } from '../contract/views.js';
import type { LeaseCache } from './lease-cache.js';
import type { TaskWriter } from './task-writer.js';

/**
 * How long a reservation holds a task between reserve and append, ms. Above the default dependency
 * timeout; a longer one only lets a reservation lapse first, and the log's fence still decides.
 */
export const RESERVATION_MS = 10_000;
/** Most delayed tasks one reserve round promotes. */
const PROMOTE_LIMIT = 1000;

/** What one claim round found. */
export interface ClaimRound {
  /** Tasks now leased to the caller. */
  tasks: TaskView[];
  /** Earliest time more work may appear without a wake-up (a due task or a lease deadline), epoch ms. */
  nextAt?: number | undefined;
}

/** Runs claim rounds and lease repairs. */
export class Claimer {
  private rotation = 0;

  constructor(
    private readonly deps: {
      store: ProjectionStore;
      writer: TaskWriter;
      /** The one write path: claims and lease repairs are decided and appended there. */
      handler: IntentHandler;
      requeueInspectLimit: number;
      now?: () => number;
      /** Leases this engine took; a repaired one is forgotten. */
      leases?: LeaseCache | undefined;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * One round over `commands` (rotating the start for fairness) for up to `count` tasks. Commands
   * are visited in waves whose reserve calls run together (one round trip for the wave), each asking
   * for its share of what is still wanted; a wave that comes back short makes the next one twice as
   * wide. A single command is one reserve call, as before; many sparse commands (thousands, a task
   * or two each) cost a few round trips instead of one per command.
   */
  async round(
    commands: readonly string[],
    count: number,
    workerId: string,
    leaseMs: number,
  ): Promise<ClaimRound> {
    const tasks: TaskView[] = [];
    let nextAt: number | undefined;
    const start = this.rotation++ % commands.length;
    let width = 1;
    for (let i = 0; i < commands.length && tasks.length < count;) {
      const wave: string[] = [];
      for (; wave.length < width && i < commands.length; i++) {
        wave.push(commands[(start + i) % commands.length] as string);
      }
      const wanted = count - tasks.length;
      const share = Math.ceil(wanted / wave.length);
      const now = this.now();
      const rounds = await Promise.all(
        wave.map((command) =>
          this.deps.store.reserve(command, {
            now,
            count: share,
            reserveMs: RESERVATION_MS,
            inspectLimit: this.deps.requeueInspectLimit,
            promoteLimit: PROMOTE_LIMIT,
          }),
        ),
      );
      const reserved: StoredTask[] = [];
      const surplus: StoredTask[] = [];
      rounds.forEach((reserve, k) => {
        for (const t of [reserve.nextDueAt, reserve.nextLeaseAt]) {
          if (t !== undefined && (nextAt === undefined || t < nextAt)) nextAt = t;
        }
        if (reserve.promoted > 0) this.deps.writer.scheduleWake(wave[k] as string);
        for (const task of reserve.reserved) (reserved.length < wanted ? reserved : surplus).push(task);
      });
      const expired = rounds.flatMap((r) => r.expired);
      await Promise.all([
        expired.length > 0 ? this.repairLeases(expired) : undefined,
        surplus.length > 0 ? this.release(surplus) : undefined,
      ]);
      if (reserved.length > 0) {
        try {
          tasks.push(...(await this.claimReserved(reserved, workerId, leaseMs)));
        } catch (err) {
          // Leases of earlier waves are the caller's now: answer with them rather than lose them.
          if (tasks.length === 0) throw err;
          break;
        }
      }
      if (reserved.length < wanted) width *= 2;
    }
    return { tasks, nextAt };
  }

  /**
   * Returns reservations to ready, per command, and wakes claimers of those commands (the tasks are
   * claimable again; nobody else would tell them).
   */
  async release(tasks: readonly StoredTask[]): Promise<void> {
    const byCommand = new Map<string, string[]>();
    for (const t of tasks) {
      const ids = byCommand.get(t.command);
      if (ids) ids.push(t.id);
      else byCommand.set(t.command, [t.id]);
    }
    await Promise.all([...byCommand].map(([command, ids]) => this.deps.store.release(command, ids)));
    for (const command of byCommand.keys()) this.deps.writer.scheduleWake(command);
  }

  /**
   * Decides, appends and applies the claims of reserved tasks (through the one write path, on the
   * hashes the reservation read); gives back what it could not claim. Also what a claimer does with
   * tasks handed to it at their enqueue (`hand-off.ts`). When the log took none of them because it
   * is unavailable (past the dependency timeout), throws that retryable `UNAVAILABLE` instead of
   * answering "no work".
   */
  async claimReserved(reserved: StoredTask[], workerId: string, leaseMs: number): Promise<TaskView[]> {
    if (reserved.length === 0) return [];
    const intent: TaskIntent = { type: 'claim', workerId, leaseMs };
    const outcomes = await this.deps.handler.handle(
      reserved.map((task) => ({ taskId: task.id, intent, actor: workerId, target: targetOf(task) })),
      // A claim is never retried: a refused or stale reservation is simply given back.
      { retries: 0, applyInBackground: true },
    );
    const views: TaskView[] = [];
    const giveBack: StoredTask[] = [];
    let unavailable: CodeqError | undefined;
    outcomes.forEach((outcome, i) => {
      const task = reserved[i]!;
      if (outcome.ok && outcome.event.type === 'claimed') {
        // The claimed view without reading it back: the reserved hash, evolved by the claim.
        const record = evolveTaskRecord(recordFromHash(task.hash), outcome.event);
        views.push(viewOfRecord(task.id, task.command, record));
      } else if (!outcome.ok && outcome.error.code === 'UNAVAILABLE') {
        unavailable ??= outcome.error;
      } else if (!outcome.ok && outcome.error.code !== 'VERSION_CONFLICT') {
        // Refused by the machine (not due, no longer pending): back to where it was.
        giveBack.push(task);
      }
      // A conflict was healed from the log (which ends the reservation); any other failure leaves
      // the reservation to lapse: if the append did land, the projector applies it.
    });
    if (giveBack.length > 0) await this.release(giveBack);
    if (views.length === 0 && unavailable) throw unavailable;
    return views;
  }

  /** Repairs expired leases like a nack with reason LEASE_EXPIRED (backoff, or the DLQ at the limit). */
  async repairLeases(expired: readonly StoredTask[]): Promise<number> {
    for (const task of expired) this.deps.leases?.forget(task.id);
    const outcomes = await this.deps.handler.handle(
      expired.map((task) => ({
        taskId: task.id,
        intent: { type: 'expireLease' } as const,
        actor: 'system',
        target: targetOf(task),
      })),
      { retries: 0 },
    );
    return outcomes.filter((o) => o.ok).length;
  }
}
