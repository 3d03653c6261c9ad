/** The flow group's sizes and table rows (issue 15: group keys, per-key limits, fair claiming). */
import type { Sizes } from './figures.js';
import { smallKeyTasks } from './peers/codeq-flow.js';
import type { RowSpec } from './report.js';

/** Group keys of the flow processing figures (issue 15). */
export const FLOW_KEYS = 1000;
/** Per-key concurrency limit of the flow figures (tasks of one key leased at once). */
export const FLOW_LIMIT = 2;
/** Group keys the big grouped backlog is spread over (round robin). */
export const BIG_BACKLOG_KEYS = 10_000;
const n = (v: number) => v.toLocaleString('en-US');

/** The flow group's rows: throughput, when the keys finished, claim latency over keys. */
export function flowRows(s: Sizes): RowSpec[] {
  const even = `${n(s.backlog)} over ${n(FLOW_KEYS)} keys (enqueued key after key)`;
  const small = smallKeyTasks({ tasks: s.backlog, keys: FLOW_KEYS, layout: 'skewed', limit: FLOW_LIMIT });
  const skewed = `${n(s.backlog)}: one key of ${n(s.backlog - small * (FLOW_KEYS - 1))} first, then ${n(FLOW_KEYS - 1)} keys of ${n(small)}`;
  const big = `${n(s.bigBacklog)} waiting over ${n(BIG_BACKLOG_KEYS)} keys (limit ${FLOW_LIMIT}) vs ${n(s.bigBacklog)} without keys`;
  const limit = `per-key limit ${FLOW_LIMIT}`;
  const rows: RowSpec[] = [
    {
      label: `process ${even}, ${limit} vs the same keys unlimited`,
      unit: 'tasks/s',
      a: 'flow-even|limit',
      b: 'flow-even|keys',
      bNote: 'unlimited:',
    },
    {
      label: `process ${even}, unlimited (rotation only) vs no group keys`,
      unit: 'tasks/s',
      a: 'flow-even|keys',
      b: 'flow-even|none',
      bNote: 'no keys:',
    },
    {
      label: `process ${even}, ${limit} vs no group keys`,
      unit: 'tasks/s',
      a: 'flow-even|limit',
      b: 'flow-even|none',
      bNote: 'no keys:',
    },
  ];
  for (const [p, what] of [
    ['p10', 'p10'],
    ['p50', 'p50'],
    ['p90', 'p90'],
    ['spread', 'last / first'],
  ] as const) {
    for (const v of ['limit', 'keys'] as const)
      rows.push({
        label: `${even}: each key's last completion as a share of the run, ${what}, ${v === 'limit' ? limit : 'unlimited'} vs no keys`,
        unit: p === 'spread' ? 'x' : '',
        a: `flow-even-${p}|${v}`,
        b: `flow-even-${p}|none`,
        bNote: 'no keys:',
      });
  }
  rows.push({
    label: `process ${skewed}, fair rotation (no limit) vs no group keys`,
    unit: 'tasks/s',
    a: 'flow-skewed|keys',
    b: 'flow-skewed|none',
    bNote: 'no keys:',
  });
  for (const [p, what] of [
    ['p50', "small keys' last completion as a share of the run, p50"],
    ['p90', "small keys' last completion as a share of the run, p90"],
    ['max', 'the last small key done, share of the run'],
    ['big', "the big key's last completion, share of the run"],
  ] as const)
    rows.push({
      label: `${skewed}: ${what}, rotation vs no keys`,
      unit: '',
      a: `flow-skewed-${p}|keys`,
      b: `flow-skewed-${p}|none`,
      bNote: 'no keys:',
    });
  rows.push(
    {
      label: `claim latency (count 1), ${big}, median`,
      unit: 'ms',
      a: 'claim-grouped|codeq',
      b: 'claim-ungrouped|codeq',
      bNote: 'no keys:',
    },
    {
      label: `claim latency (count 1), ${big}, p99`,
      unit: 'ms',
      a: 'claim-grouped-p99|codeq',
      b: 'claim-ungrouped-p99|codeq',
      bNote: 'no keys:',
    },
    {
      label: `claim latency (count 1), ${n(s.bigBacklog)} waiting over ${n(BIG_BACKLOG_KEYS)} keys vs near-empty queue, median`,
      unit: 'ms',
      a: 'claim-grouped|codeq',
      b: 'claim-flow-empty|codeq',
      bNote: 'empty queue:',
      target: { on: 'ratio', op: '<=', bound: 2, text: '<= 2.0x of empty' },
    },
    {
      label: `Redis bytes per waiting task, ${big}`,
      unit: 'B',
      a: 'mem-grouped|codeq',
      b: 'mem-big|codeq',
      bNote: 'no keys:',
    },
    {
      label: `enqueue rate filling ${big} (2 calls of 1,000 in flight)`,
      unit: 'tasks/s',
      a: 'fill-grouped|codeq',
      b: 'fill-ungrouped|codeq',
      bNote: 'no keys:',
    },
  );
  return rows;
}
