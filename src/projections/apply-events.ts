/**
 * Applying events to the projection: each event becomes its compact op (`event.projection.ts`), a
 * batch goes to `apply.lua` as one JSON argument per command, with the id index, the idempotency
 * keys and the command set written in the same round trip.
 */
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import { applyArgument, FIELD, projectEvent, type ProjectionOp } from './event.projection.js';
import type { ProjectionKeys } from './keys.js';
import { opIndex } from './op-layout.js';
import { scriptPipeline, type ScriptCommands } from './lua-scripts.js';
import { isCluster, type RedisClient } from './redis-client.js';
import { execOrThrow, redisUnavailable } from './redis-exec.js';
import { pipelineOf } from './redis-slots.js';

/** Where a handed-off task's reservation deadline goes in its `enqueued` op (its last field). */
const RESERVED_UNTIL = opIndex('E', 'reservedUntil');

/** Options of an apply. */
export interface ApplyOptions {
  /** A rebuild's replay: a skipped event's task that sits in no index is put back (see `apply.lua`). Default false. */
  reindex?: boolean;
  /** Moves the projector's checkpoint to this stream sequence in the same round trip, after the scripts. */
  checkpoint?: number;
  /**
   * New tasks (`enqueued` events) to put into `reserved` until `until` (epoch ms) instead of ready:
   * tasks handed straight to a waiting claimer of this engine. If the claimer never appends its
   * claim, the reservation lapses and a reserve round returns the task to ready.
   */
  reserve?: { ids: ReadonlySet<string>; until: number };
}

/**
 * Applies events in one round trip: index entries of new tasks first, then one script call per
 * command. Already-applied events (sequence not above the task's version) are skipped.
 * With `reindex` (a rebuild's replay), a skipped event's task that sits in no index is put back
 * into the one its state calls for (see `apply.lua`). With `checkpoint`, the projector's checkpoint
 * moves to it in the same round trip, after the scripts. Returns how many events changed the
 * projection.
 *
 * @param redis - a client with the projection's scripts defined (`defineScripts`)
 * @param keys - the deployment's key names
 * @param idempotencyTtlMs - how long an idempotency key lives after its task's creation, ms
 * @param events - stored events, in stream order
 * @param now - epoch ms that decides ready vs delayed (and the idempotency keys' remaining TTL)
 * @param options - rebuild reindexing and the checkpoint to move
 */
export async function applyEvents(
  redis: RedisClient & ScriptCommands,
  keys: ProjectionKeys,
  idempotencyTtlMs: number,
  events: readonly StoredTaskEvent[],
  now: number,
  options: ApplyOptions = {},
): Promise<number> {
  if (events.length === 0) return 0;
  // A task deleted (DLQ delete) keeps no id index nor idempotency key, in a live apply as in a
  // rebuild's replay (where its enqueue wrote them again): an earlier enqueue's key is read now,
  // before the script drops the task's hash; one enqueued in this batch writes none.
  const deleted = events.filter((e) => e.type === 'deleted');
  const deletedIds = new Set(deleted.map((e) => e.taskId));
  const deletedKeys =
    deleted.length === 0
      ? []
      : ((await execOrThrow(
          deleted.reduce(
            (p, e) => p.hget(keys.task(e.command, e.taskId), FIELD.idempotencyKey),
            pipelineOf(redis),
          ),
        )) as (string | null)[]);
  const byCommand = new Map<string, ProjectionOp[]>();
  // Only enqueues (and snapshots) need more than the script: claims and results of one command,
  // the hot path, go out as one script call without building a pipeline.
  let pipeline: ReturnType<typeof scriptPipeline> | undefined;
  const pipe = () => (pipeline ??= scriptPipeline(pipelineOf(redis)));
  const seenCommands = new Set<string>();
  const indexEntries: string[] = [];
  for (const event of events) {
    let ops = byCommand.get(event.command);
    if (!ops) byCommand.set(event.command, (ops = []));
    const op = projectEvent(event);
    if (options.reserve?.ids.has(event.taskId) && event.type === 'enqueued')
      op[RESERVED_UNTIL] = String(options.reserve.until);
    ops.push(op);
    if (event.type === 'deleted') {
      pipe().del(keys.taskIndex(event.taskId));
      const key = deletedKeys[deleted.indexOf(event)];
      if (key) pipe().codeqDeleteIfEqual(keys.idempotency(key), `${event.taskId} ${event.command}`);
    }
    // A snapshot is the first event of a rolled-up task: it carries the same index entries.
    if (event.type !== 'enqueued' && event.type !== 'snapshot') continue;
    const gone = deletedIds.has(event.taskId);
    if (!gone) indexEntries.push(keys.taskIndex(event.taskId), event.command);
    const key = gone ? undefined : event.data.idempotencyKey;
    const createdAt = event.type === 'snapshot' ? event.data.createdAt : event.at;
    const ttlMs = createdAt + idempotencyTtlMs - now;
    if (key !== undefined && ttlMs > 0) {
      pipe().set(keys.idempotency(key), `${event.taskId} ${event.command}`, 'PX', ttlMs, 'NX');
    }
    if (!seenCommands.has(event.command)) {
      seenCommands.add(event.command);
      pipe().sadd(keys.commands(), event.command);
    }
  }
  const reindex = options.reindex ? 1 : 0;
  if (pipeline === undefined && byCommand.size === 1 && options.checkpoint === undefined) {
    const [command, ops] = byCommand.entries().next().value as [string, ProjectionOp[]];
    try {
      return Number(await redis.codeqApply(keys.commandBase(command), now, reindex, applyArgument(ops)));
    } catch (err) {
      throw redisUnavailable(err);
    }
  }
  const p = pipe();
  // Index entries go before the scripts (a crash in between is healed by re-applying), all in one
  // MSET: one command per batch rather than per task (per slot on a cluster).
  if (indexEntries.length > 0) p.mset(...indexEntries);
  const scriptSlots: number[] = [];
  let slot = (p as unknown as { length: number }).length;
  for (const [command, ops] of byCommand) {
    p.codeqApply(keys.commandBase(command), now, reindex, applyArgument(ops));
    scriptSlots.push(slot++);
  }
  // The checkpoint must never pass an event that is not applied (a catch-up resumes after it). One
  // connection serves it after the scripts; a cluster runs slots in parallel, so there it waits.
  const cluster = isCluster(redis);
  if (options.checkpoint !== undefined && !cluster) p.codeqCheckpoint(keys.checkpoint(), options.checkpoint);
  const results = await execOrThrow(p);
  if (options.checkpoint !== undefined && cluster) {
    await redis.codeqCheckpoint(keys.checkpoint(), options.checkpoint).catch((err: unknown) => {
      throw redisUnavailable(err);
    });
  }
  return scriptSlots.reduce((sum, i) => sum + Number(results[i] ?? 0), 0);
}
