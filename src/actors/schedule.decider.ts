/**
 * The schedule decider: what an operator's or the runner's intent becomes, as an event of the
 * schedule's subject in the control stream, and what each event does to the schedule's state.
 * Pure, like the task and queue deciders: `engine/schedules.ts` loads the last event, decides,
 * appends with the subject's expected sequence and retries on conflict. Each event carries the
 * state after it; {@link evolveSchedule} recomputes it from the event alone, and the two agree.
 */
import { RUN_REQUESTS_MAX, type ScheduleSpec, type ScheduleState } from '../contract/schedules.js';
import type { CodeqErrorCode } from '../errors.js';
import type { ScheduleEvent, ScheduleEventData, ScheduleEventType } from '../events/schedule-event.schema.js';

/** The tick data a runner records (see `scheduleTicked`). */
export type TickRecord = ScheduleEventData<'scheduleTicked'>;

/** What an operator or the schedule runner asks of one schedule. */
export type ScheduleIntent =
  | { type: 'define'; name: string; spec: ScheduleSpec; paused: boolean }
  | { type: 'update'; spec: ScheduleSpec }
  | { type: 'delete' }
  | { type: 'pause'; reason?: string | undefined }
  | { type: 'resume' }
  | { type: 'requestRun'; runId: string }
  | { type: 'recordTick'; tick: TickRecord }
  | { type: 'recordMissed'; from: number; to: number; count?: number | undefined };

/** The event an intent becomes (without its envelope), none, or a refusal. */
export type ScheduleDecision =
  | { kind: 'unchanged' }
  | { kind: 'refused'; code: CodeqErrorCode; message: string }
  | { kind: 'event'; type: ScheduleEventType; data: ScheduleEvent['data']; state: ScheduleState };

const unchanged: ScheduleDecision = { kind: 'unchanged' };

function event<T extends ScheduleEventType>(
  type: T,
  data: ScheduleEventData<T>,
  state: ScheduleState,
): ScheduleDecision {
  return { kind: 'event', type, data, state };
}

/** True when a change of definition moves the calendar (the ticks to come are counted anew). */
function calendarMoved(a: ScheduleSpec, b: ScheduleSpec): boolean {
  return (
    a.cron !== b.cron ||
    a.every !== b.every ||
    a.timezone !== b.timezone ||
    a.startAt !== b.startAt ||
    a.endAt !== b.endAt
  );
}

/**
 * Decides `intent` on a schedule's current state (undefined: never defined) at `now` (epoch ms).
 * An intent that changes nothing (pausing a paused schedule, a tick already recorded) writes nothing.
 */
export function decideSchedule(
  state: ScheduleState | undefined,
  intent: ScheduleIntent,
  now: number,
): ScheduleDecision {
  if (intent.type === 'define') {
    if (state && !state.deleted)
      return { kind: 'refused', code: 'WRONG_STATE', message: `schedule '${intent.name}' already exists` };
    return event(
      'scheduleDefined',
      { spec: intent.spec, paused: intent.paused },
      {
        name: intent.name,
        spec: intent.spec,
        paused: intent.paused,
        deleted: false,
        createdAt: now,
        updatedAt: now,
        // Ticks count from the definition: nothing before it is "missed".
        cursor: now,
        runRequests: [],
      },
    );
  }
  if (!state || state.deleted) return { kind: 'refused', code: 'NOT_FOUND', message: 'schedule not found' };
  switch (intent.type) {
    case 'update': {
      if (JSON.stringify(intent.spec) === JSON.stringify(state.spec)) return unchanged;
      const cursor = calendarMoved(state.spec, intent.spec) ? Math.max(state.cursor, now) : state.cursor;
      return event(
        'scheduleUpdated',
        { spec: intent.spec },
        { ...state, spec: intent.spec, cursor, updatedAt: now },
      );
    }
    case 'delete':
      return event('scheduleDeleted', {}, { ...state, deleted: true, runRequests: [], updatedAt: now });
    case 'pause': {
      if (state.paused) return unchanged;
      const next: ScheduleState = { ...state, paused: true, updatedAt: now };
      if (intent.reason !== undefined) next.pauseReason = intent.reason;
      return event('schedulePaused', intent.reason === undefined ? {} : { reason: intent.reason }, next);
    }
    case 'resume': {
      if (!state.paused) return unchanged;
      const { pauseReason: _reason, ...rest } = state;
      // Ticks that fell while paused are not owed: counting starts again now.
      return event(
        'scheduleResumed',
        {},
        { ...rest, paused: false, cursor: Math.max(state.cursor, now), updatedAt: now },
      );
    }
    case 'requestRun':
      if (state.runRequests.includes(intent.runId)) return unchanged;
      if (state.runRequests.length >= RUN_REQUESTS_MAX)
        return {
          kind: 'refused',
          code: 'WRONG_STATE',
          message: `schedule has ${RUN_REQUESTS_MAX} runs waiting`,
        };
      return event(
        'scheduleRunRequested',
        { runId: intent.runId },
        {
          ...state,
          runRequests: [...state.runRequests, intent.runId],
        },
      );
    case 'recordTick':
      return decideTick(state, intent.tick, now);
    case 'recordMissed': {
      if (intent.to <= state.cursor) return unchanged;
      const data = {
        from: intent.from,
        to: intent.to,
        ...(intent.count === undefined ? {} : { count: intent.count }),
      };
      return event('scheduleTicksMissed', data, { ...state, cursor: intent.to });
    }
  }
}

function decideTick(state: ScheduleState, tick: TickRecord, now: number): ScheduleDecision {
  if (tick.runId !== undefined) {
    // A run-now: the calendar does not move.
    if (!state.runRequests.includes(tick.runId)) return unchanged;
    const runRequests = state.runRequests.filter((id) => id !== tick.runId);
    if (tick.taskId === undefined) return event('scheduleTicked', tick, { ...state, runRequests });
    return event('scheduleTicked', tick, { ...state, runRequests, lastTaskId: tick.taskId, lastRunAt: now });
  }
  // Recorded once: a runner that lost a race records nothing.
  if (tick.tickAt <= state.cursor) return unchanged;
  if (tick.taskId === undefined) return event('scheduleTicked', tick, { ...state, cursor: tick.tickAt });
  return event('scheduleTicked', tick, {
    ...state,
    cursor: tick.tickAt,
    lastTickAt: tick.tickAt,
    lastTaskId: tick.taskId,
    lastRunAt: now,
  });
}

/** The intent an event records (so a fold can decide it again). */
function intentOf(e: ScheduleEvent): ScheduleIntent {
  switch (e.type) {
    case 'scheduleDefined':
      return { type: 'define', name: e.schedule, spec: e.data.spec, paused: e.data.paused };
    case 'scheduleUpdated':
      return { type: 'update', spec: e.data.spec };
    case 'scheduleDeleted':
      return { type: 'delete' };
    case 'schedulePaused':
      return { type: 'pause', reason: e.data.reason };
    case 'scheduleResumed':
      return { type: 'resume' };
    case 'scheduleRunRequested':
      return { type: 'requestRun', runId: e.data.runId };
    case 'scheduleTicked':
      return { type: 'recordTick', tick: e.data };
    case 'scheduleTicksMissed':
      return { type: 'recordMissed', from: e.data.from, to: e.data.to, count: e.data.count };
  }
}

/**
 * The state after `event`, recomputed from the event's intent and time (not read from the state it
 * carries): a fold of a schedule's events equals the state its last event carries.
 */
export function evolveSchedule(
  state: ScheduleState | undefined,
  e: ScheduleEvent,
): ScheduleState | undefined {
  const decision = decideSchedule(state, intentOf(e), e.at);
  return decision.kind === 'event' ? decision.state : state;
}

/** The state a schedule's events fold into (undefined: never defined). */
export function foldSchedule(events: readonly ScheduleEvent[]): ScheduleState | undefined {
  return events.reduce<ScheduleState | undefined>(evolveSchedule, undefined);
}
