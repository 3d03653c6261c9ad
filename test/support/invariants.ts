/**
 * Reusable checks of the design's invariants (design §9) over a deployment's whole event log, and
 * a comparable dump of its Redis projection.
 *
 * Typical use:
 *
 * ```ts
 * const stream = await readStream(engine);
 * expect(noDoubleLease(stream).violations).toEqual([]);
 * expect(atMostOneTerminal(stream).violations).toEqual([]);
 * expect(accountFor(stream, ids).violations).toEqual([]);
 * expect(await projectionDump(redis, prefix)).toEqual(before);
 * ```
 */
import { masterNodes, type RedisClient } from '../../src/projections/redis-client.js';
import { foldEvents } from '../../src/actors/task.decider.js';
import type { TaskStatus } from '../../src/actors/task.types.js';
import type { EventLog } from '../../src/events/event-log.js';
import type { StoredTaskEvent, TaskEventType } from '../../src/events/task-event.schema.js';

/** Every event of a deployment's stream, grouped by task, each task's events in stream order. */
export interface StreamContents {
  /** Task id → its events, oldest first. */
  byTask: Map<string, StoredTaskEvent[]>;
  /** Number of events read. */
  events: number;
  /** Sequence of the last event read (0 for an empty stream). */
  lastSeq: number;
}

/** One broken invariant. */
export interface Violation {
  /** Which check found it. */
  check: 'noDoubleLease' | 'fold' | 'atMostOneTerminal' | 'accountFor';
  /** The task concerned. */
  taskId: string;
  /** What is wrong, in words. */
  message: string;
  /** The task's event types in order (the evidence). */
  history: string[];
}

/** What a check found: per-task counts and the violations (a passing check has none). */
export interface InvariantReport {
  /** Tasks the check looked at. */
  tasks: number;
  /** Tasks per final (folded) state; `corrupt` for a history the machine rejects, `missing` for no events. */
  byFinalState: Partial<Record<TaskStatus | 'corrupt' | 'missing', number>>;
  /** Everything that broke the invariant. */
  violations: Violation[];
}

/** Events that end a lease without a result and make the task claimable again (eventually). */
const RELEASES: ReadonlySet<TaskEventType> = new Set(['nacked', 'abandoned', 'leaseExpired', 'requeued']);
/** Terminal events no event may follow (except the history-only webhook outcomes below). */
const FINAL: ReadonlySet<TaskEventType> = new Set(['completed', 'failed', 'cancelled']);
/** Result callback outcomes: recorded after a terminal event, they neither end nor reopen a task. */
const HISTORY_ONLY: ReadonlySet<TaskEventType> = new Set(['webhookDelivered', 'webhookGaveUp']);

/**
 * Reads the whole stream of the engine's deployment (`log.replay` from sequence 1, up to its end as
 * of the call) and groups the events by task.
 *
 * @param source - anything with the deployment's event log (an `Engine`).
 */
export async function readStream(source: { log: EventLog }): Promise<StreamContents> {
  const byTask = new Map<string, StoredTaskEvent[]>();
  const summary = await source.log.replay({
    fromSeq: 1,
    batchSize: 2000,
    onBatch: async (batch) => {
      for (const event of batch) {
        let list = byTask.get(event.taskId);
        if (!list) byTask.set(event.taskId, (list = []));
        list.push(event);
      }
    },
  });
  return { byTask, events: summary.events, lastSeq: summary.lastSeq };
}

/** The folded final state of a history, or `corrupt` (with the machine's message) when it rejects it. */
function finalState(events: readonly StoredTaskEvent[]): { state: TaskStatus | 'corrupt'; error?: string } {
  try {
    return { state: foldEvents(events).status };
  } catch (err) {
    return { state: 'corrupt', error: err instanceof Error ? err.message : String(err) };
  }
}

function newReport(): InvariantReport {
  return { tasks: 0, byFinalState: {}, violations: [] };
}

function countState(report: InvariantReport, state: TaskStatus | 'corrupt' | 'missing'): void {
  report.tasks++;
  report.byFinalState[state] = (report.byFinalState[state] ?? 0) + 1;
}

function types(events: readonly StoredTaskEvent[]): string[] {
  return events.map((e) => `${e.type}@${e.seq}`);
}

/**
 * No double lease (§9.3): between two `claimed` events of one task there is a release event
 * (`nacked`, `abandoned`, `leaseExpired` or `requeued`); and every task's history folds through the
 * task machine (`foldEvents`) without a rejection (a rejected history is reported as `fold`).
 *
 * @param stream - what {@link readStream} returned.
 */
export function noDoubleLease(stream: StreamContents): InvariantReport {
  const report = newReport();
  for (const [taskId, events] of stream.byTask) {
    let leasedAt: number | undefined;
    for (const event of events) {
      if (event.type === 'claimed') {
        if (leasedAt !== undefined) {
          report.violations.push({
            check: 'noDoubleLease',
            taskId,
            message: `claimed at seq ${event.seq} while the lease of seq ${leasedAt} was never released`,
            history: types(events),
          });
        }
        leasedAt = event.seq;
      } else if (RELEASES.has(event.type)) {
        leasedAt = undefined;
      }
    }
    const { state, error } = finalState(events);
    countState(report, state);
    if (error !== undefined)
      report.violations.push({ check: 'fold', taskId, message: error, history: types(events) });
  }
  return report;
}

/**
 * At most one terminal event per task (§9.4): at most one of `completed`, `failed`, `cancelled`,
 * nothing after it, and a `dlq` only ever followed by a `requeued` (admin retry) before anything else.
 *
 * @param stream - what {@link readStream} returned.
 */
export function atMostOneTerminal(stream: StreamContents): InvariantReport {
  const report = newReport();
  for (const [taskId, events] of stream.byTask) {
    let finals = 0;
    let closedBy: StoredTaskEvent | undefined;
    const violate = (message: string): void => {
      report.violations.push({ check: 'atMostOneTerminal', taskId, message, history: types(events) });
    };
    for (const event of events) {
      if (HISTORY_ONLY.has(event.type)) continue;
      if (closedBy !== undefined) {
        const requeue = closedBy.type === 'dlq' && event.type === 'requeued';
        if (!requeue)
          violate(`'${event.type}' at seq ${event.seq} after '${closedBy.type}' at seq ${closedBy.seq}`);
        if (requeue) {
          closedBy = undefined;
          continue;
        }
      }
      if (FINAL.has(event.type)) finals++;
      if (FINAL.has(event.type) || event.type === 'dlq') closedBy = event;
    }
    if (finals > 1) violate(`${finals} terminal events (completed/failed/cancelled)`);
    countState(report, finalState(events).state);
  }
  return report;
}

/**
 * No task is lost (§9.2): every given task id has exactly one `enqueued` event (its first) and a
 * history that folds to a terminal, pending or in-progress state. Only the given ids are counted.
 *
 * @param stream - what {@link readStream} returned.
 * @param taskIds - the ids the producers were given back.
 */
export function accountFor(stream: StreamContents, taskIds: Iterable<string>): InvariantReport {
  const report = newReport();
  for (const taskId of taskIds) {
    const events = stream.byTask.get(taskId) ?? [];
    const violate = (message: string): void => {
      report.violations.push({ check: 'accountFor', taskId, message, history: types(events) });
    };
    if (events.length === 0) {
      countState(report, 'missing');
      violate('no event in the log');
      continue;
    }
    const enqueued = events.filter((e) => e.type === 'enqueued').length;
    if (enqueued !== 1) violate(`${enqueued} enqueued events (expected exactly 1)`);
    if (events[0]?.type !== 'enqueued') violate(`first event is '${events[0]?.type}', not 'enqueued'`);
    const { state, error } = finalState(events);
    countState(report, state);
    if (error !== undefined) violate(error);
    else if (state === 'absent') violate('folds to absent');
  }
  return report;
}

/** Number of events of `type` per task (tasks without one are left out). */
export function countEvents(stream: StreamContents, type: TaskEventType): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [taskId, events] of stream.byTask) {
    const n = events.filter((e) => e.type === type).length;
    if (n > 0) counts.set(taskId, n);
  }
  return counts;
}

/** One key of a projection dump: its Redis type and full contents. */
export type DumpedKey =
  | { type: 'string'; value: string | null }
  | { type: 'hash'; value: Record<string, string> }
  | { type: 'zset'; value: [member: string, score: number][] }
  | { type: 'set'; value: string[] }
  | { type: 'list'; value: string[] }
  | { type: string; value: 'unsupported' };

/** Every key of a prefix (one SCAN pass; on a cluster, one per master), sorted. */
export async function keysOf(redis: RedisClient, keyPrefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return [...new Set(keys)].sort();
}

/** True for a command's `reserved` zset (`<prefix>:{<command>}:reserved`). */
function isReservedKey(key: string, keyPrefix: string): boolean {
  const rest = key.slice(keyPrefix.length + 1);
  return key.startsWith(`${keyPrefix}:`) && /^\{[^{}]+\}:reserved$/.test(rest);
}

/** True for keys that are per-process or time-dependent, never part of a projection comparison. */
function excluded(key: string, keyPrefix: string): boolean {
  return (
    key.startsWith(`${keyPrefix}:projector:`) ||
    key.startsWith(`${keyPrefix}:lock:`) ||
    isReservedKey(key, keyPrefix)
  );
}

async function dumpKey(redis: RedisClient, key: string): Promise<DumpedKey | undefined> {
  const type = await redis.type(key);
  switch (type) {
    case 'none':
      return undefined; // gone between SCAN and read
    case 'string':
      return { type, value: await redis.get(key) };
    case 'hash': {
      // Field order means nothing in a hash, but HGETALL returns insertion order: sorted, so a
      // rebuild that writes the same fields in another order compares equal.
      const fields = Object.entries(await redis.hgetall(key)).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      return { type, value: Object.fromEntries(fields) };
    }
    case 'zset': {
      const flat = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      const value: [string, number][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) value.push([flat[i] as string, Number(flat[i + 1])]);
      return { type, value };
    }
    case 'set':
      return { type, value: (await redis.smembers(key)).sort() };
    case 'list':
      return { type, value: await redis.lrange(key, 0, -1) };
    default:
      return { type, value: 'unsupported' };
  }
}

/**
 * Every projection key under `keyPrefix` with its type and full contents (hash fields, zset members
 * in index order with their scores, strings, sorted set members), as a plain object for
 * `expect(a).toEqual(b)`. Left out: `<prefix>:projector:*` (checkpoint, built marker),
 * `<prefix>:lock:*` (leader locks) and the `reserved` zsets (claim reservations; check them with
 * {@link reservedEntries}). TTLs are not part of the dump (idempotency keys compare by value).
 *
 * @param redis - a client on the deployment's Redis.
 * @param keyPrefix - the deployment's key prefix (`keyPrefix` of the engine options).
 */
export async function projectionDump(
  redis: RedisClient,
  keyPrefix: string,
): Promise<Record<string, DumpedKey>> {
  const dump: Record<string, DumpedKey> = {};
  for (const key of await keysOf(redis, keyPrefix)) {
    if (excluded(key, keyPrefix)) continue;
    const entry = await dumpKey(redis, key);
    if (entry) dump[key] = entry;
  }
  return dump;
}

/**
 * The claim reservations present under `keyPrefix`: reserved zset key → members. At rest (no claim
 * running) this must be `{}`: a leftover reservation hides a ready task.
 */
export async function reservedEntries(
  redis: RedisClient,
  keyPrefix: string,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const key of await keysOf(redis, keyPrefix)) {
    if (!isReservedKey(key, keyPrefix)) continue;
    const members = await redis.zrange(key, '0', '-1');
    if (members.length > 0) out[key] = members;
  }
  return out;
}
