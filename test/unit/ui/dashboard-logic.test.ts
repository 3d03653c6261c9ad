/**
 * The dashboard's pure logic (no browser): the event-stream parser, the timeline's sentences, the
 * API root under a path prefix, hash routes, sparkline points, the search request. Type-checked
 * with ui/tsconfig.json (browser code), run by the unit project.
 */
import { describe, expect, it } from 'vitest';
import { apiRoot, query } from '../../../ui/src/api/client';
import { parseEvents } from '../../../ui/src/api/event-stream';
import type { HistoryEvent } from '../../../ui/src/api/types';
import { sparkPoints } from '../../../ui/src/components/sparkline';
import { filtersOf } from '../../../ui/src/components/task-search-form';
import { duration } from '../../../ui/src/format';
import { searchPath } from '../../../ui/src/pages/tasks-page';
import { parseHash, routeHash } from '../../../ui/src/router';
import { timeline } from '../../../ui/src/timeline-text';

describe('parseEvents', () => {
  it('splits complete events, keeps the incomplete rest, skips comments and joins data lines', () => {
    const chunk =
      ': ping\n\nevent: task\ndata: {"seq":1}\n\nevent: overview\r\ndata: a\r\ndata: b\r\n\r\nevent: ta';
    const { events, rest } = parseEvents(chunk);
    expect(events).toEqual([
      { event: 'task', data: '{"seq":1}' },
      { event: 'overview', data: 'a\nb' },
    ]);
    expect(rest).toBe('event: ta');
    expect(parseEvents(`${rest}sk\ndata: x\n\n`).events).toEqual([{ event: 'task', data: 'x' }]);
  });
});

describe('timeline', () => {
  const at = (
    seq: number,
    type: string,
    data: Record<string, unknown>,
    actor = 'worker:w1',
  ): HistoryEvent => ({
    seq,
    type,
    actor,
    data,
    time: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  });

  it('says who claimed, folds heartbeats, and gives a nack its reason and backoff', () => {
    const entries = timeline([
      at(1, 'enqueued', { priority: 5, maxAttempts: 3 }, 'producer:p'),
      at(2, 'claimed', { workerId: 'w1', attempts: 1, leaseUntil: 1 }),
      at(3, 'heartbeat', { workerId: 'w1', leaseUntil: 2 }),
      at(4, 'heartbeat', { workerId: 'w1', leaseUntil: 3 }),
      at(5, 'heartbeat', { workerId: 'w1', leaseUntil: 4 }),
      at(6, 'nacked', { workerId: 'w1', reason: 'timeout', delayMs: 30_000, runAt: 5 }),
      at(7, 'requeued', {}, 'admin:ops'),
      at(8, 'deleted', {}, 'admin:ops'),
    ]);
    expect(entries.map((e) => [e.first.type, e.count])).toEqual([
      ['enqueued', 1],
      ['claimed', 1],
      ['heartbeat', 3],
      ['nacked', 1],
      ['requeued', 1],
      ['deleted', 1],
    ]);
    expect(entries[0]!.text).toMatch(/^Enqueued by producer:p, priority 5, up to 3 attempts$/);
    expect(entries[1]!.text).toMatch(/^Claimed by w1 \(attempt 1\)/);
    expect(entries[2]!.text).toMatch(/^3 heartbeats from w1/);
    expect(entries[3]!.text).toMatch(/^Nacked by w1: “timeout”; retry in 30 s/);
    expect(entries[4]!.text).toBe('Sent back from the DLQ by admin:ops, attempts reset');
    expect(entries[5]!.text).toBe('Deleted from the DLQ by admin:ops');
  });

  it('keeps heartbeats of different workers apart', () => {
    const entries = timeline([
      at(1, 'heartbeat', { workerId: 'w1', leaseUntil: 1 }),
      at(2, 'heartbeat', { workerId: 'w2', leaseUntil: 2 }),
    ]);
    expect(entries).toHaveLength(2);
  });
});

describe('addresses and routes', () => {
  it('finds the API root before /ui/, with or without a prefix', () => {
    expect(apiRoot('/ui/')).toBe('');
    expect(apiRoot('/codeq/ui/')).toBe('/codeq');
    expect(apiRoot('/a/b/ui/index.html')).toBe('/a/b');
  });

  it('round-trips a hash route with its filters, leaving out empty ones', () => {
    const hash = routeHash('/tasks', { command: 'GEN', state: '', payloadValue: 'a&b=c' });
    expect(hash).toBe('#/tasks?command=GEN&payloadValue=a%26b%3Dc');
    const route = parseHash(hash);
    expect(route.path).toBe('/tasks');
    expect(route.params.get('payloadValue')).toBe('a&b=c');
    expect(parseHash('').path).toBe('/');
  });

  it('asks the search for the filters given, state all as no state, times as epoch ms', () => {
    const filters = filtersOf(new URLSearchParams('command=GEN&state=all&createdFrom=2026-01-02T03:04'));
    const path = searchPath(filters, 'c1');
    const params = new URL(path, 'http://x').searchParams;
    expect(new URL(path, 'http://x').pathname).toBe('/v1/codeq/admin/tasks/search');
    expect(Object.fromEntries(params)).toEqual({
      command: 'GEN',
      createdFrom: String(new Date('2026-01-02T03:04').getTime()),
      cursor: 'c1',
      limit: '50',
    });
    expect(query({ a: undefined, b: '' })).toBe('');
  });
});

describe('figures', () => {
  it('scales sparkline points into the box, a flat zero line at the bottom', () => {
    expect(sparkPoints([0, 0], 10, 10)).toBe('0.0,9.0 10.0,9.0');
    expect(sparkPoints([0, 4, 2], 10, 10)).toBe('0.0,9.0 5.0,1.0 10.0,5.0');
  });

  it('writes durations', () => {
    expect([duration(850), duration(12_000), duration(240_000), duration(undefined)]).toEqual([
      '850 ms',
      '12 s',
      '4 min',
      '—',
    ]);
  });
});
