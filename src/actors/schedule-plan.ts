/**
 * What a schedule's runner does next, at a given time: nothing yet, record missed ticks, or fire a
 * tick; and what a tick does about the previous tick's task (overlap). Pure: the clock is a
 * parameter, so the catch-up and overlap rules are tested with a fake one.
 *
 * A tick fires at its time plus its jitter. A tick whose fire time is within
 * {@link SCHEDULE_MISFIRE_GRACE_MS} of now is on time and fires whatever `catchUp` says (a leader
 * handover does not lose it); an older one was missed while no instance ran schedules, and
 * `catchUp` decides: `none` skips them all, `last` fires the most recent one unless an on-time tick
 * is due anyway, `all` fires the most recent {@link CATCH_UP_MAX_TICKS}. A tick older than the
 * idempotency keys' lifetime never fires (its key may be gone, so exactly-once could not hold).
 */
import {
  CATCH_UP_MAX_TICKS,
  SCHEDULE_MISFIRE_GRACE_MS,
  type OverlapPolicy,
  type ScheduleState,
} from '../contract/schedules.js';
import {
  countTicks,
  fireTime,
  nextTick,
  prevTick,
  ticksBefore,
  ticksFrom,
  type Calendar,
} from './schedule-calendar.js';

/** The next step of a schedule's runner. */
export type TickStep =
  /** Nothing to do before `nextFireAt` (absent: paused, deleted or ended). */
  | { type: 'idle'; nextFireAt?: number | undefined }
  /** Record ticks `from`..`to` (nominal times, inclusive) as missed; `count` when counted. */
  | { type: 'miss'; from: number; to: number; count?: number | undefined }
  /** Fire the tick at `tickAt` (nominal time). */
  | { type: 'fire'; tickAt: number };

/** Tunables of {@link planTick}. */
export interface PlanOptions {
  /** How long an idempotency key lives, ms (`idempotencyTtlMs`): older ticks never fire. */
  idempotencyTtlMs: number;
  /** On-time window, ms; default {@link SCHEDULE_MISFIRE_GRACE_MS}. */
  graceMs?: number | undefined;
}

/** Ticks of a missed range counted at most (a larger range is recorded without a count). */
const COUNT_CAP = 1000;

/** Ticks scanned at most for the first on-time one (an `every: 1s` with an hour of jitter: 3600). */
const SCAN_CAP = 10_000;

/** The next step for `state` at `now` (epoch ms). */
export function planTick(state: ScheduleState, now: number, options: PlanOptions): TickStep {
  if (state.deleted || state.paused) return { type: 'idle' };
  const { name, spec } = state;
  const first = nextTick(spec, state.cursor);
  if (first === undefined) return { type: 'idle' };
  const firstFire = fireTime(name, spec, first);
  if (firstFire > now) return { type: 'idle', nextFireAt: firstFire };
  const grace = now - (options.graceMs ?? SCHEDULE_MISFIRE_GRACE_MS);
  const oldest = now - options.idempotencyTtlMs;
  if (firstFire >= grace && first >= oldest) return { type: 'fire', tickAt: first };

  // `first` is late. `onTime`: the first tick that is not (undefined: the calendar ends before).
  const onTime = firstNotLate(state, grace);
  const lastLate = prevTick(spec, onTime ?? grace);
  if (lastLate === undefined || lastLate < first) return { type: 'fire', tickAt: first };
  const missAll = (): TickStep => miss(spec, first, lastLate);
  switch (spec.catchUp) {
    case 'none':
      return missAll();
    case 'last': {
      const onTimeDue = onTime !== undefined && fireTime(name, spec, onTime) <= now;
      if (onTimeDue || lastLate < oldest) return missAll();
      if (first < lastLate) return miss(spec, first, prevTick(spec, lastLate) ?? first);
      return { type: 'fire', tickAt: first };
    }
    case 'all': {
      // The most recent late ticks, newest first, down to the cursor, the key lifetime and the cap.
      const kept = ticksBefore(spec, lastLate + 1, CATCH_UP_MAX_TICKS).filter(
        (t) => t > state.cursor && t >= oldest,
      );
      const oldestKept = kept[kept.length - 1];
      if (oldestKept === undefined) return missAll();
      if (first < oldestKept) return miss(spec, first, prevTick(spec, oldestKept) ?? first);
      return { type: 'fire', tickAt: first };
    }
  }
}

/** The first tick after the cursor whose fire time is at or after `grace`. */
function firstNotLate(state: ScheduleState, grace: number): number | undefined {
  const { name, spec } = state;
  // Ticks more than the largest jitter before `grace` fire before it whatever their jitter.
  const from = Math.max(state.cursor, grace - spec.jitterSeconds * 1000 - 1);
  let scanned = 0;
  for (const tick of ticksFrom(spec, from)) {
    if (fireTime(name, spec, tick) >= grace || ++scanned > SCAN_CAP) return tick;
  }
  return undefined;
}

function miss(cal: Calendar, from: number, to: number): TickStep {
  const count = countTicks(cal, from, to, COUNT_CAP);
  return count === undefined ? { type: 'miss', from, to } : { type: 'miss', from, to, count };
}

/** What a tick does about the previous tick's task. */
export type OverlapAction = 'enqueue' | 'skip' | 'cancelPreviousThenEnqueue';

/**
 * The overlap rule: with `skip`, a tick whose previous task is still pending or in progress
 * enqueues nothing; with `cancelPrevious`, it cancels that task first; `allow` always enqueues.
 */
export function overlapAction(policy: OverlapPolicy, previousActive: boolean): OverlapAction {
  if (!previousActive || policy === 'allow') return 'enqueue';
  return policy === 'skip' ? 'skip' : 'cancelPreviousThenEnqueue';
}

/** When the schedule's next tick fires (jitter included), or undefined when paused, deleted or ended. */
export function nextRunAt(state: ScheduleState): number | undefined {
  if (state.deleted || state.paused) return undefined;
  const tick = nextTick(state.spec, state.cursor);
  return tick === undefined ? undefined : fireTime(state.name, state.spec, tick);
}
