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

/** Replays the event log into the projection. */
export class EventProjector {
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    private readonly store: ProjectionStore,
    private readonly logger: Logger,
    /** Events per apply call; default 1 000. */
    private readonly batchSize: number = 1000,
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
   * meanwhile: the replay reapplies whatever the flush removed. Returns the number of events.
   */
  rebuild(onProgress?: (p: ProjectorProgress) => void): Promise<number> {
    return this.serial(async () => {
      const started = Date.now();
      const flushed = await this.store.flush();
      const events = await this.replayFrom(1, onProgress);
      await this.store.markBuilt();
      const ms = Date.now() - started;
      this.logger.info(
        { events, flushedKeys: flushed, ms, eventsPerSecond: Math.round((events * 1000) / Math.max(1, ms)) },
        'projection rebuilt',
      );
      return events;
    });
  }

  /** Stream sequences the projection is behind the log. */
  async lag(): Promise<number> {
    const [last, checkpoint] = await Promise.all([this.log.lastSeq(), this.store.checkpoint()]);
    return Math.max(0, last - checkpoint);
  }

  private async replayFrom(fromSeq: number, onProgress?: (p: ProjectorProgress) => void): Promise<number> {
    let events = 0;
    const summary = await this.log.replay({
      fromSeq,
      batchSize: this.batchSize,
      onBatch: async (batch) => {
        if (batch.length === 0) return;
        // The `now` of a replay decides ready vs delayed exactly as a live apply would.
        await this.store.apply(batch, Date.now());
        const lastSeq = (batch[batch.length - 1] as { seq: number }).seq;
        await this.store.saveCheckpoint(lastSeq);
        events += batch.length;
        onProgress?.({ events, lastSeq });
      },
    });
    return summary.events;
  }

  /** One catch-up or rebuild at a time per process. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.then(work, work);
    this.running = next.catch(() => undefined);
    return next;
  }
}
