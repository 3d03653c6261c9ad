/**
 * Queue controls (pause, resume, limits): the write path of the queue aggregate, shaped like the
 * task's (`intent-handler.ts`): load the queue's last control event → decide (`queue.decider.ts`)
 * → append with the subject's expected sequence → apply to the projection → retry on conflict.
 * Every instance also watches the control stream, so a change made anywhere reaches its
 * projection (idempotent by sequence), its hand-off decisions and its waiting claimers at once.
 */
import type { Logger } from 'pino';
import { decideQueue, type QueueIntent } from '../actors/queue.decider.js';
import { DEFAULT_QUEUE_SETTINGS, isControlled, type QueueSettings } from '../contract/queue-controls.js';
import { CodeqError } from '../errors.js';
import { CONTROL_EVENT_SCHEMA_VERSION, type StoredControlEvent } from '../events/control-event.schema.js';
import type { ControlLog } from '../events/control-log.js';
import type { QueueStore } from '../projections/queue.store.js';

/** Times a control is decided again after another control of the same queue landed first. */
const CONFLICT_RETRIES = 5;

/** What a control answered. */
export interface QueueControlOutcome {
  /** The queue's settings after it. */
  settings: QueueSettings;
  /** The event it wrote; undefined when it changed nothing (pausing a paused queue). */
  event?: StoredControlEvent | undefined;
}

/** Dependencies of {@link QueueControls}. */
export interface QueueControlsDeps {
  /** The control stream. */
  log: ControlLog;
  /** The projection's queue keys. */
  store: QueueStore;
  /** Called when a queue's settings changed (by anyone): wakes its waiting claimers. */
  onChange: (command: string, settings: QueueSettings) => void;
  /** Logger. */
  logger: Logger;
  /** Clock, epoch ms; default `Date.now`. */
  now?: () => number;
}

/** The queue controls of one engine. */
export class QueueControls {
  private readonly cache = new Map<string, { seq: number; settings: QueueSettings }>();
  private stopWatch?: () => void;

  constructor(private readonly deps: QueueControlsDeps) {}

  /**
   * Provisions the control stream, starts watching it and brings the projection and the cache up
   * to every queue's last control event.
   */
  async start(): Promise<void> {
    await this.deps.log.provision();
    this.stopWatch = await this.deps.log.watch(
      (event) => void this.absorb(event).catch((err: unknown) => this.warn(err, event.command)),
      (err) => this.warn(err),
    );
    await this.reapplyAll();
  }

  /** Stops watching. */
  stop(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
  }

  /** Re-applies every queue's last control event to the projection (after a rebuild's flush). */
  async reapplyAll(): Promise<number> {
    const events = await this.deps.log.lastOfEveryQueue();
    await Promise.all(events.map((e) => this.absorb(e, true)));
    return events.length;
  }

  /** A queue's settings as this engine last saw them (default: running, unlimited). */
  settingsOf(command: string): QueueSettings {
    return this.cache.get(command)?.settings ?? DEFAULT_QUEUE_SETTINGS;
  }

  /** True when the claim path must check `command`'s controls (its tasks are never handed off). */
  isControlled(command: string): boolean {
    const entry = this.cache.get(command);
    return entry !== undefined && isControlled(entry.settings);
  }

  /** True when a task leaving its lease may let another be claimed (a concurrency limit). */
  hasConcurrencyLimit(command: string): boolean {
    const s = this.cache.get(command)?.settings;
    return s !== undefined && (s.concurrency !== undefined || s.groupConcurrency !== undefined);
  }

  /**
   * Decides and writes a control of `command` for `actor` (`admin:<sub>`). Answers the settings
   * after it; an intent that changes nothing writes nothing.
   *
   * @throws CodeqError `UNAVAILABLE`/`TIMEOUT` when the log cannot take it (nothing changed), or
   *   `VERSION_CONFLICT` when other operators kept changing the queue through every retry.
   */
  async run(command: string, intent: QueueIntent, actor: string): Promise<QueueControlOutcome> {
    for (let attempt = 0; ; attempt++) {
      const last = await this.deps.log.last(command);
      const current = last?.settings ?? DEFAULT_QUEUE_SETTINGS;
      const decision = decideQueue(current, intent);
      if (!decision.changed) {
        if (last) await this.absorb(last);
        return { settings: current };
      }
      const event = {
        v: CONTROL_EVENT_SCHEMA_VERSION,
        type: decision.type,
        command,
        at: this.now(),
        actor,
        data: decision.data,
        settings: decision.settings,
      } as StoredControlEvent;
      try {
        event.seq = await this.deps.log.append(event, last?.seq ?? 0);
      } catch (err) {
        if (err instanceof CodeqError && err.code === 'VERSION_CONFLICT' && attempt < CONFLICT_RETRIES)
          continue;
        throw err;
      }
      await this.absorb(event);
      return { settings: event.settings, event };
    }
  }

  /** A queue's control events, oldest first (who paused or limited it, and when). */
  history(command: string, limit?: number): Promise<StoredControlEvent[]> {
    return this.deps.log.history(command, limit);
  }

  /**
   * Takes a control event into the projection and the cache (idempotent; an older event than the
   * one held is ignored) and tells waiting claimers when the settings changed.
   */
  private async absorb(event: StoredControlEvent, force = false): Promise<void> {
    const held = this.cache.get(event.command);
    const newer = held === undefined || held.seq < event.seq;
    if (newer) this.cache.set(event.command, { seq: event.seq, settings: event.settings });
    const applied = await this.deps.store.applySettings(event.command, event.seq, event.settings);
    if (newer || applied || force) this.deps.onChange(event.command, event.settings);
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private warn(err: unknown, command?: string): void {
    this.deps.logger.warn(
      { err, command },
      'queue control not applied; the next start or rebuild applies it',
    );
  }
}
