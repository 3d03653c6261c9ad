/**
 * Applies the log to the projection in stream order: catch-up from the checkpoint (heals events
 * whose writer crashed between append and apply) and full rebuild (flush + replay), which runs by
 * itself when Redis comes back empty. Applying is idempotent, so it may overlap live writers.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../events/event-log.js';
import type { ProjectionStore } from './projection.store.js';

/** Progress of a catch-up or rebuild. */
export interface ProjectorProgress {
  /** Events read so far. */
  events: number;
  /** Last sequence applied. */
  lastSeq: number;
}

/** How long terminal tasks stay in the projection (the engine's retention settings), ms. */
export interface ProjectionRetention {
  /** Completed, failed and cancelled tasks. */
  completedMs: number;
  /** Dead-lettered tasks. */
  deadMs: number;
}

/** Apply calls a rebuild keeps in flight (see `replayFrom`). */
const REBUILD_APPLIES_IN_FLIGHT = 2;

/** Most tasks one purge call of a rebuild removes per command (one short Lua script). */
const REBUILD_PURGE_BATCH = 1000;

/** Replays the event log into the projection. */
export class EventProjector {
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    private readonly store: ProjectionStore,
    private readonly logger: Logger,
    /** Events per apply call; default 1 000. */
    private readonly batchSize: number = 1000,
    /**
     * Retention of terminal tasks. The log outlives it (terminal tasks leave the projection first),
     * so a rebuild purges what the replay brought back past it; without it, nothing is purged.
     */
    private readonly retention?: ProjectionRetention,
    /**
     * Runs right after a rebuild's flush, before the replay: puts back what lives outside the task
     * log (the queues' control settings, from the control stream).
     */
    private readonly afterFlush?: () => Promise<unknown>,
  ) {}

  /** Applies everything after the checkpoint. Returns the number of events read. */
  catchUp(onProgress?: (p: ProjectorProgress) => void): Promise<number> {
    return this.serial(async () => {
      const from = (await this.store.checkpoint()) + 1;
      return this.replayFrom(from, onProgress);
    });
  }

  /**
   * Flushes the projection and replays the whole log into it. Live writers may keep applying
   * meanwhile: the replay reapplies whatever the flush removed. Terminal tasks past their retention,
   * which the live projection had already purged, are purged again before the projection is marked
   * built. Returns the number of events.
   */
  rebuild(onProgress?: (p: ProjectorProgress) => void): Promise<number> {
    return this.serial(() => this.rebuildNow(onProgress));
  }

  /**
   * Rebuilds only if the projection is not built, checked once this projector's earlier catch-up
   * or rebuild has finished: the automatic rebuild after Redis lost the projection, which the
   * background loop and a waiting reader may both ask for at once. True if it rebuilt.
   */
  rebuildIfMissing(): Promise<boolean> {
    return this.serial(async () => {
      if (await this.store.isBuilt()) return false;
      await this.rebuildNow();
      return true;
    });
  }

  private async rebuildNow(onProgress?: (p: ProjectorProgress) => void): Promise<number> {
    const started = Date.now();
    const flushed = await this.store.flush();
    await this.afterFlush?.();
    // Reindex: the flush (a SCAN) may have removed the index entries of a task whose hash a
    // live writer re-created behind the scan; the replay puts such tasks back (see apply.lua).
    const events = await this.replayFrom(1, onProgress, true);
    const purged = await this.purgeExpired();
    await this.store.markBuilt();
    const ms = Date.now() - started;
    this.logger.info(
      {
        events,
        flushedKeys: flushed,
        purged,
        ms,
        eventsPerSecond: Math.round((events * 1000) / Math.max(1, ms)),
      },
      'projection rebuilt',
    );
    return events;
  }

  /** Removes every terminal task past its retention (all of them, in bounded batches); returns how many. */
  private async purgeExpired(): Promise<number> {
    if (!this.retention) return 0;
    const now = Date.now();
    let purged = 0;
    for (const command of await this.store.commands()) {
      for (;;) {
        const removed = await this.store.purge(
          command,
          now - this.retention.completedMs,
          now - this.retention.deadMs,
          REBUILD_PURGE_BATCH,
        );
        purged += removed.length;
        if (removed.length < REBUILD_PURGE_BATCH) break;
      }
    }
    return purged;
  }

  /** Stream sequences the projection is behind the log. */
  async lag(): Promise<number> {
    const [last, checkpoint] = await Promise.all([this.log.lastSeq(), this.store.checkpoint()]);
    return Math.max(0, last - checkpoint);
  }

  private async replayFrom(
    fromSeq: number,
    onProgress?: (p: ProjectorProgress) => void,
    reindex = false,
  ): Promise<number> {
    let events = 0;
    // A rebuild keeps two applies in flight, so Redis applies one batch while this process decodes
    // the next. Order is kept: one connection, and each batch's commands are written when its apply
    // starts. Only a rebuild may: if an apply failed, a later one would already have moved the
    // checkpoint past it, which a rebuild survives (it is redone whole: nothing marks it built) but
    // a catch-up would not (it resumes from the checkpoint).
    const maxInFlight = reindex ? REBUILD_APPLIES_IN_FLIGHT : 1;
    const inFlight: Promise<void>[] = [];
    const summary = await this.log.replay({
      fromSeq,
      batchSize: this.batchSize,
      onBatch: async (batch) => {
        if (batch.length === 0) return;
        const lastSeq = (batch[batch.length - 1] as { seq: number }).seq;
        // The `now` of a replay decides ready vs delayed exactly as a live apply would; the
        // checkpoint rides in the same round trip, after the batch.
        const applied = this.store.apply(batch, Date.now(), { reindex, checkpoint: lastSeq }).then(() => {
          events += batch.length;
          onProgress?.({ events, lastSeq });
        });
        inFlight.push(applied);
        // Rejections surface here (or below), stopping the replay; none is left unobserved.
        applied.catch(() => undefined);
        if (inFlight.length >= maxInFlight) await inFlight.shift();
      },
    });
    for (const applied of inFlight.splice(0)) await applied;
    return summary.events;
  }

  /** One catch-up or rebuild at a time per process. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.then(work, work);
    this.running = next.catch(() => undefined);
    return next;
  }
}
