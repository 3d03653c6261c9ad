/**
 * Decision micro-benchmark: µs per decision on the fast path (`decide`, transition table derived
 * from the machine) versus xstate's pure `transition()` on the same machine, for claim, complete
 * and nack. Both sides restore from a projection-style snapshot on every call, as the hot path does.
 *
 * Run: `npm run bench:decision` (or `npx tsx bench/decision.bench.ts`).
 */
import { transition } from 'xstate';
import { DEFAULT_BACKOFF } from '../src/actors/backoff.js';
import { candidateEvents, decide, evolve } from '../src/actors/task.decider.js';
import { taskMachine } from '../src/actors/task.machine.js';
import type { DecisionContext, TaskIntent, TaskSnapshot } from '../src/actors/task.types.js';

const NOW = 1_700_000_000_000;
const ctx: DecisionContext = {
  taskId: '2b1f3c1e-8f51-4c3e-9a55-0d3c1b7d9e10',
  command: 'build',
  actor: 'worker-1',
  now: NOW,
  backoff: DEFAULT_BACKOFF,
  random: Math.random,
};
const pending: TaskSnapshot = { status: 'pending', attempts: 0, maxAttempts: 5, version: 41 };
const running: TaskSnapshot = {
  status: 'inProgress',
  attempts: 1,
  maxAttempts: 5,
  workerId: 'worker-1',
  leaseUntil: NOW + 300_000,
  version: 42,
};

const cases: { name: string; snapshot: TaskSnapshot; command: TaskIntent }[] = [
  { name: 'claim', snapshot: pending, command: { type: 'claim', workerId: 'worker-1', leaseMs: 300_000 } },
  {
    name: 'complete',
    snapshot: running,
    command: { type: 'complete', workerId: 'worker-1', result: { ok: true } },
  },
  { name: 'nack', snapshot: running, command: { type: 'nack', workerId: 'worker-1', reason: 'flaky' } },
];

/** The same decision through xstate: restore a machine snapshot, try the candidates with `transition()`. */
function xstateDecide(snapshot: TaskSnapshot, command: TaskIntent): boolean {
  const { status, version: _version, ...context } = snapshot;
  const restored = taskMachine.resolveState({ value: status, context });
  for (const event of candidateEvents(snapshot, command, ctx)) {
    const [next] = transition(taskMachine, restored, event);
    if (next !== restored) return true;
  }
  return false;
}

let sink = 0;
/** Median µs per call over `rounds` timed rounds of `iterations` calls each (after a warm-up round). */
function measure(fn: () => boolean, iterations: number, rounds = 7): number {
  for (let i = 0; i < iterations; i++) sink += fn() ? 1 : 0;
  const perCall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += fn() ? 1 : 0;
    perCall.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(rounds / 2)]!;
}

const rows = cases.map(({ name, snapshot, command }) => {
  if (!decide(snapshot, command, ctx).ok || !xstateDecide(snapshot, command))
    throw new Error(`${name} refused`);
  const fast = measure(() => decide(snapshot, command, ctx).ok, 200_000);
  const xs = measure(() => xstateDecide(snapshot, command), 20_000);
  return {
    decision: name,
    'fast µs': fast.toFixed(2),
    'xstate µs': xs.toFixed(2),
    speedup: `${(xs / fast).toFixed(0)}x`,
  };
});

const claimEvent = candidateEvents(pending, cases[0]!.command, ctx)[0]!;
const replay = measure(() => evolve(pending, claimEvent).status === 'inProgress', 200_000);

console.log(`Decision micro-benchmark (node ${process.version}, ${process.platform}/${process.arch})`);
console.table(rows);
console.log(`evolve (replay one claimed event): ${replay.toFixed(2)} µs`);
if (sink < 0) console.log(sink);
