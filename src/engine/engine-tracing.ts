/**
 * The engine's server spans: one per enqueue, claim and result call, made at the engine's entry
 * points so that in-process use (the SDK's EngineTransport) is traced as HTTP is (the routes call
 * the same operations). Enqueue also gives each task without trace fields the caller's active
 * context, so a producer inside a span links its worker without passing anything. With no
 * OpenTelemetry SDK registered no span is started (see `bench/tracing-overhead.ts`).
 */
import { SpanKind, context, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, Tracer } from '@opentelemetry/api';
import type { TaskView } from '../contract/views.js';
import {
  ATTR,
  MESSAGING_SYSTEM,
  commandName,
  commonCommand,
  recordError,
  spanName,
  tracer,
} from '../tracing/spans.js';
import { contextOf, spanContextOf, withActiveTrace } from '../tracing/trace-fields.js';
import type { ClaimInput, EnqueueInput, ResultInput } from './engine.types.js';

/** Runs `run` in an active server span under `parent`; ends the span with `run`'s outcome. */
function inServerSpan<T>(
  codeq: Tracer,
  name: string,
  attributes: Attributes,
  parent: Context,
  run: (span: Span) => Promise<T>,
): Promise<T> {
  return codeq.startActiveSpan(name, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
    try {
      return await run(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The messaging attributes every span of one operation has. */
function baseAttributes(type: string, name: string, command: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR.system]: MESSAGING_SYSTEM,
    [ATTR.operationType]: type,
    [ATTR.operationName]: name,
  };
  if (command !== undefined) attributes[ATTR.destination] = command;
  return attributes;
}

/**
 * The enqueue span's parent: the active span (a producer calling in-process, or an instrumented
 * HTTP server), else the producer context the tasks carry when they all carry the same one (a
 * request's `traceparent` header on a server without HTTP instrumentation).
 */
function enqueueParent(inputs: readonly EnqueueInput[]): Context {
  const active = context.active();
  if (trace.getSpan(active) !== undefined) return active;
  const first = inputs[0] as EnqueueInput | null | undefined;
  const parent = typeof first === 'object' && first !== null ? first.traceParent : undefined;
  if (parent === undefined) return active;
  for (const input of inputs) if ((input as EnqueueInput | null)?.traceParent !== parent) return active;
  return contextOf(first!, active);
}

/**
 * Runs an enqueue of `inputs` (each given the active trace context when it has none) in a span
 * `codeq enqueue <command>`; `batch` marks `enqueueMany` (its span counts the tasks).
 */
export function traceEnqueue<T extends TaskView | TaskView[]>(
  inputs: readonly EnqueueInput[],
  batch: boolean,
  run: (inputs: EnqueueInput[]) => Promise<T>,
): Promise<T> {
  const traced = inputs.map((input) => withActiveTrace(input));
  const codeq = tracer();
  if (codeq === undefined) return run(traced);
  const command = commonCommand(traced);
  const attributes = baseAttributes('send', 'enqueue', command);
  if (batch) attributes[ATTR.batchCount] = traced.length;
  return inServerSpan(
    codeq,
    spanName('enqueue', command),
    attributes,
    enqueueParent(traced),
    async (span) => {
      const out = await run(traced);
      const one: TaskView | undefined = Array.isArray(out) ? (out.length === 1 ? out[0] : undefined) : out;
      if (one !== undefined && span.isRecording()) span.setAttribute(ATTR.messageId, one.id);
      return out;
    },
  );
}

/**
 * Runs a claim in a span `codeq claim`: the tasks it took are counted, and linked to their
 * producers' contexts (a claim takes tasks of many traces, so links rather than a parent).
 */
export function traceClaim(input: ClaimInput, run: () => Promise<TaskView[]>): Promise<TaskView[]> {
  const codeq = tracer();
  if (codeq === undefined) return run();
  const commands = (input as ClaimInput | null)?.commands;
  const command = Array.isArray(commands) && commands.length === 1 ? commandName(commands[0]) : undefined;
  const attributes = baseAttributes('receive', 'claim', command);
  const workerId = (input as ClaimInput | null)?.workerId;
  if (typeof workerId === 'string') attributes[ATTR.clientId] = workerId;
  return inServerSpan(codeq, 'codeq claim', attributes, context.active(), async (span) => {
    const tasks = await run();
    if (!span.isRecording()) return tasks;
    span.setAttribute(ATTR.batchCount, tasks.length);
    if (tasks.length === 1) span.setAttribute(ATTR.messageId, tasks[0]!.id);
    const links: Link[] = [];
    for (const task of tasks) {
      const producer = spanContextOf(task);
      if (producer !== undefined) links.push({ context: producer });
    }
    if (links.length > 0) span.addLinks(links);
    return tasks;
  });
}

/**
 * Runs one result (`complete` or `fail`) in a span `codeq result <command>`. The command is often
 * unknown until the task is loaded (`POST /tasks/:id/result` names only the task): `run` gets the
 * span to name it then with {@link nameResultSpan}.
 */
export function traceResult<T>(
  input: { taskId: string; workerId: string },
  operation: 'complete' | 'fail',
  run: (span?: Span) => Promise<T>,
): Promise<T> {
  const codeq = tracer();
  if (codeq === undefined) return run();
  const attributes = baseAttributes('settle', operation, undefined);
  if (typeof input?.taskId === 'string') attributes[ATTR.messageId] = input.taskId;
  if (typeof input?.workerId === 'string') attributes[ATTR.clientId] = input.workerId;
  return inServerSpan(codeq, 'codeq result', attributes, context.active(), run);
}

/** Names a result span after the task's command, once it is known. */
export function nameResultSpan(span: Span, command: string): void {
  if (!span.isRecording()) return;
  span.updateName(spanName('result', command));
  span.setAttribute(ATTR.destination, command);
}

/** Runs a batch of results in a span `codeq result <command>` (the command when every item names it). */
export function traceResults<T>(inputs: readonly ResultInput[], run: () => Promise<T>): Promise<T> {
  const codeq = tracer();
  if (codeq === undefined) return run();
  const command = commonCommand(inputs);
  const attributes = baseAttributes('settle', 'result', command);
  attributes[ATTR.batchCount] = inputs.length;
  return inServerSpan(codeq, spanName('result', command), attributes, context.active(), () => run());
}
