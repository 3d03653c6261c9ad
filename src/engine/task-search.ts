/**
 * The dashboard's task search (issue 17), newest first over sorted-set indexes: every task by
 * creation time (`created`), or one state's index. Filters the indexes answer (state, creation range
 * on `created`) cost a rank lookup whatever the depth; the others (group key, payload field,
 * terminal outcome, creation range within a state) read the candidates' hashes, at most
 * {@link SEARCH_SCAN_MAX} per request, and then say so: `totalExact: false` and a cursor to go on.
 */
import { createHash } from 'node:crypto';
import type { TaskView } from '../contract/views.js';
import { CodeqError } from '../errors.js';
import { assertValidCommand } from '../events/subjects.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import { execOrThrow } from '../projections/redis-exec.js';
import { pipelineOf } from '../projections/redis-slots.js';
import { FIELD } from '../projections/event.projection.js';
import { viewFromHash } from '../projections/task-record.js';

/** States the search filters by (`done` = completed; `all`, the default, = every task). */
export const SEARCH_STATES = [
  'ready',
  'delayed',
  'inProgress',
  'dlq',
  'done',
  'failed',
  'cancelled',
  'all',
] as const;
/** A search state. */
export type SearchState = (typeof SEARCH_STATES)[number];
/** Most candidates one request reads when a filter needs the tasks themselves. */
export const SEARCH_SCAN_MAX = 5000;
/** Largest page. */
export const SEARCH_LIMIT_MAX = 200;
/** Default page. */
export const SEARCH_LIMIT_DEFAULT = 50;
/** Candidates read per round of a filtered scan. */
const SCAN_CHUNK = 500;

/** What to search for; every field optional. */
export interface SearchInput {
  /** The command searched; absent: every command `visible` accepts. */
  command?: string | undefined;
  /** Which commands the caller may see (default all). */
  visible?: ((command: string) => boolean) | undefined;
  state?: SearchState | undefined;
  id?: string | undefined;
  idempotencyKey?: string | undefined;
  groupKey?: string | undefined;
  /** Created at or after, epoch ms. */
  createdFrom?: number | undefined;
  /** Created at or before, epoch ms. */
  createdTo?: number | undefined;
  /** Dotted path into the JSON payload (`customer.id`), with `payloadValue`. */
  payloadPath?: string | undefined;
  /** Compared as a string with the value at `payloadPath`. */
  payloadValue?: string | undefined;
  cursor?: string | undefined;
  /** 1..{@link SEARCH_LIMIT_MAX}, default {@link SEARCH_LIMIT_DEFAULT}. */
  limit?: number | undefined;
}

/** A page of the search. `total` is exact when `totalExact`, else a lower bound. */
export interface SearchPage {
  items: TaskView[];
  nextCursor?: string;
  total: number;
  totalExact: boolean;
}

/** The index each state reads, and the state its tasks must be in when the index holds several. */
const PLAN: Record<
  SearchState,
  { index: 'created' | 'ready' | 'delayed' | 'inflight' | 'dlq' | 'done'; state?: string }
> = {
  all: { index: 'created' },
  ready: { index: 'ready' },
  delayed: { index: 'delayed' },
  inProgress: { index: 'inflight' },
  dlq: { index: 'dlq' },
  done: { index: 'done', state: 'completed' },
  failed: { index: 'done', state: 'failed' },
  cancelled: { index: 'done', state: 'cancelled' },
};

const invalid = (message: string) => new CodeqError('INVALID_INPUT', message);

/** What the filters look at: read with one HMGET per candidate instead of the whole task. */
interface Probe {
  command: string;
  state: string | undefined;
  groupKey?: string | undefined;
  createdAt: number;
  /** The payload's JSON text, or its value (a task read whole). */
  payload: unknown;
}
const PROBE_FIELDS = [FIELD.state, FIELD.groupKey, FIELD.createdAt] as const;

/** The value at a dotted path of a JSON value, as a string (objects as JSON); undefined when absent. */
export function payloadValueAt(payload: unknown, path: string): string | undefined {
  let value = payload;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  for (const part of path.split('.')) {
    // Own fields only: `__proto__` or `constructor` would otherwise match every object payload.
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The filters a cursor was made for: its offsets are positions in the indexes those filters read,
 * so the same cursor with other filters would silently skip tasks (or start in another index).
 */
function searchFingerprint(input: SearchInput): string {
  const { command, state, groupKey, createdFrom, createdTo, payloadPath, payloadValue } = input;
  const filters = [command, state ?? 'all', groupKey, createdFrom, createdTo, payloadPath, payloadValue];
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}

function decodeCursor(cursor: string | undefined, fingerprint: string): Record<string, number> {
  if (cursor === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid("invalid 'cursor'");
  }
  const { f, o: offsets } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    f?: unknown;
    o?: unknown;
  };
  if (typeof offsets === 'object' && offsets !== null && !Array.isArray(offsets)) {
    const entries = Object.entries(offsets);
    if (entries.every(([, n]) => Number.isSafeInteger(n) && (n as number) >= 0)) {
      if (f !== fingerprint) throw invalid("invalid 'cursor': it belongs to a search with other filters");
      return Object.fromEntries(entries) as Record<string, number>;
    }
  }
  throw invalid("invalid 'cursor'");
}

const encodeCursor = (offsets: Record<string, number>, fingerprint: string) =>
  Buffer.from(JSON.stringify({ f: fingerprint, o: offsets })).toString('base64url');

/** Searches the projection. */
export async function searchTasks(store: ProjectionStore, input: SearchInput): Promise<SearchPage> {
  const limit = input.limit ?? SEARCH_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMIT_MAX)
    throw invalid(`invalid 'limit' (1..${SEARCH_LIMIT_MAX})`);
  const plan = PLAN[input.state ?? 'all'];
  if (!plan) throw invalid(`invalid 'state' (one of ${SEARCH_STATES.join(', ')})`);
  if ((input.payloadPath === undefined) !== (input.payloadValue === undefined))
    throw invalid("'payloadPath' and 'payloadValue' go together");
  if (input.command !== undefined) assertValidCommand(input.command);
  const visible = input.visible ?? (() => true);
  const commands =
    input.command === undefined
      ? (await store.commands()).filter(visible)
      : visible(input.command)
        ? [input.command]
        : [];
  const from = input.createdFrom ?? -Infinity;
  const to = input.createdTo ?? Infinity;
  const matches = (t: Probe) =>
    (plan.state === undefined || t.state === plan.state) &&
    (input.groupKey === undefined || t.groupKey === input.groupKey) &&
    t.createdAt >= from &&
    t.createdAt <= to &&
    (input.payloadPath === undefined ||
      payloadValueAt(t.payload, input.payloadPath) === input.payloadValue) &&
    commands.includes(t.command);

  // A task named by id or idempotency key: at most one, read directly.
  if (input.id !== undefined || input.idempotencyKey !== undefined) {
    let id = input.id;
    if (id === undefined) id = (await store.idempotencyLookup([input.idempotencyKey as string]))[0]?.[0];
    const found = id === undefined ? undefined : await store.load(id);
    const view = found && viewFromHash(found.id, found.command, found.hash);
    const ok =
      view !== undefined &&
      matches(view) &&
      (input.idempotencyKey === undefined || view.idempotencyKey === input.idempotencyKey);
    return { items: ok ? [view] : [], total: ok ? 1 : 0, totalExact: true };
  }
  return scanIndexes(store, { ...input, commands }, plan.index, matches, limit);
}

async function scanIndexes(
  store: ProjectionStore,
  input: SearchInput & { commands: readonly string[] },
  index: (typeof PLAN)[SearchState]['index'],
  matches: (t: Probe) => boolean,
  limit: number,
): Promise<SearchPage> {
  const fingerprint = searchFingerprint(input);
  const offsets = decodeCursor(input.cursor, fingerprint);
  const commands = [...input.commands].sort();
  // A creation range on the creation index is a score range: exact, no scan.
  const ranged = index === 'created' && (input.createdFrom !== undefined || input.createdTo !== undefined);
  const min = input.createdFrom === undefined ? '-inf' : String(input.createdFrom);
  const max = input.createdTo === undefined ? '+inf' : String(input.createdTo);
  const filtered =
    PLAN[input.state ?? 'all'].state !== undefined ||
    input.groupKey !== undefined ||
    input.payloadPath !== undefined ||
    (!ranged && (input.createdFrom !== undefined || input.createdTo !== undefined));
  const keyOf = (c: string) => store.keys[index](c);

  const counting = pipelineOf(store.client);
  for (const c of commands) {
    if (ranged) counting.zcount(keyOf(c), min, max);
    else counting.zcard(keyOf(c));
  }
  const sizes = commands.length === 0 ? [] : ((await execOrThrow(counting)) as number[]);
  const total = sizes.reduce((a, b) => a + b, 0);

  const items: TaskView[] = [];
  const budget = filtered ? SEARCH_SCAN_MAX : limit;
  let scanned = 0;
  while (items.length < limit && scanned < budget) {
    const chunk = Math.min(filtered ? SCAN_CHUNK : limit, budget - scanned);
    const fetch = pipelineOf(store.client);
    for (const c of commands) {
      const at = offsets[c] ?? 0;
      if (ranged) fetch.zrange(keyOf(c), max, min, 'BYSCORE', 'REV', 'LIMIT', at, chunk, 'WITHSCORES');
      else fetch.zrange(keyOf(c), String(at), String(at + chunk - 1), 'REV', 'WITHSCORES');
    }
    const replies = commands.length === 0 ? [] : ((await execOrThrow(fetch)) as string[][]);
    // Newest first across commands; each index's own order kept within it.
    const merged = replies
      .flatMap((flat, ci) => {
        const out: { ci: number; pos: number; id: string; score: number }[] = [];
        for (let j = 0; j + 1 < flat.length; j += 2)
          out.push({ ci, pos: j, id: flat[j] as string, score: Number(flat[j + 1]) });
        return out;
      })
      .sort((a, b) => b.score - a.score || a.ci - b.ci || a.pos - b.pos)
      .slice(0, chunk);
    if (merged.length === 0) break;
    // Unfiltered, every candidate is an item: no probe round trip.
    const probes = filtered
      ? await loadProbes(store, commands, merged, input.payloadPath !== undefined)
      : undefined;
    const found: typeof merged = [];
    for (const [i, candidate] of merged.entries()) {
      const command = commands[candidate.ci] as string;
      offsets[command] = (offsets[command] ?? 0) + 1;
      scanned += 1;
      const probe = probes?.[i];
      if (probes && !(probe && matches(probe))) continue;
      if (found.push(candidate) + items.length === limit) break;
    }
    // The matches read whole (a task gone meanwhile is left out).
    for (const view of await loadViews(store, commands, found)) if (view) items.push(view);
  }
  const consumed = commands.reduce((n, c) => n + (offsets[c] ?? 0), 0);
  const more = consumed < total;
  const started = input.cursor !== undefined;
  return {
    items,
    ...(more ? { nextCursor: encodeCursor(offsets, fingerprint) } : {}),
    // Unfiltered: the index sizes. Filtered: the matches seen, exact only when one request saw all.
    total: filtered ? items.length : total,
    totalExact: !filtered || (!more && !started),
  };
}

/** The filters' fields of `candidates` in their order (undefined for a task gone meanwhile). */
async function loadProbes(
  store: ProjectionStore,
  commands: readonly string[],
  candidates: readonly { ci: number; id: string }[],
  withPayload: boolean,
): Promise<(Probe | undefined)[]> {
  const fields: string[] = withPayload ? [...PROBE_FIELDS, FIELD.payload] : [...PROBE_FIELDS];
  const pipeline = pipelineOf(store.client);
  for (const { ci, id } of candidates) pipeline.hmget(store.keys.task(commands[ci] as string, id), ...fields);
  const rows = (await execOrThrow(pipeline)) as (string | null)[][];
  return candidates.map(({ ci }, i) => {
    const [state, groupKey, createdAt, payload] = rows[i] ?? [];
    if (state === null || state === undefined) return undefined;
    return {
      command: commands[ci] as string,
      state,
      groupKey: groupKey ?? undefined,
      createdAt: Number(createdAt),
      payload,
    };
  });
}

/** The views of `candidates` in their order (undefined for a task gone meanwhile). */
async function loadViews(
  store: ProjectionStore,
  commands: readonly string[],
  candidates: readonly { ci: number; id: string }[],
): Promise<(TaskView | undefined)[]> {
  const pipeline = pipelineOf(store.client);
  for (const { ci, id } of candidates) pipeline.hgetall(store.keys.task(commands[ci] as string, id));
  const hashes = (await execOrThrow(pipeline)) as Record<string, string>[];
  return candidates.map(({ ci, id }, i) => {
    const hash = hashes[i];
    return hash && Object.keys(hash).length > 0 ? viewFromHash(id, commands[ci] as string, hash) : undefined;
  });
}
