/**
 * The queue side of the projection: a queue's settings as the claim script enforces them (applied
 * from control events, idempotently by control-stream sequence), and the health figures operators
 * and autoscalers read (ready work per group key, tasks leased per group key, age of the oldest
 * ready task). Key layout: `scripts/includes/groups.lua`.
 */
import type { QueueSettings } from '../contract/queue-controls.js';
import type { GroupFigures } from '../contract/views.js';
import { FIELD } from './event.projection.js';
import type { ProjectionKeys } from './keys.js';
import { defineScripts, type ScriptCommands } from './lua-scripts.js';
import { MAX_PRIORITY, PRIORITY_STEP } from './op-layout.js';
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
  /**
   * When the oldest ready task became ready, epoch ms (undefined: nothing ready). Exact for tasks
   * without a group key and for the busiest groups; other groups' tasks are not looked at.
   */
  oldestReadyAt?: number | undefined;
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

  /** Health figures of one queue; `topGroups` lists at most `groupLimit` group keys. */
  async health(command: string, now: number, groupLimit = 20): Promise<QueueHealth> {
    const base = this.keys.commandBase(command);
    const pipeline = this.redis
      .pipeline()
      .hget(`${base}q`, 'gready')
      .hgetall(`${base}grn`)
      .hgetall(`${base}gc`);
    // The oldest ready task has the lowest readySeq: the head of each priority band of `ready`.
    for (let p = 0; p <= MAX_PRIORITY; p++) {
      const lo = (MAX_PRIORITY - p) * PRIORITY_STEP;
      pipeline.zrangebyscore(`${base}ready`, lo, lo + PRIORITY_STEP - 1, 'LIMIT', 0, 1);
    }
    const replies = (await execOrThrow(pipeline)) as unknown[];
    const readyBy = replies[1] as Record<string, string>;
    const leasedBy = replies[2] as Record<string, string>;
    const names = new Set([...Object.keys(readyBy), ...Object.keys(leasedBy)]);
    const all: GroupFigures[] = [...names].map((groupKey) => ({
      groupKey,
      ready: num(readyBy[groupKey]),
      leased: num(leasedBy[groupKey]),
    }));
    all.sort((a, b) => b.ready - a.ready || b.leased - a.leased || (a.groupKey < b.groupKey ? -1 : 1));
    const topGroups = all.slice(0, groupLimit);
    const heads: { key: string; id: string }[] = [];
    for (const ids of replies.slice(3) as string[][]) if (ids[0]) heads.push({ key: 'ready', id: ids[0] });
    const oldest = await this.oldestReadyAt(base, heads, topGroups, now);
    return {
      groupedReady: num(replies[0] as string | null),
      groups: names.size,
      topGroups,
      oldestReadyAt: oldest,
    };
  }

  /** The earliest time any of the candidates (and the heads of the busiest groups) became ready. */
  private async oldestReadyAt(
    base: string,
    heads: { key: string; id: string }[],
    groups: readonly GroupFigures[],
    now: number,
  ): Promise<number | undefined> {
    const withReady = groups.filter((g) => g.ready > 0);
    if (withReady.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const g of withReady) pipeline.zrange(`${base}gr:${g.groupKey}`, '0', '0');
      const replies = (await execOrThrow(pipeline)) as string[][];
      replies.forEach((ids) => {
        if (ids[0]) heads.push({ key: 'group', id: ids[0] });
      });
    }
    if (heads.length === 0) return undefined;
    const pipeline = this.redis.pipeline();
    for (const h of heads) pipeline.hmget(`${base}t:${h.id}`, FIELD.updatedAt, FIELD.createdAt);
    const times = (await execOrThrow(pipeline)) as (string | null)[][];
    let oldest: number | undefined;
    for (const [updated, created] of times) {
      // A ready task's last event is the one that made it ready (its `ua`; absent: created).
      const t = Number(updated ?? created ?? now);
      if (oldest === undefined || t < oldest) oldest = t;
    }
    return oldest;
  }
}
