/**
 * codeq-only figures on one big backlog: the projection's rebuild speed (events/s over the whole
 * log), claim latency with the backlog waiting against a near-empty queue, and Redis / stream
 * bytes per waiting task at that size.
 */
import type { Engine } from '../../src/engine/engine.js';
import type { CodeqPeer } from './codeq.peer.js';
import { cpuNow, cpuSince, percentile, redisUsedMemory, type Figure } from './peer.js';

/** A filled backlog and what it cost. */
export interface BigBacklog {
  /** The engine holding it (close it with {@link CodeqPeer.dispose} or let the servers go). */
  engine: Engine;
  /** Tasks waiting. */
  tasks: number;
  /** Enqueue rate while filling, tasks/s. */
  fillRate: number;
  /** Redis used_memory delta per waiting task, bytes. */
  redisBytesPerTask: number;
  /** JetStream bytes per task (one `enqueued` event each). */
  streamBytesPerTask: number;
}

/** Where and how {@link fillBigBacklog} enqueues. */
export interface FillOptions {
  /** Command (queue); default `backlog`. */
  command?: string;
  /** Group key of the `i`th task; default none. */
  groupKeyOf?: (i: number) => string;
  /** Engine to fill (another queue beside an earlier backlog); default a fresh one. */
  engine?: Engine;
  /**
   * Calls of 1,000 in flight; default 8. Fewer keep the publisher's window of unacknowledged
   * appends from filling up on a busy machine (appends waiting for room in it time out after 5 s).
   */
  inFlight?: number;
}

/** Enqueues `n` tasks in calls of 1,000 (8 in flight unless told), reporting progress. */
export async function fillBigBacklog(
  codeq: CodeqPeer,
  n: number,
  progress: (line: string) => void,
  options: FillOptions = {},
): Promise<BigBacklog> {
  const { command = 'backlog', groupKeyOf } = options;
  const engine = options.engine ?? (await codeq.createEngine());
  const streamBefore = options.engine ? await codeq.streamBytes(engine) : 0;
  const memBefore = await redisUsedMemory(codeq.redis);
  let next = 0;
  let lastReport = Date.now();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.inFlight ?? 8 }, async () => {
      while (next < n) {
        const from = next;
        next += 1000;
        const size = Math.min(1000, n - from);
        await engine.enqueueMany(
          Array.from({ length: size }, (_, j) => ({
            command,
            payload: { i: from + j },
            ...(groupKeyOf ? { groupKey: groupKeyOf(from + j) } : {}),
          })),
        );
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          progress(
            `filling ${command}: ${Math.min(next, n).toLocaleString('en-US')} / ${n.toLocaleString('en-US')}`,
          );
        }
      }
    }),
  );
  const fillRate = n / ((performance.now() - started) / 1000);
  const stats = await engine.queueStats(command);
  if (stats.ready !== n) progress(`warning: ${stats.ready} ready after enqueueing ${n}`);
  const memAfter = await redisUsedMemory(codeq.redis);
  const streamBytes = await codeq.streamBytes(engine);
  return {
    engine,
    tasks: n,
    fillRate,
    redisBytesPerTask: (memAfter - memBefore) / n,
    streamBytesPerTask: (streamBytes - streamBefore) / n,
  };
}

/** Times `engine.rebuildProjection()` over the whole log; events/s. */
export async function rebuildRate(
  engine: Engine,
): Promise<Figure & { events: number; seconds: number; cpuUs: number[] }> {
  const cpu0 = cpuNow();
  const started = performance.now();
  const events = await engine.rebuildProjection();
  const seconds = (performance.now() - started) / 1000;
  return { value: events / seconds, unit: 'events/s', events, seconds, cpuUs: cpuSince(cpu0) };
}

/**
 * Times a rebuild after Redis lost the projection (its keys are deleted first, untimed): the
 * replay alone, which is what an automatic rebuild after a Redis restart without persistence does.
 */
export async function rebuildAfterLossRate(
  engine: Engine,
): Promise<Figure & { events: number; seconds: number; cpuUs: number[] }> {
  await engine.store.flush();
  return rebuildRate(engine);
}

/**
 * Median latency of single claims (count 1, no wait) from the big backlog and from a queue that
 * holds only the task about to be claimed (enqueued untimed just before), `samples` of each,
 * interleaved. Claimed tasks are completed, untimed.
 */
export async function claimLatency(
  engine: Engine,
  samples: number,
): Promise<{ backlogMs: number; emptyMs: number; backlogP99: number; emptyP99: number }> {
  const [empty, backlog] = await claimLatencies(engine, samples, ['backlog']);
  return { backlogMs: backlog!.p50, emptyMs: empty!.p50, backlogP99: backlog!.p99, emptyP99: empty!.p99 };
}

/**
 * Single claims (count 1, no wait), `samples` from each of `backlogs` and from a queue holding only
 * the task about to be claimed (enqueued untimed just before), interleaved; claimed tasks are
 * completed, untimed. Answers p50 and p99 in ms: the near-empty queue's first, then each backlog's.
 */
export async function claimLatencies(
  engine: Engine,
  samples: number,
  backlogs: readonly string[],
): Promise<{ p50: number; p99: number }[]> {
  const times = [[], ...backlogs.map(() => [])] as number[][];
  const once = async (command: string, into: number[]): Promise<void> => {
    const t0 = performance.now();
    const [task] = await engine.claim({ workerId: 'lat', commands: [command], count: 1 });
    into.push(performance.now() - t0);
    if (!task) throw new Error(`claim from ${command} found nothing`);
    await engine.submitResults([{ taskId: task.id, workerId: 'lat', status: 'COMPLETED', result: null }]);
  };
  for (let i = 0; i < samples; i++) {
    await engine.enqueue({ command: 'fresh', payload: { i } });
    await once('fresh', times[0]!);
    for (const [b, command] of backlogs.entries()) await once(command, times[b + 1]!);
  }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { p50: percentile(t, 50), p99: percentile(t, 99) };
  });
}
