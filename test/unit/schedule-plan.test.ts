/**
 * The schedule runner's plan with a fake clock: a tick fires when due (jitter included), late
 * ticks within the grace still fire, missed ticks follow catchUp none/last/all (bounded by
 * CATCH_UP_MAX_TICKS and the idempotency keys' lifetime); and the overlap decisions.
 */
import { describe, expect, it } from 'vitest';
import { fireTime } from '../../src/actors/schedule-calendar.js';
import { nextRunAt, overlapAction, planTick, type TickStep } from '../../src/actors/schedule-plan.js';
import { decideSchedule, type ScheduleIntent } from '../../src/actors/schedule.decider.js';
import {
  CATCH_UP_MAX_TICKS,
  SCHEDULE_MISFIRE_GRACE_MS,
  type CatchUpPolicy,
  type ScheduleSpec,
  type ScheduleState,
} from '../../src/contract/schedules.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;
const OPTS = { idempotencyTtlMs: DAY };

function state(spec: Partial<ScheduleSpec>, cursor = T0): ScheduleState {
  return {
    name: 'job',
    spec: {
      command: 'c',
      timezone: 'UTC',
      payload: null,
      priority: 0,
      jitterSeconds: 0,
      overlap: 'allow',
      catchUp: 'none',
      every: '1m',
      ...spec,
    },
    paused: false,
    deleted: false,
    createdAt: cursor,
    updatedAt: cursor,
    cursor,
    runRequests: [],
  };
}

/** Runs the plan as the runner does (firing and recording each step) until idle; the steps taken. */
function runUntilIdle(s: ScheduleState, now: number, ttl = DAY): TickStep[] {
  const steps: TickStep[] = [];
  let current = s;
  for (let i = 0; i < 10_000; i++) {
    const step = planTick(current, now, { idempotencyTtlMs: ttl });
    steps.push(step);
    if (step.type === 'idle') return steps;
    const intent: ScheduleIntent =
      step.type === 'fire'
        ? { type: 'recordTick', tick: { tickAt: step.tickAt, taskId: `t${step.tickAt}` } }
        : { type: 'recordMissed', from: step.from, to: step.to, count: step.count };
    const decision = decideSchedule(current, intent, now);
    if (decision.kind !== 'event') throw new Error(`step not recorded: ${JSON.stringify(step)}`);
    current = decision.state;
  }
  throw new Error('no end');
}
const fired = (steps: TickStep[]) => steps.flatMap((s) => (s.type === 'fire' ? [s.tickAt] : []));
const missed = (steps: TickStep[]) => steps.filter((s) => s.type === 'miss');

describe('planTick', () => {
  it('idle until the next tick, then fires it; nextRunAt names it', () => {
    const s = state({ every: '1m' });
    expect(planTick(s, T0 + 59_999, OPTS)).toEqual({ type: 'idle', nextFireAt: T0 + MIN });
    expect(nextRunAt(s)).toBe(T0 + MIN);
    expect(planTick(s, T0 + MIN, OPTS)).toEqual({ type: 'fire', tickAt: T0 + MIN });
  });

  it('a paused or deleted schedule is idle; an ended one too', () => {
    expect(planTick({ ...state({}), paused: true }, T0 + DAY, OPTS)).toEqual({ type: 'idle' });
    expect(planTick({ ...state({}), deleted: true }, T0 + DAY, OPTS)).toEqual({ type: 'idle' });
    expect(planTick(state({ endAt: T0 + 30_000 }), T0 + DAY, OPTS)).toEqual({ type: 'idle' });
    expect(nextRunAt({ ...state({}), paused: true })).toBeUndefined();
  });

  it('jitter delays the fire time, the same way on every call', () => {
    const s = state({ every: '1h', jitterSeconds: 600 });
    const fire = fireTime('job', s.spec, T0 + 3_600_000);
    expect(fire).toBeGreaterThan(T0 + 3_600_000);
    expect(planTick(s, fire - 1, OPTS)).toEqual({ type: 'idle', nextFireAt: fire });
    expect(planTick(s, fire, OPTS)).toEqual({ type: 'fire', tickAt: T0 + 3_600_000 });
  });

  it('ticks late by less than the grace fire whatever catchUp (a leader handover loses none)', () => {
    for (const catchUp of ['none', 'last', 'all'] as CatchUpPolicy[]) {
      const steps = runUntilIdle(state({ every: '1s', catchUp }), T0 + 30_000);
      expect(fired(steps)).toHaveLength(30);
      expect(missed(steps)).toEqual([]);
    }
  });

  const downtime = 10 * MIN + 30_000; // every instance down for 10.5 minutes, a tick every minute
  it('catchUp none: ticks missed beyond the grace are recorded as missed, the on-time one fires', () => {
    const steps = runUntilIdle(state({ every: '1m', catchUp: 'none' }), T0 + downtime);
    expect(missed(steps)).toEqual([{ type: 'miss', from: T0 + MIN, to: T0 + 9 * MIN, count: 9 }]);
    expect(fired(steps)).toEqual([T0 + 10 * MIN]);
  });

  it('catchUp last: with an on-time tick due, the late ones are skipped; without, the last late one fires', () => {
    expect(fired(runUntilIdle(state({ every: '1m', catchUp: 'last' }), T0 + downtime))).toEqual([
      T0 + 10 * MIN,
    ]);
    // 10 min 59 s after, every 5 min: ticks at 5 and 10 are late, none is on time.
    const steps = runUntilIdle(state({ every: '5m', catchUp: 'last' }), T0 + 11 * MIN + 59_000);
    expect(missed(steps)).toEqual([{ type: 'miss', from: T0 + 5 * MIN, to: T0 + 5 * MIN, count: 1 }]);
    expect(fired(steps)).toEqual([T0 + 10 * MIN]);
  });

  it('catchUp all: every missed tick fires, oldest first, up to the most recent CATCH_UP_MAX_TICKS', () => {
    expect(fired(runUntilIdle(state({ every: '1m', catchUp: 'all' }), T0 + downtime))).toEqual(
      Array.from({ length: 10 }, (_, i) => T0 + (i + 1) * MIN),
    );
    // Down for 3 hours: 180 ticks; the 100 most recent late ones fire, plus the on-time one.
    const steps = runUntilIdle(state({ every: '1m', catchUp: 'all' }), T0 + 180 * MIN + 1000);
    const lateFired = fired(steps).filter((t) => t < T0 + 180 * MIN + 1000 - SCHEDULE_MISFIRE_GRACE_MS);
    expect(lateFired).toHaveLength(CATCH_UP_MAX_TICKS);
    expect(lateFired[0]).toBe(T0 + 80 * MIN);
    expect(missed(steps)).toEqual([{ type: 'miss', from: T0 + MIN, to: T0 + 79 * MIN, count: 79 }]);
    expect(fired(steps).at(-1)).toBe(T0 + 180 * MIN);
  });

  it('no tick older than the idempotency keys live ever fires (its key could be gone)', () => {
    const steps = runUntilIdle(state({ every: '1h', catchUp: 'all' }), T0 + 3 * DAY + 1000, DAY);
    const firedTicks = fired(steps);
    expect(Math.min(...firedTicks)).toBeGreaterThanOrEqual(T0 + 2 * DAY + 1000);
    expect(missed(steps)[0]).toMatchObject({ from: T0 + 3_600_000 });
    const last = runUntilIdle(state({ every: '1d', catchUp: 'last' }), T0 + 3 * DAY + 2 * MIN, 90_000);
    expect(fired(last)).toEqual([]);
  });

  it('a cron schedule across the fall-back day fires 01:30 once', () => {
    const cursor = Date.parse('2026-10-31T12:00:00Z');
    const s = state({ every: undefined, cron: '30 1 * * *', timezone: 'America/New_York' }, cursor);
    const steps = runUntilIdle(s, Date.parse('2026-11-01T06:45:00Z'));
    expect(fired(steps).map((t) => new Date(t).toISOString())).toEqual([]);
    const all = runUntilIdle(
      { ...s, spec: { ...s.spec, catchUp: 'all' } },
      Date.parse('2026-11-01T06:45:00Z'),
    );
    expect(fired(all).map((t) => new Date(t).toISOString())).toEqual(['2026-11-01T05:30:00.000Z']);
  });
});

describe('overlapAction', () => {
  it('allow always enqueues; skip and cancelPrevious act only while the previous task is active', () => {
    expect(overlapAction('allow', true)).toBe('enqueue');
    expect(overlapAction('skip', true)).toBe('skip');
    expect(overlapAction('skip', false)).toBe('enqueue');
    expect(overlapAction('cancelPrevious', true)).toBe('cancelPreviousThenEnqueue');
    expect(overlapAction('cancelPrevious', false)).toBe('enqueue');
  });
});
