/**
 * W3C Trace Context checks (https://www.w3.org/TR/trace-context/), the format of codeQ's
 * `traceParent`/`traceState` task fields (`pkg/domain/task.go`, filled from OpenTelemetry's W3C
 * propagator in `internal/tracing/tracing.go`). Examples from the specification.
 */
import { describe, expect, it } from 'vitest';
import { isTraceParent, isTraceState } from '../../src/contract/trace-context.js';

describe('isTraceParent', () => {
  it('accepts version 00 with a trace id and parent id, and later versions with more fields', () => {
    expect(isTraceParent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(true);
    expect(isTraceParent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toBe(true);
    expect(isTraceParent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')).toBe(true);
  });

  it('refuses zero ids, version ff, upper case, extra fields on version 00 and wrong lengths', () => {
    for (const bad of [
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      '',
      42,
    ]) {
      expect(isTraceParent(bad)).toBe(false);
    }
  });
});

describe('isTraceState', () => {
  it('accepts key=value lists, multi-tenant keys, spaces around members and empty members', () => {
    expect(isTraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toBe(true);
    expect(isTraceState('fw529a3039@dt=some value , , congo=x')).toBe(true);
    expect(isTraceState('')).toBe(true);
  });

  it('refuses members without "=", upper-case keys, duplicate keys and more than 32 members', () => {
    expect(isTraceState('no equals sign')).toBe(false);
    expect(isTraceState('Rojo=1')).toBe(false);
    expect(isTraceState('a=1,a=2')).toBe(false);
    expect(isTraceState('a=1,b=x,y')).toBe(false);
    const many = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
    expect(isTraceState(many)).toBe(false);
    expect(isTraceState(many.split(',').slice(0, 32).join(','))).toBe(true);
  });
});
