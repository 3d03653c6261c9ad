/**
 * A schedule's calendar with a fake clock: cron in time zones (a spring-forward and a fall-back day
 * in America/New_York), 5- and 6-field cron, `every` intervals, startAt/endAt, jitter.
 */
import { describe, expect, it } from 'vitest';
import {
  countTicks,
  cronProblem,
  fireTime,
  jitterMs,
  nextTick,
  parseEvery,
  prevTick,
  ticksAfter,
  ticksBefore,
  timezoneProblem,
  type Calendar,
} from '../../src/actors/schedule-calendar.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const NY = 'America/New_York';

describe('cron in a time zone', () => {
  /** A daily cron's next three ticks from `fromIso`, and its ticks on the (New York) day of `dayIso`. */
  function daily(cron: string, fromIso: string, dayIso: string): { next: string[]; onTheDay: number } {
    const cal: Calendar = { cron, timezone: NY };
    const dayStart = at(`${dayIso}T04:00:00Z`);
    const onTheDay = ticksAfter(cal, dayStart - 1, 10).filter((t) => t < dayStart + 86_400_000);
    return { next: ticksAfter(cal, at(fromIso), 3).map((t) => iso(t) as string), onTheDay: onTheDay.length };
  }

  it('a 02:30 daily cron on the spring-forward day (2026-03-08, 02:30 does not exist): runs once, at 03:30 EDT', () => {
    // 03-08 02:30 EST does not exist: the one tick that day is 03:30 EDT (07:30Z), then 02:30 EDT.
    expect(daily('30 2 * * *', '2026-03-07T12:00:00Z', '2026-03-08')).toEqual({
      next: ['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z'],
      onTheDay: 1,
    });
  });

  it('a 01:30 daily cron on the fall-back day (2026-11-01, 01:30 happens twice): runs once, at the first', () => {
    expect(daily('30 1 * * *', '2026-10-31T12:00:00Z', '2026-11-01')).toEqual({
      next: ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z'],
      onTheDay: 1,
    });
    // Stepping from the first 01:30 (EDT) does not find the second one (EST, 06:30Z).
    const cal: Calendar = { cron: '30 1 * * *', timezone: NY };
    expect(iso(nextTick(cal, at('2026-11-01T05:30:00Z')))).toBe('2026-11-02T06:30:00.000Z');
  });

  it('a daily 09:00 follows the zone across the change (14:00Z in winter, 13:00Z in summer)', () => {
    const cal: Calendar = { cron: '0 9 * * *', timezone: NY };
    expect(iso(nextTick(cal, at('2026-03-07T00:00:00Z')))).toBe('2026-03-07T14:00:00.000Z');
    expect(iso(nextTick(cal, at('2026-03-08T00:00:00Z')))).toBe('2026-03-08T13:00:00.000Z');
    expect(iso(nextTick({ cron: '0 9 * * *', timezone: 'UTC' }, at('2026-03-08T00:00:00Z')))).toBe(
      '2026-03-08T09:00:00.000Z',
    );
  });

  it('6 fields: seconds first; next and prev are strict', () => {
    const cal: Calendar = { cron: '*/10 * * * * *', timezone: 'UTC' };
    expect(iso(nextTick(cal, at('2026-01-01T00:00:00Z')))).toBe('2026-01-01T00:00:10.000Z');
    expect(iso(nextTick(cal, at('2026-01-01T00:00:05.500Z')))).toBe('2026-01-01T00:00:10.000Z');
    expect(iso(prevTick(cal, at('2026-01-01T00:00:10Z')))).toBe('2026-01-01T00:00:00.000Z');
    expect(ticksBefore(cal, at('2026-01-01T00:00:30Z'), 3).map(iso)).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:10.000Z',
      '2026-01-01T00:00:00.000Z',
    ]);
  });

  it('refuses malformed expressions and unknown zones', () => {
    expect(cronProblem('*/5 * * * *')).toBeUndefined();
    expect(cronProblem('0 */5 * * * *')).toBeUndefined();
    expect(cronProblem('* * * *')).toMatch(/4 fields/);
    expect(cronProblem('0 0 0 1 1 * 2030')).toMatch(/7 fields/);
    expect(cronProblem('61 * * * *')).toMatch(/invalid cron/);
    expect(timezoneProblem('Europe/Paris')).toBeUndefined();
    expect(timezoneProblem('Mars/Olympus')).toMatch(/unknown time zone/);
  });
});

describe('every', () => {
  it('parses durations, at least 1 s', () => {
    expect(parseEvery('30s')).toBe(30_000);
    expect(parseEvery('5m')).toBe(300_000);
    expect(parseEvery('1h30m')).toBe(5_400_000);
    expect(parseEvery('1d')).toBe(86_400_000);
    for (const bad of ['0s', '500ms', '1', 'm', '1 h', '-1s', '1.5h', ''])
      expect(parseEvery(bad)).toBeUndefined();
  });

  it('ticks on multiples of the interval since the epoch, or since startAt when given', () => {
    expect(iso(nextTick({ every: '5m', timezone: 'UTC' }, at('2026-01-01T00:07:00Z')))).toBe(
      '2026-01-01T00:10:00.000Z',
    );
    const startAt = at('2026-01-01T00:00:07Z');
    const cal: Calendar = { every: '10s', timezone: 'UTC', startAt };
    expect(ticksAfter(cal, 0, 3).map(iso)).toEqual([
      '2026-01-01T00:00:07.000Z',
      '2026-01-01T00:00:17.000Z',
      '2026-01-01T00:00:27.000Z',
    ]);
    expect(prevTick(cal, startAt)).toBeUndefined();
    expect(iso(prevTick(cal, at('2026-01-01T00:00:20Z')))).toBe('2026-01-01T00:00:17.000Z');
  });
});

describe('startAt and endAt', () => {
  it('no tick before startAt nor after endAt (cron and every)', () => {
    for (const base of [{ cron: '0 * * * *' }, { every: '1h' }]) {
      const cal: Calendar = {
        ...base,
        timezone: 'UTC',
        startAt: at('2026-01-01T10:00:00Z'),
        endAt: at('2026-01-01T12:00:00Z'),
      };
      expect(ticksAfter(cal, at('2026-01-01T00:00:00Z'), 10).map(iso)).toEqual([
        '2026-01-01T10:00:00.000Z',
        '2026-01-01T11:00:00.000Z',
        '2026-01-01T12:00:00.000Z',
      ]);
      expect(nextTick(cal, at('2026-01-01T12:00:00Z'))).toBeUndefined();
      expect(iso(prevTick(cal, at('2026-01-02T00:00:00Z')))).toBe('2026-01-01T12:00:00.000Z');
      expect(prevTick(cal, at('2026-01-01T10:00:00Z'))).toBeUndefined();
      expect(countTicks(cal, at('2026-01-01T10:00:00Z'), at('2026-01-01T12:00:00Z'), 100)).toBe(3);
    }
  });
});

describe('jitter', () => {
  it('is deterministic per schedule and tick, within 0..jitterSeconds, and differs between ticks', () => {
    const ticks = ticksAfter({ every: '1m', timezone: 'UTC' }, at('2026-01-01T00:00:00Z'), 50);
    const a = ticks.map((t) => jitterMs('nightly', t, 30));
    expect(ticks.map((t) => jitterMs('nightly', t, 30))).toEqual(a);
    for (const j of a) expect(j >= 0 && j <= 30_000).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(40);
    expect(ticks.map((t) => jitterMs('other', t, 30))).not.toEqual(a);
    expect(jitterMs('nightly', ticks[0]!, 0)).toBe(0);
    expect(fireTime('nightly', { jitterSeconds: 30 }, ticks[0]!)).toBe(ticks[0]! + a[0]!);
  });
});
