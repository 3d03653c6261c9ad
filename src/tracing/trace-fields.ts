/**
 * The bridge between OpenTelemetry's context and codeQ's `traceParent`/`traceState` task fields.
 * The fields are W3C Trace Context by definition, so they are written and read here in that format
 * directly rather than through the global propagator: a process whose propagator is B3 (or none is
 * registered) still links its producers and workers.
 */
import { ROOT_CONTEXT, context, createTraceState, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Context, SpanContext } from '@opentelemetry/api';
import { isTraceParent, isTraceState } from '../contract/trace-context.js';

/** A task's trace fields, as enqueue inputs and task views carry them. */
export interface TraceFields {
  /** W3C `traceparent`. */
  traceParent?: string | undefined;
  /** W3C `tracestate` (only with a `traceParent`). */
  traceState?: string | undefined;
}

/**
 * The W3C trace fields of the span in `ctx` (default the active context), or undefined when it
 * holds no valid span context (no OpenTelemetry SDK registered, or no span started).
 */
export function traceFieldsOf(ctx: Context = context.active()): TraceFields | undefined {
  const span = trace.getSpanContext(ctx);
  if (span === undefined || !isSpanContextValid(span)) return undefined;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const fields: TraceFields = { traceParent: `00-${span.traceId}-${span.spanId}-${flags}` };
  const state = span.traceState?.serialize();
  if (state) fields.traceState = state;
  return fields;
}

/**
 * Gives `input` the active span's trace fields when it has none of its own (neither field set), so
 * a task enqueued inside a span carries that span's context to its worker. Answers `input` itself
 * when nothing is added (no copy on the path without tracing), else a copy with the fields.
 */
export function withActiveTrace<T extends TraceFields>(input: T): T {
  if (typeof input !== 'object' || input === null) return input;
  if (input.traceParent !== undefined || input.traceState !== undefined) return input;
  const fields = traceFieldsOf();
  return fields === undefined ? input : { ...input, ...fields };
}

/**
 * The remote span context a task's trace fields describe, or undefined when there is none or it is
 * not valid W3C (a task written by another codeQ may carry anything). A `traceState` that is not
 * valid W3C is dropped, the `traceParent` kept.
 */
export function spanContextOf(fields: TraceFields): SpanContext | undefined {
  const parent = fields.traceParent;
  if (parent === undefined || !isTraceParent(parent)) return undefined;
  // version-traceid-parentid-flags; a later version's extra fields are ignored, as the spec says.
  const spanContext: SpanContext = {
    traceId: parent.slice(3, 35),
    spanId: parent.slice(36, 52),
    traceFlags: parseInt(parent.slice(53, 55), 16),
    isRemote: true,
  };
  const state = fields.traceState;
  if (state !== undefined && state !== '' && isTraceState(state))
    spanContext.traceState = createTraceState(state);
  return spanContext;
}

/** `ctx` (default the root context) with the span context of `fields` as its parent, if any. */
export function contextOf(fields: TraceFields, ctx: Context = ROOT_CONTEXT): Context {
  const spanContext = spanContextOf(fields);
  return spanContext === undefined ? ctx : trace.setSpanContext(ctx, spanContext);
}
