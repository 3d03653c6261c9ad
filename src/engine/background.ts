/**
 * The background work of one elected instance (design §6): rebuild the projection when Redis lost
 * it, catch the projection up with the log, promote due tasks and wake claimers, repair expired
 * leases oldest-first, and purge terminal tasks past their retention. One timer, no overlap.
 */
import type { Logger } from 'pino';
import type { EventProjector } from '../projections/event.projector.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import type { ArtifactFiles } from './artifact-files.js';
import type { Claimer } from './claimer.js';
import type { IntentHandler } from './intent-handler.js';
import { RESERVATION_MS } from './claimer.js';
import type { EngineSettings } from './engine.types.js';
import type { LeaderLock } from './leader-lock.js';
import { snapshotAgingTasks } from './snapshots.js';
import type { TaskWriter } from './task-writer.js';

/** Purge runs every this many ticks (retention is measured in hours, not seconds). */
const PURGE_EVERY_TICKS = 30;
/** Most tasks one purge removes per command. */
const PURGE_LIMIT = 1000;

/** The sweeper and projector loop. */
export class BackgroundLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ticks = 0;
  private stopped = false;
  private current: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      lock: LeaderLock;
      store: ProjectionStore;
      projector: EventProjector;
      claimer: Claimer;
      writer: TaskWriter;
      /** The one write path (snapshots are decided and appended there). */
      handler: IntentHandler;
      settings: EngineSettings;
      logger: Logger;
      /** Files of results' inline artifacts, removed with their purged tasks. */
      files: Pick<ArtifactFiles, 'removeTask'>;
    },
  ) {}

  /** Starts ticking every `sweepIntervalMs`. */
  start(): void {
    this.schedule(0);
  }

  /** Stops the loop, waits for a running tick and gives up leadership. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
    await this.deps.lock.release();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'background tick failed'))
        .finally(() => this.schedule(this.deps.settings.sweepIntervalMs));
    }, delayMs);
  }

  /** One pass; public for tests that drive time themselves. */
  async tick(now: number = Date.now()): Promise<void> {
    if (!(await this.deps.lock.tryLead())) return;
    const { store, projector, claimer, writer, settings } = this.deps;
    if (!(await store.isBuilt())) {
      this.deps.logger.warn('projection missing (Redis empty or flushed): rebuilding from the log');
      await projector.rebuildIfMissing();
    } else {
      await projector.catchUp();
    }
    const commands = await store.commands();
    for (const command of commands) {
      if (this.stopped) return;
      // A reserve round with count 0 promotes due tasks, returns lapsed reservations and hands
      // back expired leases, oldest first, without claiming anything.
      const round = await store.reserve(command, {
        now,
        count: 0,
        reserveMs: RESERVATION_MS,
        inspectLimit: settings.requeueInspectLimit,
        promoteLimit: 10_000,
      });
      if (round.promoted > 0) writer.scheduleWake(command);
      if (round.expired.length > 0) await claimer.repairLeases(round.expired);
      await snapshotAgingTasks(command, now, {
        store,
        handler: this.deps.handler,
        snapshotAfterMs: settings.snapshotAfterMs,
      });
    }
    if (this.ticks++ % PURGE_EVERY_TICKS === 0) {
      for (const command of commands) {
        const purged = await store.purge(
          command,
          now - settings.completedRetentionMs,
          now - settings.deadRetentionMs,
          PURGE_LIMIT,
        );
        // A task past its retention can no longer be read, nor its artifacts served.
        for (const { id } of purged) await this.deps.files.removeTask(id);
      }
    }
  }
}
