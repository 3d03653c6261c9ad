/**
 * The `flow` group of `npm run bench` (issue 15): per round, a backlog over 1,000 group keys
 * processed with a per-key limit, with the fair rotation alone and without group keys (alternating),
 * and a skewed backlog (one big key first, 999 small ones behind it) with and without group keys;
 * after the rounds, single-claim latency from a big backlog spread over 10,000 keys beside the same
 * backlog without keys.
 */
import type { Engine } from '../src/engine/engine.js';
import type { Sizes } from './figures.js';
import { BIG_BACKLOG_KEYS, FLOW_KEYS, FLOW_LIMIT } from './flow-figures.js';
import { claimLatencies, fillBigBacklog, type BigBacklog } from './peers/codeq-backlog.js';
import {
  limitGroups,
  processFlow,
  roundRobinKey,
  spread,
  type FlowLayout,
  type FlowSpec,
  type FlowVariant,
} from './peers/codeq-flow.js';
import type { CodeqPeer } from './peers/codeq.peer.js';
import { fmt, record, type Samples } from './report.js';

/** What the flow figures need from the runner. */
export interface FlowContext {
  /** The codeq peer (fresh engines per run). */
  codeq: CodeqPeer;
  /** Sizes of this run. */
  sizes: Sizes;
  /** Rounds in all (for the progress lines). */
  rounds: number;
  /** Figures, one sample per round. */
  samples: Samples;
  /** CPU µs per task per process (`figure|variant|process`). */
  cpu: Samples;
  /** Invariant lines of the processing runs. */
  invariants: string[];
  /** Progress line to stderr. */
  progress: (line: string) => void;
}

/**
 * Enqueue calls of 1,000 in flight while filling the big backlogs: 8 (the backlog group's) let
 * appends time out waiting for room in the publisher's window on this shared machine under load.
 */
const FILL_IN_FLIGHT = 2;

const RUNS: readonly [FlowLayout, readonly FlowVariant[]][] = [
  ['even', ['limit', 'keys', 'none']],
  ['skewed', ['keys', 'none']],
];

/** One round of the processing figures, variants alternating within the round. */
export async function flowRound(ctx: FlowContext, round: number): Promise<void> {
  for (const [layout, variants] of RUNS) {
    const spec: FlowSpec = { tasks: ctx.sizes.backlog, keys: FLOW_KEYS, layout, limit: FLOW_LIMIT };
    for (const variant of variants) {
      const r = await processFlow(ctx.codeq, spec, variant);
      const per = r.cpuUs.map((us) => us / spec.tasks);
      const key = `flow-${layout}`;
      record(ctx.samples, `${key}|${variant}`, r.value);
      ['node', 'nats', 'redis'].forEach((p, i) => record(ctx.cpu, `${key}|${variant}|${p}`, per[i]!));
      const s = spread(r.finished);
      record(ctx.samples, `${key}-p10|${variant}`, s.p10);
      record(ctx.samples, `${key}-p50|${variant}`, s.p50);
      record(ctx.samples, `${key}-p90|${variant}`, s.p90);
      record(ctx.samples, `${key}-max|${variant}`, r.finished[r.finished.length - 1]!);
      record(ctx.samples, `${key}-spread|${variant}`, s.maxOverMin);
      if (r.bigFinished !== undefined) record(ctx.samples, `${key}-big|${variant}`, r.bigFinished);
      ctx.invariants.push(`round ${round} flow ${layout} ${variant}: ${r.invariants}`);
      ctx.progress(
        `round ${round}/${ctx.rounds}  flow ${layout} ${variant.padEnd(5)} ${fmt(r.value)} tasks/s; ` +
          `keys finished at p10 ${fmt(s.p10)} p50 ${fmt(s.p50)} p90 ${fmt(s.p90)} max ${fmt(r.finished.at(-1))} ` +
          `of the run${r.bigFinished === undefined ? '' : `, big key ${fmt(r.bigFinished)}`}  ` +
          `(CPU µs/task: node ${fmt(per[0])}, nats ${fmt(per[1])}, redis ${fmt(per[2])}); ${r.invariants}`,
      );
    }
  }
}

/**
 * After the rounds: fills `sizes.bigBacklog` tasks over {@link BIG_BACKLOG_KEYS} keys (per-key limit
 * {@link FLOW_LIMIT}) beside the same number without keys (the `backlog` group's queue when it ran,
 * else filled here), then times single claims from both and from a near-empty queue, interleaved.
 * Answers the engine it created, if any, for the runner to close.
 */
export async function flowBacklog(
  ctx: FlowContext,
  big: BigBacklog | undefined,
): Promise<Engine | undefined> {
  const n = ctx.sizes.bigBacklog;
  const text = n.toLocaleString('en-US');
  let created: Engine | undefined;
  if (!big) {
    ctx.progress(`filling a ${text}-task backlog without group keys (untimed for the figures)`);
    big = await fillBigBacklog(ctx.codeq, n, ctx.progress, { inFlight: FILL_IN_FLIGHT });
    created = big.engine;
    record(ctx.samples, 'mem-big|codeq', big.redisBytesPerTask);
  }
  const engine = big.engine;
  await limitGroups(engine, 'grouped', FLOW_LIMIT);
  ctx.progress(`filling ${text} tasks over ${BIG_BACKLOG_KEYS.toLocaleString('en-US')} group keys`);
  const grouped = await fillBigBacklog(ctx.codeq, n, ctx.progress, {
    engine,
    command: 'grouped',
    groupKeyOf: roundRobinKey(BIG_BACKLOG_KEYS),
    inFlight: FILL_IN_FLIGHT,
  });
  record(ctx.samples, 'mem-grouped|codeq', grouped.redisBytesPerTask);
  ctx.progress(
    `filled at ${fmt(grouped.fillRate)} tasks/s (without keys: ${fmt(big.fillRate)}); ` +
      `Redis ${fmt(grouped.redisBytesPerTask)} B/task (without keys ${fmt(big.redisBytesPerTask)})`,
  );
  record(ctx.samples, 'fill-grouped|codeq', grouped.fillRate);
  record(ctx.samples, 'fill-ungrouped|codeq', big.fillRate);
  for (let round = 1; round <= ctx.rounds; round++) {
    const samples = Math.ceil(ctx.sizes.claimSamples / ctx.rounds);
    const [empty, plain, keyed] = await claimLatencies(engine, samples, ['backlog', 'grouped']);
    for (const [name, l] of [
      ['flow-empty', empty!],
      ['ungrouped', plain!],
      ['grouped', keyed!],
    ] as const) {
      record(ctx.samples, `claim-${name}|codeq`, l.p50);
      record(ctx.samples, `claim-${name}-p99|codeq`, l.p99);
    }
    ctx.progress(
      `round ${round}/${ctx.rounds}  claim latency p50 (p99): over keys ${fmt(keyed!.p50)} (${fmt(keyed!.p99)}) ms, ` +
        `without keys ${fmt(plain!.p50)} (${fmt(plain!.p99)}), near-empty ${fmt(empty!.p50)} (${fmt(empty!.p99)})`,
    );
  }
  return created;
}
