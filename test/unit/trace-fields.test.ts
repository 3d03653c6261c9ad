/**
 * The bridge between OpenTelemetry contexts and codeQ's `traceParent`/`traceState` task fields:
 * written as W3C from a span context, read back into a remote span context, and never invented.
 */
import { ROOT_CONTEXT, TraceFlags, context, createTraceState, trace } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextOf, spanContextOf, traceFieldsOf, withActiveTrace } from '../../src/tracing/trace-fields.js';

const span: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  traceState: createTraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'),
};
const inSpan = trace.setSpanContext(ROOT_CONTEXT, span);

describe('trace fields', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => context.disable());

  it('writes a span context as W3C traceparent and tracestate', () => {
    expect(traceFieldsOf(inSpan)).toEqual({
      traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
      ...span,
      traceFlags: TraceFlags.NONE,
      traceState: undefined,
    });
    expect(traceFieldsOf(unsampled)).toEqual({
      traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
    });
  });

  it('has nothing to write without a valid span context', () => {
    expect(traceFieldsOf(ROOT_CONTEXT)).toBeUndefined();
    expect(
      traceFieldsOf(trace.setSpanContext(ROOT_CONTEXT, { ...span, traceId: '0'.repeat(32) })),
    ).toBeUndefined();
  });

  it('reads the fields back as a remote span context', () => {
    const read = spanContextOf(traceFieldsOf(inSpan)!);
    expect(read).toMatchObject({ traceId: span.traceId, spanId: span.spanId, traceFlags: 1, isRemote: true });
    expect(read?.traceState?.serialize()).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(trace.getSpanContext(contextOf({ traceParent: traceFieldsOf(inSpan)!.traceParent }))?.spanId).toBe(
      span.spanId,
    );
  });

  it('reads nothing from absent or invalid fields, and drops an invalid tracestate alone', () => {
    expect(spanContextOf({})).toBeUndefined();
    expect(spanContextOf({ traceParent: 'not-a-traceparent' })).toBeUndefined();
    expect(spanContextOf({ traceParent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` })).toBeUndefined();
    const kept = spanContextOf({
      traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      traceState: 'Not Valid',
    });
    expect(kept?.spanId).toBe(span.spanId);
    expect(kept?.traceState).toBeUndefined();
    expect(contextOf({ traceParent: 'nope' })).toBe(ROOT_CONTEXT);
  });

  it("gives an input the active span's fields only when it has none of its own", () => {
    const input: { command: string; traceParent?: string } = { command: 'c' };
    expect(withActiveTrace(input)).toBe(input); // no active span: the same object, not a copy
    context.with(inSpan, () => {
      expect(withActiveTrace(input)).toEqual({
        command: 'c',
        traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      });
      const given = { command: 'c', traceParent: '00-11111111111111111111111111111111-2222222222222222-00' };
      expect(withActiveTrace(given)).toBe(given);
      // A lone traceState stays as given, for validation to refuse it.
      const lone = { command: 'c', traceState: 'a=b' };
      expect(withActiveTrace(lone)).toBe(lone);
    });
    expect(input).toEqual({ command: 'c' });
  });
});
