/**
 * The schedule decider: definitions, changes, pause/resume, run-now requests and tick records, and
 * the fold of a schedule's events equal to the state its last event carries.
 */
import { describe, expect, it } from 'vitest';
import {
  decideSchedule,
  foldSchedule,
  type ScheduleDecision,
  type ScheduleIntent,
} from '../../src/actors/schedule.decider.js';
import { RUN_REQUESTS_MAX, type ScheduleSpec, type ScheduleState } from '../../src/contract/schedules.js';
import {
  SCHEDULE_EVENT_SCHEMA_VERSION,
  validateScheduleEvent,
  type ScheduleEvent,
} from '../../src/events/schedule-event.schema.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const SPEC: ScheduleSpec = {
  command: 'report',
  every: '1m',
  timezone: 'UTC',
  payload: { kind: 'daily' },
  priority: 3,
  jitterSeconds: 0,
  overlap: 'skip',
  catchUp: 'none',
};

/** Decides each intent in turn (time advancing a second per step); the events as the log keeps them. */
function play(intents: ScheduleIntent[]): { events: ScheduleEvent[]; state: ScheduleState | undefined } {
  let state: ScheduleState | undefined;
  const events: ScheduleEvent[] = [];
  intents.forEach((intent, i) => {
    const at = T0 + i * 1000;
    const d = decideSchedule(state, intent, at);
    if (d.kind === 'refused') throw new Error(d.message);
    if (d.kind === 'event') {
      const event = validateScheduleEvent({
        v: SCHEDULE_EVENT_SCHEMA_VERSION,
        type: d.type,
        schedule: 'nightly',
        at,
        actor: 'admin:test',
        data: d.data,
        state: d.state,
      });
      events.push(event);
      state = d.state;
    }
  });
  return { events, state };
}

const refusal = (d: ScheduleDecision) => (d.kind === 'refused' ? d.code : d.kind);

describe('decideSchedule', () => {
  it('define, then update, pause, resume, run requests and ticks; the fold equals the carried state', () => {
    const { events, state } = play([
      { type: 'define', name: 'nightly', spec: SPEC, paused: false },
      { type: 'update', spec: { ...SPEC, priority: 5 } },
      { type: 'pause', reason: 'maintenance' },
      { type: 'pause' },
      { type: 'requestRun', runId: 'r1' },
      { type: 'recordTick', tick: { tickAt: T0 + 4000, runId: 'r1', taskId: 'task-r1' } },
      { type: 'resume' },
      { type: 'recordTick', tick: { tickAt: T0 + 60_000, taskId: 'task-1' } },
      { type: 'recordTick', tick: { tickAt: T0 + 60_000, taskId: 'task-1-again' } },
      { type: 'recordTick', tick: { tickAt: T0 + 120_000, skipped: 'overlap', previousTaskId: 'task-1' } },
      { type: 'recordMissed', from: T0 + 180_000, to: T0 + 240_000, count: 2 },
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'scheduleDefined',
      'scheduleUpdated',
      'schedulePaused',
      'scheduleRunRequested',
      'scheduleTicked',
      'scheduleResumed',
      'scheduleTicked',
      'scheduleTicked',
      'scheduleTicksMissed',
    ]);
    expect(state).toMatchObject({
      paused: false,
      spec: { priority: 5 },
      runRequests: [],
      lastTickAt: T0 + 60_000,
      lastTaskId: 'task-1',
      cursor: T0 + 240_000,
    });
    expect(state?.pauseReason).toBeUndefined();
    expect(foldSchedule(events)).toEqual(state);
    for (let i = 1; i <= events.length; i++)
      expect(foldSchedule(events.slice(0, i))).toEqual(events[i - 1]!.state);
  });

  it('refuses a second definition of a live name, changes of an unknown one; a deleted name may be defined again', () => {
    const { state } = play([{ type: 'define', name: 'nightly', spec: SPEC, paused: false }]);
    expect(
      refusal(decideSchedule(state, { type: 'define', name: 'nightly', spec: SPEC, paused: false }, T0)),
    ).toBe('WRONG_STATE');
    expect(refusal(decideSchedule(undefined, { type: 'pause' }, T0))).toBe('NOT_FOUND');
    const deleted = play([
      { type: 'define', name: 'nightly', spec: SPEC, paused: false },
      { type: 'delete' },
    ]).state;
    expect(refusal(decideSchedule(deleted, { type: 'resume' }, T0))).toBe('NOT_FOUND');
    expect(
      decideSchedule(deleted, { type: 'define', name: 'nightly', spec: SPEC, paused: true }, T0 + 5000),
    ).toMatchObject({
      kind: 'event',
      state: { deleted: false, paused: true, cursor: T0 + 5000 },
    });
  });

  it('resume and a calendar change count ticks from now; other changes keep the cursor', () => {
    const base = play([{ type: 'define', name: 'nightly', spec: SPEC, paused: true }]).state!;
    const resumed = decideSchedule(base, { type: 'resume' }, T0 + 3_600_000);
    expect(resumed).toMatchObject({ kind: 'event', state: { cursor: T0 + 3_600_000 } });
    const running = { ...base, paused: false };
    expect(
      decideSchedule(running, { type: 'update', spec: { ...SPEC, every: '5m' } }, T0 + 7000),
    ).toMatchObject({
      state: { cursor: T0 + 7000 },
    });
    expect(
      decideSchedule(running, { type: 'update', spec: { ...SPEC, priority: 9 } }, T0 + 7000),
    ).toMatchObject({
      state: { cursor: T0 },
    });
    expect(decideSchedule(running, { type: 'update', spec: SPEC }, T0 + 7000).kind).toBe('unchanged');
  });

  it('holds at most RUN_REQUESTS_MAX run-now requests', () => {
    let state = play([{ type: 'define', name: 'nightly', spec: SPEC, paused: false }]).state!;
    for (let i = 0; i < RUN_REQUESTS_MAX; i++) {
      const d = decideSchedule(state, { type: 'requestRun', runId: `r${i}` }, T0);
      if (d.kind !== 'event') throw new Error('refused');
      state = d.state;
    }
    expect(refusal(decideSchedule(state, { type: 'requestRun', runId: 'one-more' }, T0))).toBe('WRONG_STATE');
  });
});
