/**
 * The Redis projection: applies events (idempotently, by sequence), reserves tasks for claims and
 * answers reads. Holds no fact that is not in the log, except short-lived claim reservations.
 */
import { CodeqError } from '../errors.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import { applyEvents, type ApplyOptions } from './apply-events.js';
import { FIELD } from './event.projection.js';
import type { ProjectionKeys } from './keys.js';
import { defineScripts, scriptPipeline, type ScriptCommands } from './lua-scripts.js';
import { isCluster, type RedisClient } from './redis-client.js';
import { execOrThrow, orUnavailable } from './redis-exec.js';
import { oldestReadySince } from './ready-age.js';
import { mgetAny, pipelineOf, unlinkOnEveryMaster } from './redis-slots.js';
import { hashFromFlat, type TaskHash } from './task-record.js';

/** A task read from the projection. */
export interface StoredTask {
  /** Task id. */
  id: string;
  /** Command. */
  command: string;
  /** Its hash. */
  hash: TaskHash;
}

/** What one reserve round found for a command. */
export interface ReserveResult {
  /** Tasks reserved for this claimer (still `pending` in the hash). */
  reserved: StoredTask[];
  /** Tasks whose lease ran out, hidden for the reservation time while the caller repairs them. */
  expired: StoredTask[];
  /** Earliest due time of a delayed task, epoch ms. */
  nextDueAt?: number | undefined;
  /** Earliest lease deadline, epoch ms. */
  nextLeaseAt?: number | undefined;
  /** Delayed tasks (and lapsed reservations) this round made ready. */
  promoted: number;
}

/** Keys one step of a flush scans (and deletes): short steps, so Redis keeps serving others. */
const FLUSH_SCAN_COUNT = 2000;

/** Which index a listing reads. */
export type TaskIndexName = 'ready' | 'delayed' | 'inflight' | 'dlq' | 'done';

type NestedReply = [string, string[]][];

/** Hash fields a decision reads (see `snapshotFromHash`); version first, so a missing task reads null. */
export const SNAPSHOT_FIELDS: readonly string[] = [
  FIELD.version,
  FIELD.state,
  FIELD.attempts,
  FIELD.maxAttempts,
  FIELD.worker,
  FIELD.leaseUntil,
  FIELD.runAt,
];

/** Reads and writes the projection of one codeq deployment (one key prefix). */
/** A task {@link ProjectionStore.purge} removed. */
export interface PurgedTask {
  /** Its id. */
  id: string;
  /** Its idempotency key, when it was enqueued with one. */
  idempotencyKey?: string;
}

export class ProjectionStore {
  private readonly redis: RedisClient & ScriptCommands;

  constructor(
    redis: RedisClient,
    /** Key names. */
    readonly keys: ProjectionKeys,
    /** Idempotency keys live this long after the task's creation, ms (default 24 h). */
    private readonly idempotencyTtlMs: number = 24 * 3600_000,
  ) {
    this.redis = defineScripts(redis);
  }

  /** The underlying client (for health checks and tests). */
  get client(): RedisClient {
    return this.redis;
  }

  /**
   * Applies events in one round trip (see {@link applyEvents}): index entries of new tasks first,
   * then one script call per command; already-applied events are skipped. Returns how many events
   * changed the projection.
   */
  apply(
    events: readonly StoredTaskEvent[],
    now: number = Date.now(),
    options: ApplyOptions = {},
  ): Promise<number> {
    return applyEvents(this.redis, this.keys, this.idempotencyTtlMs, events, now, options);
  }

  /** One claim round for `command` (see `reserve.lua`). */
  async reserve(
    command: string,
    options: { now: number; count: number; reserveMs: number; inspectLimit: number; promoteLimit: number },
  ): Promise<ReserveResult> {
    let reply: [NestedReply | object, NestedReply | object, string, string, number];
    try {
      const json = (await this.redis.codeqReserve(
        this.keys.commandBase(command),
        options.now,
        options.count,
        options.reserveMs,
        options.inspectLimit,
        options.promoteLimit,
      )) as string;
      reply = JSON.parse(json) as typeof reply;
    } catch (err) {
      throw new CodeqError('UNAVAILABLE', 'redis reserve failed', { cause: err });
    }
    const toTasks = (rows: NestedReply | object): StoredTask[] =>
      Array.isArray(rows) ? rows.map(([id, flat]) => ({ id, command, hash: hashFromFlat(flat) })) : [];
    return {
      reserved: toTasks(reply[0]),
      expired: toTasks(reply[1]),
      nextDueAt: reply[2] === '' ? undefined : Number(reply[2]),
      nextLeaseAt: reply[3] === '' ? undefined : Number(reply[3]),
      promoted: Number(reply[4]),
    };
  }

  /** Live tasks of a command whose oldest event in the log is older than `before` (oldest first). */
  async aging(command: string, before: number, limit: number): Promise<string[]> {
    return orUnavailable(
      this.redis.zrangebyscore(this.keys.age(command), '-inf', `(${before}`, 'LIMIT', 0, limit),
    );
  }

  /** Returns reserved tasks that will not be claimed after all to ready. */
  async release(command: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length > 0) {
      await orUnavailable(this.redis.codeqRelease(this.keys.commandBase(command), ...taskIds));
    }
  }

  /** The command of a task id, from the index. */
  async commandOf(taskId: string): Promise<string | undefined> {
    return (await orUnavailable(this.redis.get(this.keys.taskIndex(taskId)))) ?? undefined;
  }

  /** A task's hash, or undefined when the projection does not know it. */
  async load(taskId: string, command?: string): Promise<StoredTask | undefined> {
    const cmd = command ?? (await this.commandOf(taskId));
    if (cmd === undefined) return undefined;
    const hash = await orUnavailable(this.redis.hgetall(this.keys.task(cmd, taskId)));
    return Object.keys(hash).length === 0 ? undefined : { id: taskId, command: cmd, hash };
  }

  /**
   * The decision snapshots of tasks by id, in two round trips (index, then the few fields a decision
   * reads); `undefined` where unknown. Far cheaper than whole hashes, which carry payloads.
   */
  async loadAll(
    taskIds: readonly string[],
    /** The command of each task when the caller knows it (saves the index read); checked, not trusted. */
    commandHints?: readonly (string | undefined)[],
  ): Promise<(StoredTask | undefined)[]> {
    const out: (StoredTask | undefined)[] = new Array(taskIds.length).fill(undefined);
    if (taskIds.length === 0) return out;
    const commands: (string | null)[] = taskIds.map((_, i) => commandHints?.[i] ?? null);
    const unknown = commands.flatMap((c, i) => (c === null ? [i] : []));
    if (unknown.length > 0) {
      const found = await orUnavailable(
        mgetAny(
          this.redis,
          unknown.map((i) => this.keys.taskIndex(taskIds[i] as string)),
        ),
      );
      unknown.forEach((i, k) => (commands[i] = found[k] ?? null));
    }
    const byCommand = new Map<string, number[]>();
    commands.forEach((command, i) => {
      if (command === null) return;
      let group = byCommand.get(command);
      if (!group) byCommand.set(command, (group = []));
      group.push(i);
    });
    if (byCommand.size === 0) return out;
    const pipeline = scriptPipeline(pipelineOf(this.redis));
    for (const [command, group] of byCommand) {
      pipeline.codeqSnapshots(this.keys.commandBase(command), ...group.map((i) => taskIds[i] as string));
    }
    const replies = await execOrThrow(pipeline);
    [...byCommand].forEach(([command, group], g) => {
      const rows = JSON.parse(replies[g] as string) as (string | false)[][] | Record<string, never>;
      if (!Array.isArray(rows)) return;
      group.forEach((i, k) => {
        const values = rows[k];
        if (!values || values[0] === false) return;
        const hash: TaskHash = {};
        SNAPSHOT_FIELDS.forEach((field, f) => {
          const value = values[f];
          if (typeof value === 'string') hash[field] = value;
        });
        out[i] = { id: taskIds[i] as string, command, hash };
      });
    });
    return out;
  }

  /** Several tasks of one command in one round trip (missing ones left out). */
  async loadMany(command: string, taskIds: readonly string[]): Promise<StoredTask[]> {
    if (taskIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of taskIds) pipeline.hgetall(this.keys.task(command, id));
    const results = await execOrThrow(pipeline);
    const out: StoredTask[] = [];
    results.forEach((hash, i) => {
      if (hash && Object.keys(hash as object).length > 0) {
        out.push({ id: taskIds[i] as string, command, hash: hash as TaskHash });
      }
    });
    return out;
  }

  /** Looks idempotency keys up: `[taskId, command]` per key, or undefined. */
  async idempotencyLookup(keys: readonly string[]): Promise<([string, string] | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await orUnavailable(
      mgetAny(
        this.redis,
        keys.map((k) => this.keys.idempotency(k)),
      ),
    );
    return values.map((v) => {
      if (!v) return undefined;
      const [id, command] = v.split(' ');
      return id && command ? [id, command] : undefined;
    });
  }

  /** O(1) counts of one command: ready (including reserved and grouped), delayed, in progress, dead. */
  async counts(
    command: string,
  ): Promise<{ ready: number; delayed: number; inProgress: number; dlq: number }> {
    const k = this.keys;
    const r = (await execOrThrow(
      this.redis
        .pipeline()
        .zcard(k.ready(command))
        .zcard(k.reserved(command))
        .zcard(k.delayed(command))
        .zcard(k.inflight(command))
        .zcard(k.dlq(command))
        // Ready tasks with a group key wait in their group's set, counted here.
        .hget(`${k.commandBase(command)}q`, 'gready'),
    )) as [number, number, number, number, number, string | null];
    return { ready: r[0] + r[1] + Number(r[5] ?? 0), delayed: r[2], inProgress: r[3], dlq: r[4] };
  }

  /** When each command's longest-waiting ready task became claimable, epoch ms (ready-age.ts). */
  async oldestReady(commands: readonly string[]): Promise<Map<string, number>> {
    return oldestReadySince(this.redis, this.keys, commands);
  }

  /** Every command that has had tasks. */
  async commands(): Promise<string[]> {
    return (await orUnavailable(this.redis.smembers(this.keys.commands()))).sort();
  }

  /** A page of task ids from one index, in index order, and the index size. */
  async listIds(
    command: string,
    index: TaskIndexName,
    offset: number,
    limit: number,
  ): Promise<{ ids: string[]; total: number }> {
    const key = this.keys[index](command);
    const [ids, total] = (await execOrThrow(
      this.redis
        .pipeline()
        .zrange(key, String(offset), String(offset + limit - 1))
        .zcard(key),
    )) as [string[], number];
    return { ids, total };
  }

  /**
   * Removes terminal tasks changed before the given times from the projection and their index
   * entries; returns the removed task ids.
   */
  async purge(command: string, doneBefore: number, dlqBefore: number, limit: number): Promise<PurgedTask[]> {
    const flat = (await orUnavailable(
      this.redis.codeqPurge(this.keys.commandBase(command), doneBefore, dlqBefore, limit),
    )) as string[];
    const purged: PurgedTask[] = [];
    const pipeline = scriptPipeline(pipelineOf(this.redis));
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const id = flat[i] as string;
      pipeline.del(this.keys.taskIndex(id));
      const key = flat[i + 1];
      if (key) {
        pipeline.codeqDeleteIfEqual(this.keys.idempotency(key), `${id} ${command}`);
        purged.push({ id, idempotencyKey: key });
      } else purged.push({ id });
    }
    if (purged.length > 0) await execOrThrow(pipeline);
    return purged;
  }

  /** Last stream sequence the projector applied (0 when none). */
  async checkpoint(): Promise<number> {
    return Number((await orUnavailable(this.redis.get(this.keys.checkpoint()))) ?? 0);
  }

  /** True once a build of the projection finished and Redis has not lost it since. */
  async isBuilt(): Promise<boolean> {
    return (await orUnavailable(this.redis.exists(this.keys.builtMarker()))) === 1;
  }

  /** Marks the projection as built. */
  async markBuilt(): Promise<void> {
    await orUnavailable(this.redis.set(this.keys.builtMarker(), String(Date.now())));
  }

  /** Deletes every key of this prefix (before a rebuild). */
  async flush(): Promise<number> {
    // The marker goes first: from here on readers wait for the rebuild instead of taking a task the
    // scan already deleted for a missing one (NOT_FOUND while the projection still looked built).
    let deleted = await orUnavailable(this.redis.del(this.keys.builtMarker()));
    // Leader locks stay: deleting the rebuilding leader's own lock would let another instance take
    // the lead and start a concurrent rebuild whose flush wipes this one's replay.
    const locks = this.keys.lock('');
    if (isCluster(this.redis)) {
      return (
        deleted + (await unlinkOnEveryMaster(this.redis, this.keys.everything(), locks, FLUSH_SCAN_COUNT))
      );
    }
    let cursor = '0';
    do {
      // Scanned and deleted inside Redis: the keys never travel to this process and back.
      const [next, count] = (await orUnavailable(
        this.redis.codeqFlush(cursor, this.keys.everything(), FLUSH_SCAN_COUNT, locks),
      )) as [string, number];
      cursor = next;
      deleted += count;
    } while (cursor !== '0');
    return deleted;
  }
}
