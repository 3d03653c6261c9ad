/**
 * Tracing overhead micro-benchmark: what codeq's tracing code paths cost per call, first with no
 * OpenTelemetry SDK registered (the default: codeq starts no span), then with one
 * registered (a BasicTracerProvider without exporter and an AsyncLocalStorage context manager), each
 * against the same call without the tracing code. The paths are the ones a task takes: the
 * producer's context injection (`withActiveTrace`), an engine entry point's server span
 * (`traceClaim` around an already-resolved operation) and a worker's handler span
 * (`startProcessSpan` + `callInSpan` + `end`), for a task without and with a producer context.
 *
 * Run: `npx tsx bench/tracing-overhead.ts` (median of 7 rounds after a warm-up round).
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { TaskView } from '../src/contract/views.js';
import { traceClaim } from '../src/engine/engine-tracing.js';
import type { Task, TransportEnqueue } from '../src/sdk/transport.js';
import { callInSpan, startProcessSpan } from '../src/sdk/worker-tracing.js';
import { withActiveTrace } from '../src/tracing/trace-fields.js';

// Only what the span reads: the rest of a task plays no part.
const task = { id: '2b1f3c1e-8f51-4c3e-9a55-0d3c1b7d9e10', command: 'SEND_EMAIL', attempts: 1 } as Task;
const tracedTask: Task = { ...task, traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
const claimInput = { workerId: 'worker-1', commands: ['SEND_EMAIL'], count: 1 };
const claimed: TaskView[] = [];
const claimAnswer = Promise.resolve(claimed);

let sink = 0;
const handler = (job: Task): number => job.attempts;

/** Median µs per call over `rounds` timed rounds of `iterations` calls (after a warm-up round). */
function measure(fn: () => void, iterations: number, rounds = 7): number {
  for (let i = 0; i < iterations; i++) fn();
  const perCall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    perCall.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  return perCall.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

/** {@link measure} for an async call, awaited one after the other. */
async function measureAsync(fn: () => Promise<unknown>, iterations: number, rounds = 7): Promise<number> {
  for (let i = 0; i < iterations; i++) await fn();
  const perCall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    perCall.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  return perCall.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

/** One row: the path without and with its tracing code, µs per call. */
function row(path: string, plain: number, traced: number): Record<string, string> {
  return {
    path,
    'plain µs': plain.toFixed(3),
    'traced µs': traced.toFixed(3),
    'added µs': (traced - plain).toFixed(3),
  };
}

async function table(): Promise<Record<string, string>[]> {
  const N = 200_000;
  const input: TransportEnqueue = { command: 'SEND_EMAIL', payload: {} };
  const copy = () => void (sink += Object.keys({ ...input }).length);
  return [
    row(
      'producer: trace fields of the active context',
      measure(() => void (sink += input.command.length), N),
      measure(() => void (sink += withActiveTrace(input).command.length), N),
    ),
    row('(for scale: one object spread of the input)', 0, measure(copy, N)),
    row(
      'engine: server span around an operation (claim)',
      await measureAsync(() => claimAnswer, N / 4),
      await measureAsync(() => traceClaim(claimInput, () => claimAnswer), N / 4),
    ),
    ...[task, tracedTask].map((t) =>
      row(
        `worker: handler span, task ${t.traceParent ? 'with' : 'without'} producer context`,
        measure(() => void (sink += handler(t)), N),
        measure(() => {
          const span = startProcessSpan(t);
          sink += callInSpan(span, handler, t);
          span?.end();
        }, N),
      ),
    ),
  ];
}

console.log(`Tracing overhead (node ${process.version}, ${process.platform}/${process.arch})`);
console.log('\nNo OpenTelemetry SDK registered (the default):');
console.table(await table());

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider());
console.log('\nAn SDK registered (BasicTracerProvider, no exporter; AsyncLocalStorage context):');
console.table(await table());
if (sink < 0) console.log(sink);
