/**
 * How long each command's ready backlog has waited: for the `codeq_queue_oldest_ready_age_seconds`
 * gauge, read at scrape time. One script call per command (`oldest-ready.lua`: ten index reads and
 * at most ten small hash reads, whatever the backlog), all in one pipeline.
 */
import type { ProjectionKeys } from './keys.js';
import { scriptPipeline, type ScriptCommands } from './lua-scripts.js';
import type { RedisClient } from './redis-client.js';
import { execOrThrow } from './redis-exec.js';
import { pipelineOf } from './redis-slots.js';

/**
 * When the longest-waiting ready task of each command became claimable, epoch ms, among the task
 * each priority would hand out next. Commands with nothing ready are absent from the map.
 *
 * @param redis - a client with the projection's scripts defined.
 * @param keys - the deployment's key names.
 * @param commands - the commands to look at (e.g. those whose ready count is above 0).
 */
export async function oldestReadySince(
  redis: RedisClient & ScriptCommands,
  keys: ProjectionKeys,
  commands: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (commands.length === 0) return out;
  const pipeline = scriptPipeline(pipelineOf(redis));
  for (const command of commands) pipeline.codeqOldestReady(keys.commandBase(command));
  const replies = await execOrThrow(pipeline);
  commands.forEach((command, i) => {
    const since = replies[i];
    if (typeof since === 'number') out.set(command, since);
  });
  return out;
}
