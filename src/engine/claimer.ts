/**
 * The claim protocol (design §5): a Lua round per command reserves the best ready tasks and hands
 * back expired leases; the claims are decided by the task machine, appended with the versions the
 * reservation saw (the log's fence refuses a stale one) and applied in one round trip.
 */
import { decide } from '../actors/task.decider.js';
import type { BackoffSettings, DecisionContext, TaskCommand } from '../actors/task.types.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import { recordFromHash, snapshotFromHash, viewOfRecord } from '../projections/task-record.js';
import { evolveTaskRecord } from '../projections/task-view.evolve.js';
import type { TaskView } from './engine.types.js';
import type { TaskWriter, WriteItem } from './task-writer.js';
import type { LeaseCache } from './lease-cache.js';
import type { TaskSnapshot } from '../actors/task.types.js';

/** How long a reservation holds a task between reserve and append, ms. Above the append timeout. */
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
      backoff: BackoffSettings;
      requeueInspectLimit: number;
      now?: () => number;
      random?: () => number;
      /** Remembers the leases this engine takes, so their results skip the projection read. */
      leases?: LeaseCache | undefined;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private context(task: StoredTask, actor: string, now: number): DecisionContext {
    const ctx: DecisionContext = {
      taskId: task.id,
      command: task.command,
      actor,
      now,
      backoff: this.deps.backoff,
    };
    if (this.deps.random) ctx.random = this.deps.random;
    return ctx;
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
      if (reserved.length > 0) tasks.push(...(await this.claimReserved(reserved, workerId, leaseMs)));
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
   * Decides, appends and applies the claims of reserved tasks; gives back what it could not claim.
   * Also what a claimer does with tasks handed to it at their enqueue (`hand-off.ts`).
   */
  async claimReserved(reserved: StoredTask[], workerId: string, leaseMs: number): Promise<TaskView[]> {
    const now = this.now();
    const items: WriteItem[] = [];
    const claimable: StoredTask[] = [];
    const snapshots: TaskSnapshot[] = [];
    const giveBack: StoredTask[] = [];
    const command: TaskCommand = { type: 'claim', workerId, leaseMs };
    for (const task of reserved) {
      const snapshot = snapshotFromHash(task.hash);
      const decision = decide(snapshot, command, this.context(task, workerId, now));
      if (!decision.ok || decision.events.length !== 1) {
        giveBack.push(task);
        continue;
      }
      items.push({ event: decision.events[0]!, expectedVersion: snapshot.version });
      claimable.push(task);
      snapshots.push(snapshot);
    }
    if (giveBack.length > 0) await this.release(giveBack);
    if (items.length === 0) return [];
    const outcomes = await this.deps.writer.write(items, { applyInBackground: true });
    const views: TaskView[] = [];
    const stale: StoredTask[] = [];
    outcomes.forEach((outcome, i) => {
      const task = claimable[i] as StoredTask;
      if (outcome.ok && outcome.event.type === 'claimed') {
        this.deps.leases?.afterWrite(snapshots[i]!, outcome.event);
        // The claimed view without reading it back: the reserved hash, evolved by the claim.
        const record = evolveTaskRecord(recordFromHash(task.hash), outcome.event);
        views.push(viewOfRecord(task.id, task.command, record));
      } else if (!outcome.ok && outcome.error.code === 'VERSION_CONFLICT') {
        stale.push(task);
      }
      // Any other failure (timeout, log unavailable) leaves the reservation to lapse: if the append
      // did land, the projector applies it and the lease runs its course.
    });
    // The projection was behind the log for these: catch them up, which also ends the reservation.
    await Promise.all(stale.map((t) => this.deps.writer.resync(t.command, t.id).catch(() => undefined)));
    return views;
  }

  /** Repairs expired leases like a nack with reason LEASE_EXPIRED (backoff, or the DLQ at the limit). */
  async repairLeases(expired: readonly StoredTask[]): Promise<number> {
    const now = this.now();
    const items: WriteItem[] = [];
    const tasks: StoredTask[] = [];
    for (const task of expired) {
      const snapshot = snapshotFromHash(task.hash);
      const decision = decide(snapshot, { type: 'expireLease' }, this.context(task, 'system', now));
      if (!decision.ok || decision.events.length !== 1) continue;
      items.push({ event: decision.events[0]!, expectedVersion: snapshot.version });
      tasks.push(task);
      this.deps.leases?.forget(task.id);
    }
    if (items.length === 0) return 0;
    const outcomes = await this.deps.writer.write(items);
    let repaired = 0;
    await Promise.all(
      outcomes.map(async (outcome, i) => {
        if (outcome.ok) repaired++;
        else if (outcome.error.code === 'VERSION_CONFLICT') {
          const task = tasks[i] as StoredTask;
          await this.deps.writer.resync(task.command, task.id).catch(() => undefined);
        }
      }),
    );
    return repaired;
  }
}
