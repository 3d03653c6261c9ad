/**
 * The span a worker's handler runs in: `codeq process <command>`, kind CONSUMER, one per task.
 *
 * Following OpenTelemetry's messaging conventions, the span links to the producer's context (the
 * task's `traceParent`/`traceState`); since it processes exactly one task, it is also that
 * context's child (which the conventions allow for a single message), so the producer's trace shows
 * the handler's work under it in viewers that do not follow links. A task without a producer context
 * starts a new trace: the handler's span never hangs under whatever was active where the worker was
 * created. With no OpenTelemetry SDK registered there is no span: the handler is called directly.
 */
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import type { Span, SpanOptions } from '@opentelemetry/api';
import { ATTR, MESSAGING_SYSTEM, recordError, spanName, tracer } from '../tracing/spans.js';
import { spanContextOf } from '../tracing/trace-fields.js';
import type { Task } from './transport.js';

/**
 * Starts the span `task`'s handler runs in (see the module's comment for its parent and link);
 * undefined when no OpenTelemetry SDK is registered.
 */
export function startProcessSpan(task: Task): Span | undefined {
  const codeq = tracer();
  if (codeq === undefined) return undefined;
  const producer = spanContextOf(task);
  const options: SpanOptions = {
    kind: SpanKind.CONSUMER,
    attributes: {
      [ATTR.system]: MESSAGING_SYSTEM,
      [ATTR.operationType]: 'process',
      [ATTR.operationName]: 'process',
      [ATTR.destination]: task.command,
      [ATTR.messageId]: task.id,
      [ATTR.attempt]: task.attempts,
    },
  };
  if (producer !== undefined) options.links = [{ context: producer }];
  const parent = producer === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, producer);
  return codeq.startSpan(spanName('process', task.command), options, parent);
}

/** Calls `handler(job)` with `span` as the active span, so what the handler traces nests under it. */
export function callInSpan<J, R>(span: Span | undefined, handler: (job: J) => R, job: J): R {
  if (span === undefined) return handler(job);
  return context.with(trace.setSpan(ROOT_CONTEXT, span), handler, undefined, job);
}

/** Ends a handler's span after it threw (or its promise rejected): the error recorded on it. */
export function failProcessSpan(span: Span | undefined, error: unknown): void {
  if (span === undefined) return;
  recordError(span, error);
  span.end();
}
