/**
 * Walks one command's live tasks (pending, reserved or leased) in pages, through the `age` index,
 * which holds every live task and nothing else, for operations that select tasks by what their
 * hashes say (an admin bulk cancel). The walk is by score with a cursor, not by rank, so tasks
 * leaving the index under it (cancelled, finished) make it skip nothing.
 */
import type { StoredTask } from './projection.store.js';
import type { ProjectionKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { execOrThrow, orUnavailable } from './redis-exec.js';
import type { TaskHash } from './task-record.js';

/** Where a walk stands: the score reached and the ids already seen at exactly that score. */
export interface LiveScanCursor {
  /** The last score returned (`-inf` before the first page). */
  score: string;
  /** Ids of that score already returned (several tasks share a time: a batch's enqueue). */
  seen: Set<string>;
}

/** A walk's starting point. */
export function liveScanStart(): LiveScanCursor {
  return { score: '-inf', seen: new Set() };
}

/**
 * The next page of at most about `limit` live tasks of `command`, with the hash fields `fields`
 * (absent ones left out), and the cursor after it; `done` once the index is exhausted. A task a
 * snapshot moved to a later score may come twice: callers treat a page as a fresh look.
 */
export async function nextLiveTasks(
  redis: RedisClient,
  keys: ProjectionKeys,
  command: string,
  cursor: LiveScanCursor,
  limit: number,
  fields: readonly string[],
): Promise<{ tasks: StoredTask[]; cursor: LiveScanCursor; done: boolean }> {
  const asked = limit + cursor.seen.size;
  const flat = await orUnavailable(
    redis.zrangebyscore(keys.age(command), cursor.score, '+inf', 'WITHSCORES', 'LIMIT', 0, asked),
  );
  const ids: string[] = [];
  let score = cursor.score;
  let seen = cursor.seen;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const id = flat[i] as string;
    const s = flat[i + 1] as string;
    if (s !== score) {
      score = s;
      seen = new Set();
    }
    if (seen.has(id)) continue;
    seen.add(id);
    ids.push(id);
  }
  const done = flat.length / 2 < asked;
  if (ids.length === 0) return { tasks: [], cursor: { score, seen }, done };
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.task(command, id), ...fields);
  const rows = (await execOrThrow(pipeline)) as (string | null)[][];
  const tasks: StoredTask[] = [];
  rows.forEach((values, i) => {
    const hash: TaskHash = {};
    fields.forEach((field, f) => {
      const value = values[f];
      if (typeof value === 'string') hash[field] = value;
    });
    // A task that finished between the two reads has left: nothing to look at.
    if (Object.keys(hash).length > 0) tasks.push({ id: ids[i] as string, command, hash });
  });
  return { tasks, cursor: { score, seen }, done };
}
