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
  /** Enqueue rate while filling (8 calls of 1,000 in flight), tasks/s. */
  fillRate: number;
  /** Redis used_memory delta per waiting task, bytes. */
  redisBytesPerTask: number;
  /** JetStream bytes per task (one `enqueued` event each). */
  streamBytesPerTask: number;
}

/** Enqueues `n` tasks on command `backlog`, 8 calls of 1,000 in flight, reporting progress. */
export async function fillBigBacklog(
  codeq: CodeqPeer,
  n: number,
  progress: (line: string) => void,
): Promise<BigBacklog> {
  const engine = await codeq.createEngine();
  const memBefore = await redisUsedMemory(codeq.redis);
  let next = 0;
  let lastReport = Date.now();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const from = next;
        next += 1000;
        const size = Math.min(1000, n - from);
        await engine.enqueueMany(
          Array.from({ length: size }, (_, j) => ({ command: 'backlog', payload: { i: from + j } })),
        );
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          progress(
            `filling backlog: ${Math.min(next, n).toLocaleString('en-US')} / ${n.toLocaleString('en-US')}`,
          );
        }
      }
    }),
  );
  const fillRate = n / ((performance.now() - started) / 1000);
  const stats = await engine.queueStats('backlog');
  if (stats.ready !== n) progress(`warning: ${stats.ready} ready after enqueueing ${n}`);
  const memAfter = await redisUsedMemory(codeq.redis);
  const streamBytes = await codeq.streamBytes(engine);
  return {
    engine,
    tasks: n,
    fillRate,
    redisBytesPerTask: (memAfter - memBefore) / n,
    streamBytesPerTask: streamBytes / n,
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
  const backlog: number[] = [];
  const empty: number[] = [];
  const once = async (command: string, into: number[]): Promise<void> => {
    const t0 = performance.now();
    const [task] = await engine.claim({ workerId: 'lat', commands: [command], count: 1 });
    into.push(performance.now() - t0);
    if (!task) throw new Error(`claim from ${command} found nothing`);
    await engine.submitResults([{ taskId: task.id, workerId: 'lat', status: 'COMPLETED', result: null }]);
  };
  for (let i = 0; i < samples; i++) {
    await engine.enqueue({ command: 'fresh', payload: { i } });
    await once('fresh', empty);
    await once('backlog', backlog);
  }
  backlog.sort((a, b) => a - b);
  empty.sort((a, b) => a - b);
  return {
    backlogMs: percentile(backlog, 50),
    emptyMs: percentile(empty, 50),
    backlogP99: percentile(backlog, 99),
    emptyP99: percentile(empty, 99),
  };
}
