/**
 * A schedule's calendar: when its ticks fall. Pure (no clock, no timers): every function takes the
 * times it reasons about, so tests drive it with a fake clock and every instance computes the same
 * ticks. Cron expressions are read by `cron-parser` in the schedule's IANA time zone, so daylight
 * saving follows the zone: a wall-clock time that does not exist (spring forward) runs at the next
 * valid time, one that exists twice (fall back) runs once, at its first occurrence.
 */
import { CronExpressionParser } from 'cron-parser';
import { EVERY_MAX_MS, EVERY_MIN_MS, type ScheduleSpec } from '../contract/schedules.js';

/** The calendar fields of a spec. */
export type Calendar = Pick<ScheduleSpec, 'cron' | 'every' | 'timezone' | 'startAt' | 'endAt'>;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const EVERY_RE = /^(?:\d{1,9}[smhd])+$/;

/** An interval like `30s`, `5m`, `1h`, `1d` or `1h30m` in ms; undefined when malformed or out of range. */
export function parseEvery(text: string): number | undefined {
  if (!EVERY_RE.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[unit as string]!;
  return ms >= EVERY_MIN_MS && ms <= EVERY_MAX_MS ? ms : undefined;
}

/** Why `timezone` is not an IANA time zone this runtime knows, or undefined when it is one. */
export function timezoneProblem(timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return undefined;
  } catch {
    return `unknown time zone '${timezone}' (use an IANA name such as 'Europe/Paris')`;
  }
}

/**
 * Why `expr` is not a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6
 * (second first), or undefined when it is one.
 */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6)
    return `cron expression '${expr}' has ${fields.length} fields (expected 5, or 6 with seconds first)`;
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: 0 });
    return undefined;
  } catch (err) {
    return `invalid cron expression '${expr}': ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The first tick strictly after `afterMs`, or undefined when the calendar has none (ended). */
export function nextTick(cal: Calendar, afterMs: number): number | undefined {
  return ticksAfter(cal, afterMs, 1)[0];
}

/** The last tick strictly before `beforeMs`, or undefined when there is none (not started). */
export function prevTick(cal: Calendar, beforeMs: number): number | undefined {
  return ticksBefore(cal, beforeMs, 1)[0];
}

/** Up to `count` ticks strictly after `afterMs`, oldest first (fewer when the calendar ends). */
export function ticksAfter(cal: Calendar, afterMs: number, count: number): number[] {
  const out: number[] = [];
  if (count <= 0) return out;
  for (const tick of ticksFrom(cal, afterMs)) {
    out.push(tick);
    if (out.length >= count) break;
  }
  return out;
}

/** The ticks strictly after `afterMs`, oldest first, lazily (cron: one parse for every step). */
export function* ticksFrom(cal: Calendar, afterMs: number): Generator<number, void, undefined> {
  const from = cal.startAt !== undefined ? Math.max(afterMs, cal.startAt - 1) : afterMs;
  const ended = (t: number) => cal.endAt !== undefined && t > cal.endAt;
  const period = cal.every === undefined ? undefined : parseEvery(cal.every);
  if (period !== undefined) {
    const anchor = cal.startAt ?? 0;
    for (let k = Math.floor((from - anchor) / period) + 1; ; k++) {
      const tick = anchor + k * period;
      if (ended(tick)) return;
      yield tick;
    }
  }
  if (cal.cron === undefined) return;
  let expr;
  try {
    expr = CronExpressionParser.parse(cal.cron, { tz: cal.timezone, currentDate: new Date(from) });
  } catch {
    return;
  }
  for (;;) {
    let tick: number;
    try {
      tick = expr.next().getTime();
    } catch {
      // Past the last matching time (or none at all).
      return;
    }
    if (ended(tick)) return;
    yield tick;
  }
}

/** Up to `count` ticks strictly before `beforeMs`, newest first (fewer when the calendar starts). */
export function ticksBefore(cal: Calendar, beforeMs: number, count: number): number[] {
  const before = cal.endAt !== undefined ? Math.min(beforeMs, cal.endAt + 1) : beforeMs;
  const out: number[] = [];
  const period = cal.every === undefined ? undefined : parseEvery(cal.every);
  if (period !== undefined) {
    const anchor = cal.startAt ?? 0;
    const k = Math.ceil((before - anchor) / period) - 1;
    for (let i = 0; i < count && k - i >= 0; i++) out.push(anchor + (k - i) * period);
  } else if (cal.cron !== undefined) {
    try {
      // One parse, many steps: parsing costs far more than stepping.
      const expr = CronExpressionParser.parse(cal.cron, { tz: cal.timezone, currentDate: new Date(before) });
      for (let i = 0; i < count; i++) out.push(expr.prev().getTime());
    } catch {
      // Before the first matching time: the ticks found so far.
    }
  }
  return cal.startAt === undefined ? out : out.filter((t) => t >= (cal.startAt as number));
}

/** Ticks from `from` to `to` (inclusive), counted up to `cap` (undefined: more than `cap`). */
export function countTicks(cal: Calendar, from: number, to: number, cap: number): number | undefined {
  const period = cal.every === undefined ? undefined : parseEvery(cal.every);
  let counted = 0;
  if (period !== undefined) {
    const anchor = cal.startAt ?? 0;
    counted = Math.floor((to - anchor) / period) - Math.ceil((from - anchor) / period) + 1;
  } else {
    for (const tick of ticksFrom(cal, from - 1)) {
      if (tick > to || counted > cap) break;
      counted++;
    }
  }
  return counted <= cap ? counted : undefined;
}

/**
 * A tick's jitter, ms: 0..jitterSeconds*1000, a hash of the schedule's name and the tick's time
 * (FNV-1a), so every instance delays one tick by the same amount and two ticks by different ones.
 */
export function jitterMs(name: string, tickAt: number, jitterSeconds: number): number {
  if (jitterSeconds <= 0) return 0;
  const text = `${name}|${tickAt}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % (jitterSeconds * 1000 + 1);
}

/** When a tick fires: its nominal time plus its jitter, epoch ms. */
export function fireTime(name: string, spec: Pick<ScheduleSpec, 'jitterSeconds'>, tickAt: number): number {
  return tickAt + jitterMs(name, tickAt, spec.jitterSeconds);
}
