/**
 * codeq-only flow-control figures (issue 15): processing a backlog spread over group keys, with a
 * per-key concurrency limit, with the fair rotation alone, and without group keys (the same tasks
 * in the same enqueue order), and how evenly the keys finish: for each key, the time of its last
 * completion as a share of the run.
 */
import type { Engine } from '../../src/engine/engine.js';
import type { EnqueueInput } from '../../src/engine/engine.types.js';
import { leasePeaks } from '../../test/support/lease-concurrency.js';
import { readStream } from '../../test/support/invariants.js';
import { verifyRun } from './codeq-verify.js';
import { claimLoops, type CodeqPeer } from './codeq.peer.js';
import { cpuNow, cpuSince, percentile, type Figure } from './peer.js';

/** How a flow run's backlog is spread over its keys (all of a key's tasks enqueued together). */
export type FlowLayout =
  /** `keys` keys with the same number of tasks each, enqueued key after key. */
  | 'even'
  /** One big key first (most of the backlog), then `keys - 1` small keys of a few tasks each. */
  | 'skewed';

/** What a flow run does with the keys: a per-key limit, the rotation alone, or no group keys. */
export type FlowVariant = 'limit' | 'keys' | 'none';

/** One flow run's size and shape. */
export interface FlowSpec {
  /** Tasks in all. */
  tasks: number;
  /** Keys (the big one included in the skewed layout). */
  keys: number;
  /** Spread of the tasks over the keys. */
  layout: FlowLayout;
  /** Per-key concurrency limit of the `limit` variant. */
  limit: number;
}

/** A flow run: throughput and when each key finished. */
export interface FlowFigure extends Figure {
  /** Each key's last completion as a share of the run (0..1), sorted ascending (small keys only when skewed). */
  finished: number[];
  /** Skewed layout: the big key's last completion as a share of the run. */
  bigFinished?: number;
  /** Invariant check of the run's stream, with the most tasks of one key leased at once. */
  invariants: string;
  /** CPU µs of the timed part, per process, as {@link cpuNow} lists them. */
  cpuUs: number[];
}

/** Tasks of each small key in the skewed layout: a fifth of the backlog over the small keys, at least 1. */
export function smallKeyTasks(spec: FlowSpec): number {
  return Math.max(1, Math.floor(spec.tasks / 5 / (spec.keys - 1)));
}

/** The key of each task, in enqueue order. */
function keyOrder(spec: FlowSpec): string[] {
  const order: string[] = [];
  if (spec.layout === 'even') {
    const per = Math.floor(spec.tasks / spec.keys);
    for (let k = 0; k < spec.keys; k++) for (let j = 0; j < per; j++) order.push(`k${k}`);
  } else {
    const small = smallKeyTasks(spec);
    const big = spec.tasks - small * (spec.keys - 1);
    for (let j = 0; j < big; j++) order.push('k0');
    for (let k = 1; k < spec.keys; k++) for (let j = 0; j < small; j++) order.push(`k${k}`);
  }
  return order;
}

/**
 * Enqueues the spec's backlog on command `flow` of a fresh engine (untimed; the `limit` variant's
 * limit is set first), then processes it with the benchmark's engine claim loops (16 x 128, one
 * result call per batch) and records, per key, when its last task completed.
 */
export async function processFlow(
  codeq: CodeqPeer,
  spec: FlowSpec,
  variant: FlowVariant,
): Promise<FlowFigure> {
  const engine = await codeq.createEngine();
  if (variant === 'limit') await limitGroups(engine, 'flow', spec.limit);
  const order = keyOrder(spec);
  const keyOf = new Map<string, string>();
  for (let i = 0; i < order.length; i += 1000) {
    const inputs: EnqueueInput[] = order.slice(i, i + 1000).map((k, j) => ({
      command: 'flow',
      payload: { i: i + j },
      ...(variant === 'none' ? {} : { groupKey: k }),
    }));
    const views = await engine.enqueueMany(inputs);
    views.forEach((v, j) => keyOf.set(v.id, order[i + j] as string));
  }
  const lastDone = new Map<string, number>();
  const cpu0 = cpuNow();
  const started = performance.now();
  await claimLoops(
    engine,
    order.length,
    16,
    128,
    () => ['flow'],
    (ids) => {
      const t = performance.now() - started;
      for (const id of ids) lastDone.set(keyOf.get(id) as string, t);
    },
  );
  const ms = performance.now() - started;
  const cpuUs = cpuSince(cpu0);
  const invariants = await checkRun(engine, [...keyOf.keys()], variant);
  await codeq.dispose(engine);
  const share = (k: string) => (lastDone.get(k) ?? Number.NaN) / ms;
  const small =
    spec.layout === 'skewed' ? [...lastDone.keys()].filter((k) => k !== 'k0') : [...lastDone.keys()];
  return {
    value: order.length / (ms / 1000),
    unit: 'tasks/s',
    finished: small.map(share).sort((a, b) => a - b),
    ...(spec.layout === 'skewed' ? { bigFinished: share('k0') } : {}),
    invariants,
    cpuUs,
  };
}

/** The run's invariants, and for grouped runs the most tasks of one key leased at once (on the log). */
async function checkRun(engine: Engine, ids: string[], variant: FlowVariant): Promise<string> {
  const verdict = await verifyRun(engine, ids);
  if (variant === 'none') return verdict;
  const peaks = leasePeaks(await readStream(engine), 'flow');
  const most = Math.max(...peaks.byGroup.values());
  return `${verdict}; most leased at once of one key ${most}`;
}

/** p10, p50, p90 of sorted shares, and the last over the first (how unevenly the keys finished). */
export function spread(sorted: readonly number[]): {
  p10: number;
  p50: number;
  p90: number;
  maxOverMin: number;
} {
  return {
    p10: percentile(sorted, 10),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    maxOverMin: (sorted[sorted.length - 1] as number) / (sorted[0] as number),
  };
}

/** Group key of the `i`th task of a big grouped backlog over `keys` keys (round robin). */
export function roundRobinKey(keys: number): (i: number) => string {
  return (i) => `k${i % keys}`;
}

/** Sets a per-key concurrency limit on `command`. */
export async function limitGroups(engine: Engine, command: string, limit: number): Promise<void> {
  await engine.controlQueue(
    command,
    { type: 'setLimits', patch: { groupConcurrency: limit } },
    'admin:bench',
  );
}
