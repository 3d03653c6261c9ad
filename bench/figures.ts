/** The benchmark's sizes and the rows of its table (which samples each row compares, and the targets). */
import { flowRows } from './flow-figures.js';
import type { RowSpec } from './report.js';

/** Sizes of one run (`--quick` shrinks them). */
export interface Sizes {
  /** Tasks enqueued per batched-enqueue run (calls of 1,000). */
  enqueueBatched: number;
  /** Tasks enqueued one call each, 64 in flight. */
  enqueueSingle: number;
  /** Backlog processed per processing run. */
  backlog: number;
  /** Seconds of open-loop arrivals per latency run. */
  latencySeconds: number;
  /** Seconds an idle worker is watched. */
  idleSeconds: number;
  /** Tasks per distinct-commands run. */
  distinct: number;
  /** Tasks (= events, one `enqueued` each) of the big backlog: rebuild and claim latency. */
  bigBacklog: number;
  /** Single claims timed from the big backlog and from a near-empty queue. */
  claimSamples: number;
}

/** Default sizes (about 10 minutes on 2 vCPU). */
export const DEFAULT_SIZES: Sizes = {
  enqueueBatched: 20_000,
  enqueueSingle: 10_000,
  backlog: 50_000,
  latencySeconds: 5,
  idleSeconds: 8,
  distinct: 20_000,
  bigBacklog: 1_000_000,
  claimSamples: 200,
};

/** `--quick` sizes (a smoke run of a minute or two). */
export const QUICK_SIZES: Sizes = {
  enqueueBatched: 5_000,
  enqueueSingle: 2_000,
  backlog: 5_000,
  latencySeconds: 2,
  idleSeconds: 3,
  distinct: 5_000,
  bigBacklog: 100_000,
  claimSamples: 50,
};

/** Figure groups, in run order (names for `--only`). */
export const GROUPS = ['enqueue', 'process', 'latency', 'idle', 'distinct', 'backlog', 'flow'] as const;
/** One group of figures. */
export type Group = (typeof GROUPS)[number];

/** Distinct-command counts measured (BullMQ only up to 100 queues: one Worker per queue). */
export const DISTINCT_COUNTS = [1, 100, 10_000] as const;
/** Largest number of queues (one BullMQ Worker each) the BullMQ peer is run with. */
export const BULLMQ_MAX_QUEUES = 100;
/** Offered rates of the latency figure, per second. */
export const LATENCY_RATES = [500, 2000] as const;

const n = (v: number) => v.toLocaleString('en-US');
const atLeast = (bound: number, text = `>= ${bound}x`) => ({
  on: 'ratio' as const,
  op: '>=' as const,
  bound,
  text,
});

/** Every row of the table, for the given sizes. */
export function rowSpecs(s: Sizes): RowSpec[] {
  const rows: RowSpec[] = [
    {
      label: `enqueue batched (${n(s.enqueueBatched)}, 1,000/call; BullMQ addBulk)`,
      unit: 'tasks/s',
      a: 'enqueue-batched|codeq',
      b: 'enqueue-batched|bullmq',
      target: atLeast(2),
    },
    {
      label: `enqueue batched (${n(s.enqueueBatched)}, 1,000/call, 4 calls in flight; BullMQ addBulk likewise)`,
      unit: 'tasks/s',
      a: 'enqueue-batched4|codeq',
      b: 'enqueue-batched4|bullmq',
      target: atLeast(2),
    },
    {
      label: `enqueue batched over HTTP (POST /tasks/batch, 1,000/call)`,
      unit: 'tasks/s',
      a: 'enqueue-batched|codeq-http',
      b: 'enqueue-batched|bullmq',
    },
    {
      label: `enqueue one at a time, 64 in flight (${n(s.enqueueSingle)})`,
      unit: 'tasks/s',
      a: 'enqueue-single|codeq',
      b: 'enqueue-single|bullmq',
    },
    {
      label: `process ${n(s.backlog)} backlog, SDK Worker in-process (BullMQ c=64)`,
      unit: 'tasks/s',
      a: 'process|codeq-sdk',
      b: 'process|bullmq',
      target: atLeast(1.5),
    },
    {
      label: `process ${n(s.backlog)} backlog, engine claim loops 16x128`,
      unit: 'tasks/s',
      a: 'process|codeq',
      b: 'process|bullmq',
      target: atLeast(1.5, '>= 1.5x (info)'),
    },
    {
      label: `process ${n(s.backlog)} backlog, SDK Worker over HTTP (batch endpoints)`,
      unit: 'tasks/s',
      a: 'process|codeq-sdk-http',
      b: 'process|bullmq',
      target: atLeast(0.75),
    },
    {
      label: `process ${n(s.backlog)} backlog, raw HTTP batch loops 16x256`,
      unit: 'tasks/s',
      a: 'process|codeq-http',
      b: 'process|bullmq',
      target: atLeast(0.75, '>= 0.75x (info)'),
    },
    {
      label: `process ${n(s.backlog)} backlog, SDK Worker over NATS (push delivery)`,
      unit: 'tasks/s',
      a: 'process|codeq-sdk-nats',
      b: 'process|bullmq',
    },
    {
      label: `  SDK Worker over NATS vs over HTTP (issue 18: ahead of HTTP)`,
      unit: 'tasks/s',
      a: 'process|codeq-sdk-nats',
      b: 'process|codeq-sdk-http',
      bNote: 'HTTP:',
      target: atLeast(1),
    },
    {
      label: `  SDK Worker over NATS vs in-process`,
      unit: 'tasks/s',
      a: 'process|codeq-sdk-nats',
      b: 'process|codeq-sdk',
      bNote: 'in-process:',
      target: { on: 'ratio', op: '<=', bound: 1, text: '<= 1.0x (info)' },
    },
  ];
  for (const rate of LATENCY_RATES) {
    for (const p of ['p50', 'p95', 'p99'] as const) {
      const label = `enqueue -> handler start at ${n(rate)}/s, ${p}`;
      rows.push({
        label: `${label} (${s.latencySeconds} s open loop after 1 s warm-up)`,
        unit: 'ms',
        a: `latency-${rate}-${p}|codeq`,
        b: `latency-${rate}-${p}|bullmq`,
        ...(p === 'p99'
          ? { target: { on: 'ratio' as const, op: '<=' as const, bound: 1, text: '<= 1.0x' } }
          : {}),
      });
    }
    // The SDK Worker over the remote transports, against the in-process one (the row above's codeq).
    for (const [via, name] of [
      ['HTTP', 'codeq-sdk-http'],
      ['NATS', 'codeq-sdk-nats'],
    ] as const) {
      for (const p of ['p50', 'p99'] as const)
        rows.push({
          label: `  SDK Worker over ${via}, ${n(rate)}/s ${p}`,
          unit: 'ms',
          a: `latency-${rate}-${p}|${name}`,
          b: `latency-${rate}-${p}|codeq`,
          bNote: 'in-process:',
        });
    }
  }
  rows.push(
    {
      label: `idle worker, commands/s at Redis + NATS (${s.idleSeconds} s window)`,
      unit: 'cmd/s',
      a: 'idle|codeq',
      b: 'idle|bullmq',
      target: { on: 'value', op: '<=', bound: 0, text: '0' },
    },
    {
      label: `Redis bytes per waiting task (${n(s.backlog)} backlog)`,
      unit: 'B',
      a: 'mem-pending|codeq',
      b: 'mem-pending|bullmq',
    },
    {
      label: `Redis bytes per completed task (${n(s.backlog)}, results kept)`,
      unit: 'B',
      a: 'mem-completed|codeq',
      b: 'mem-completed|bullmq',
    },
    {
      label: `JetStream bytes per processed task (3 events)`,
      unit: 'B',
      a: 'stream-bytes|codeq',
      bNote: 'n/a',
    },
  );
  for (const k of DISTINCT_COUNTS) {
    rows.push({
      label: `process ${n(s.distinct)} tasks over ${n(k)} distinct command(s)`,
      unit: 'tasks/s',
      a: `distinct-${k}|codeq`,
      ...(k <= BULLMQ_MAX_QUEUES
        ? { b: `distinct-${k}|bullmq` }
        : { bNote: `n/a (${n(k)} Workers impractical)` }),
    });
  }
  rows.push(
    {
      label: `projection rebuild, ${n(s.bigBacklog)} events (admin rebuild: deletes the full projection first)`,
      unit: 'events/s',
      a: 'rebuild|codeq',
      bNote: 'n/a',
      target: { on: 'value', op: '>=', bound: 100_000, text: '>= 100,000' },
    },
    {
      label: `projection rebuild, ${n(s.bigBacklog)} events, after Redis lost the projection`,
      unit: 'events/s',
      a: 'rebuild-lost|codeq',
      bNote: 'n/a',
      target: { on: 'value', op: '>=', bound: 100_000, text: '>= 100,000' },
    },
    {
      label: `claim latency (count 1), ${n(s.bigBacklog)} waiting vs near-empty queue, median`,
      unit: 'ms',
      a: 'claim-backlog|codeq',
      b: 'claim-empty|codeq',
      bNote: 'empty queue:',
      target: { on: 'ratio', op: '<=', bound: 2, text: '<= 2.0x of empty' },
    },
    {
      label: `Redis bytes per waiting task (${n(s.bigBacklog)} backlog)`,
      unit: 'B',
      a: 'mem-big|codeq',
      bNote: 'n/a',
    },
    {
      label: `JetStream bytes per waiting task (${n(s.bigBacklog)}, 1 event)`,
      unit: 'B',
      a: 'stream-big|codeq',
      bNote: 'n/a',
    },
  );
  rows.push(...flowRows(s));
  return rows;
}
