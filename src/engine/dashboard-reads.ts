/**
 * The dashboard's reads over the projection (issue 17): every queue's counts with the last hour's
 * per-minute series (written by the projection from the events, `dashboard-counts.lua`), and the
 * workers seen lately. Reads only, apart from trimming the workers index of entries past any
 * window a reader asks for.
 */
import type { QueueStats } from '../contract/views.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import { execOrThrow } from '../projections/redis-exec.js';
import { pipelineOf } from '../projections/redis-slots.js';

/** Length of a series bucket, ms. */
export const BUCKET_MS = 60_000;
/** Buckets of a series (the last hour). */
export const SERIES_BUCKETS = 60;
/** A worker counts as active when seen this recently, ms. */
export const WORKER_WINDOW_MS = 10 * 60_000;
/** Workers index entries older than this are dropped when read, ms. */
const WORKER_KEEP_MS = 60 * 60_000;
/** Most leased tasks read per command to count what each worker holds. */
const HELD_SCAN_MAX = 10_000;

/** One queue of the overview. */
export interface QueueOverview extends QueueStats {
  /** Age of the longest-waiting ready task, ms (0 when none is ready). */
  oldestReadyAgeMs: number;
  /** Tasks enqueued per second over the last minute or so (this minute and the one before). */
  enqueuedPerSec: number;
  /** Tasks completed per second, same window. */
  completedPerSec: number;
  /** failed / (completed + failed) over the last hour; 0 when none. */
  failureRate: number;
  /** The last hour, one bucket per minute, oldest first (the last bucket is the current minute). */
  series: { bucketMs: number; start: number; enqueued: number[]; completed: number[]; failed: number[] };
}

/** The overview: every queue the caller may see, and how many workers are active. */
export interface Overview {
  now: number;
  queues: QueueOverview[];
  workers: { active: number };
}

/** A worker seen lately. */
export interface WorkerSeen {
  workerId: string;
  /** Tasks it holds a lease on now. */
  tasksHeld: number;
  /** Its last claim, heartbeat, nack or result, epoch ms. */
  lastSeenAt: number;
  /** Commands it worked on in the window. */
  commands: string[];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const round = (x: number) => Math.round(x * 1000) / 1000;

/** The dashboard's reads. */
export class DashboardReads {
  constructor(
    private readonly deps: {
      store: ProjectionStore;
      /** Counts of every command (with paused), as `GET /admin/queues` answers them. */
      allStats: () => Promise<QueueStats[]>;
    },
  ) {}

  /** The overview of the commands `visible` accepts. */
  async overview(visible: (command: string) => boolean, now = Date.now()): Promise<Overview> {
    const stats = (await this.deps.allStats()).filter((s) => visible(s.command));
    const commands = stats.map((s) => s.command);
    const [oldest, series, workers] = await Promise.all([
      this.deps.store.oldestReady(commands),
      this.series(commands, now),
      this.workers(visible, now),
    ]);
    const queues = stats.map((s, i): QueueOverview => {
      const counts = series[i] as QueueOverview['series'];
      const since = oldest.get(s.command);
      const last = SERIES_BUCKETS - 1;
      // This minute so far and the whole one before: a rate over 60 to 120 s that never drops to 0
      // at the turn of a minute.
      const window = (now - (counts.start + (last - 1) * BUCKET_MS)) / 1000;
      const recent = (xs: number[]) => round(((xs[last] ?? 0) + (xs[last - 1] ?? 0)) / window);
      const failed = sum(counts.failed);
      const done = sum(counts.completed) + failed;
      return {
        ...s,
        oldestReadyAgeMs: since === undefined ? 0 : Math.max(0, now - since),
        enqueuedPerSec: recent(counts.enqueued),
        completedPerSec: recent(counts.completed),
        failureRate: done === 0 ? 0 : round(failed / done),
        series: counts,
      };
    });
    const active = workers.filter((w) => w.lastSeenAt >= now - WORKER_WINDOW_MS).length;
    return { now, queues, workers: { active } };
  }

  /** Per-minute counts of each command over the last hour (one pipeline). */
  private async series(commands: readonly string[], now: number): Promise<QueueOverview['series'][]> {
    const first = Math.floor(now / BUCKET_MS) - SERIES_BUCKETS + 1;
    const keys = this.deps.store.keys;
    const pipeline = pipelineOf(this.deps.store.client);
    for (const command of commands)
      for (let m = first; m < first + SERIES_BUCKETS; m++)
        pipeline.hmget(keys.minuteCounts(command, m), 'e', 'd', 'f');
    const replies = commands.length === 0 ? [] : ((await execOrThrow(pipeline)) as (string | null)[][]);
    return commands.map((_c, i) => {
      const rows = replies.slice(i * SERIES_BUCKETS, (i + 1) * SERIES_BUCKETS);
      const column = (j: number) => rows.map((r) => Number(r[j] ?? 0));
      return {
        bucketMs: BUCKET_MS,
        start: first * BUCKET_MS,
        enqueued: column(0),
        completed: column(1),
        failed: column(2),
      };
    });
  }

  /** Workers seen on the commands `visible` accepts within `windowMs`, most recent first. */
  async workers(visible: (command: string) => boolean, now = Date.now(), windowMs = WORKER_WINDOW_MS) {
    const { store } = this.deps;
    const commands = (await store.commands()).filter(visible);
    if (commands.length === 0) return [];
    const pipeline = pipelineOf(store.client);
    for (const command of commands) {
      const key = store.keys.workersSeen(command);
      pipeline.zremrangebyscore(key, '-inf', `(${now - WORKER_KEEP_MS}`);
      pipeline.zrangebyscore(key, String(now - windowMs), '+inf', 'WITHSCORES');
      pipeline.zrange(store.keys.inflight(command), '0', String(HELD_SCAN_MAX - 1));
    }
    const replies = (await execOrThrow(pipeline)) as unknown[];
    const seen = new Map<string, WorkerSeen>();
    const held: { command: string; ids: string[] }[] = [];
    commands.forEach((command, i) => {
      const flat = replies[i * 3 + 1] as string[];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const workerId = flat[j] as string;
        const at = Number(flat[j + 1]);
        const w = seen.get(workerId) ?? { workerId, tasksHeld: 0, lastSeenAt: 0, commands: [] };
        w.lastSeenAt = Math.max(w.lastSeenAt, at);
        w.commands.push(command);
        seen.set(workerId, w);
      }
      held.push({ command, ids: replies[i * 3 + 2] as string[] });
    });
    await this.countHeld(held, seen);
    return [...seen.values()].sort((a, b) => b.lastSeenAt - a.lastSeenAt);
  }

  /** Adds each leased task to its holder's `tasksHeld` (holders not seen in the window are left out). */
  private async countHeld(held: { command: string; ids: string[] }[], seen: Map<string, WorkerSeen>) {
    const { store } = this.deps;
    const pipeline = pipelineOf(store.client);
    for (const { command, ids } of held)
      for (const id of ids) pipeline.hget(store.keys.task(command, id), 'w');
    if (pipeline.length === 0) return;
    for (const holder of (await execOrThrow(pipeline)) as (string | null)[]) {
      const w = holder === null ? undefined : seen.get(holder);
      if (w) w.tasksHeld += 1;
    }
  }
}
