/**
 * The queue side of the projection: a queue's settings as the claim script enforces them (applied
 * from control events, idempotently by control-stream sequence), and the health figures operators
 * and autoscalers read (ready work per group key, tasks leased per group key; the age of the
 * oldest ready task is `ready-age.ts`'s). Key layout: `scripts/includes/groups.lua`.
 */
import type { QueueSettings } from '../contract/queue-controls.js';
import type { GroupFigures } from '../contract/views.js';
import type { ProjectionKeys } from './keys.js';
import { defineScripts, type ScriptCommands } from './lua-scripts.js';
import type { RedisClient } from './redis-client.js';
import { execOrThrow, orUnavailable } from './redis-exec.js';

/** A queue's health figures. */
export interface QueueHealth {
  /** Ready tasks with a group key (they are also in the queue's ready count). */
  groupedReady: number;
  /** Group keys with ready or leased tasks. */
  groups: number;
  /** The busiest group keys by ready tasks (at most the limit asked for). */
  topGroups: GroupFigures[];
}

const num = (v: string | null | undefined): number => (v ? Number(v) : 0);

/** Reads and writes the queue-level keys of the projection. */
export class QueueStore {
  private readonly redis: RedisClient & ScriptCommands;

  constructor(
    redis: RedisClient,
    /** Key names. */
    private readonly keys: ProjectionKeys,
  ) {
    this.redis = defineScripts(redis);
  }

  /**
   * Applies a queue's settings from its control event `seq`; false when the projection already
   * holds that event or a later one.
   */
  async applySettings(command: string, seq: number, settings: QueueSettings): Promise<boolean> {
    const opt = (n: number | undefined): string => (n === undefined ? '' : String(n));
    const applied = await orUnavailable(
      this.redis.codeqQueueSettings(
        this.keys.commandBase(command),
        seq,
        settings.paused ? 1 : 0,
        opt(settings.concurrency),
        opt(settings.groupConcurrency),
        opt(settings.rate?.limit),
        opt(settings.rate?.intervalMs),
        opt(settings.groupRate?.limit),
        opt(settings.groupRate?.intervalMs),
      ),
    );
    return Number(applied) === 1;
  }

  /** The control-stream sequence of the settings the projection holds for `command` (0: none). */
  async settingsSeq(command: string): Promise<number> {
    return num(await orUnavailable(this.redis.hget(`${this.keys.commandBase(command)}q`, 'seq')));
  }

  /** The cheap figures of one queue for each metrics scrape: group keys with ready work, grouped ready tasks. */
  async summary(command: string): Promise<{ groups: number; groupedReady: number }> {
    const base = this.keys.commandBase(command);
    const [ready, groups] = (await execOrThrow(
      this.redis.pipeline().hget(`${base}q`, 'gready').hlen(`${base}grn`),
    )) as [string | null, number];
    return { groups: Number(groups ?? 0), groupedReady: num(ready) };
  }

  /** Health figures of one queue; `topGroups` lists at most `groupLimit` group keys. */
  async health(command: string, groupLimit = 20): Promise<QueueHealth> {
    const base = this.keys.commandBase(command);
    const [ready, readyBy, leasedBy] = (await execOrThrow(
      this.redis.pipeline().hget(`${base}q`, 'gready').hgetall(`${base}grn`).hgetall(`${base}gc`),
    )) as [string | null, Record<string, string>, Record<string, string>];
    const names = new Set([...Object.keys(readyBy), ...Object.keys(leasedBy)]);
    const all: GroupFigures[] = [...names].map((groupKey) => ({
      groupKey,
      ready: num(readyBy[groupKey]),
      leased: num(leasedBy[groupKey]),
    }));
    all.sort((a, b) => b.ready - a.ready || b.leased - a.leased || (a.groupKey < b.groupKey ? -1 : 1));
    return { groupedReady: num(ready), groups: names.size, topGroups: all.slice(0, groupLimit) };
  }
}
