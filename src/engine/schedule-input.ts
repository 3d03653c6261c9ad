/**
 * Validation of schedule definitions and changes, for every caller (HTTP, SDK, CLI, in-process):
 * each check throws `INVALID_INPUT` naming the field before anything is written.
 */
import { cronProblem, parseEvery, timezoneProblem } from '../actors/schedule-calendar.js';
import { MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN, REASON_MAX_LENGTH } from '../contract/limits.js';
import {
  CATCH_UP_POLICIES,
  CRON_MAX_LENGTH,
  EVERY_MAX_MS,
  JITTER_SECONDS_MAX,
  OVERLAP_POLICIES,
  SCHEDULE_NAME_PATTERN,
  SCHEDULE_PAYLOAD_MAX_BYTES,
  type CatchUpPolicy,
  type OverlapPolicy,
  type ScheduleInput,
  type SchedulePatch,
  type ScheduleSpec,
} from '../contract/schedules.js';
import { CodeqError } from '../errors.js';
import { assertValidCommand } from '../events/subjects.js';

function invalid(message: string): never {
  throw new CodeqError('INVALID_INPUT', message);
}

/** Refuses a name that is not `[A-Za-z0-9_-]{1,128}`. */
export function assertScheduleName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !SCHEDULE_NAME_PATTERN.test(name))
    invalid("invalid schedule 'name' (1..128 of A-Z a-z 0-9 _ -)");
}

/** Refuses a pause reason that is not a short string. */
export function assertPauseReason(reason: unknown): void {
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > REASON_MAX_LENGTH))
    invalid(`invalid 'reason' (at most ${REASON_MAX_LENGTH} characters)`);
}

function time(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const t = value instanceof Date ? value.getTime() : value;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0)
    invalid(`invalid '${field}' (a time: epoch ms or Date, from 1970)`);
  return t;
}

function intIn(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    invalid(`invalid '${field}' (an integer ${min}..${max})`);
  return value;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    invalid(`invalid '${field}' (one of ${allowed.join(', ')})`);
  return value as T;
}

/** A definition's spec with defaults applied, or `INVALID_INPUT` naming the first bad field. */
export function normaliseScheduleSpec(input: Omit<ScheduleInput, 'name'>): ScheduleSpec {
  if (typeof input !== 'object' || input === null) invalid('invalid schedule');
  assertValidCommand(input.command);
  if ((input.cron === undefined) === (input.every === undefined))
    invalid("a schedule has exactly one of 'cron' and 'every'");
  const spec: ScheduleSpec = {
    command: input.command,
    timezone: 'UTC',
    payload: null,
    priority: 0,
    jitterSeconds: 0,
    overlap: oneOf<OverlapPolicy>(input.overlap, 'overlap', OVERLAP_POLICIES, 'allow'),
    catchUp: oneOf<CatchUpPolicy>(input.catchUp, 'catchUp', CATCH_UP_POLICIES, 'none'),
  };
  if (input.timezone !== undefined) {
    const problem = typeof input.timezone === 'string' ? timezoneProblem(input.timezone) : 'invalid';
    if (problem !== undefined) invalid(`invalid 'timezone': ${problem}`);
    spec.timezone = input.timezone;
  }
  if (input.cron !== undefined) {
    if (typeof input.cron !== 'string' || input.cron.length > CRON_MAX_LENGTH)
      invalid(`invalid 'cron' (at most ${CRON_MAX_LENGTH} characters)`);
    const problem = cronProblem(input.cron);
    if (problem !== undefined) invalid(`invalid 'cron': ${problem}`);
    spec.cron = input.cron.trim();
  } else {
    if (typeof input.every !== 'string' || parseEvery(input.every) === undefined)
      invalid(
        `invalid 'every' (a duration such as 30s, 5m, 1h, 1d or 1h30m; 1s..${EVERY_MAX_MS / 86_400_000}d)`,
      );
    spec.every = input.every;
  }
  if (input.payload !== undefined) {
    let encoded: string | undefined;
    try {
      encoded = JSON.stringify(input.payload);
    } catch {
      encoded = undefined;
    }
    if (encoded === undefined) invalid('payload is not JSON-serialisable');
    if (Buffer.byteLength(encoded) > SCHEDULE_PAYLOAD_MAX_BYTES)
      invalid(`schedule payload too large (limit ${SCHEDULE_PAYLOAD_MAX_BYTES} bytes)`);
    spec.payload = input.payload;
  }
  spec.priority = intIn(input.priority, 'priority', PRIORITY_MIN, PRIORITY_MAX) ?? 0;
  const maxAttempts = intIn(input.maxAttempts, 'maxAttempts', 1, MAX_ATTEMPTS_MAX);
  if (maxAttempts !== undefined) spec.maxAttempts = maxAttempts;
  const startAt = time(input.startAt, 'startAt');
  const endAt = time(input.endAt, 'endAt');
  if (startAt !== undefined) spec.startAt = startAt;
  if (endAt !== undefined) spec.endAt = endAt;
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt)
    invalid("invalid 'endAt' (must be after 'startAt')");
  spec.jitterSeconds = intIn(input.jitterSeconds, 'jitterSeconds', 0, JITTER_SECONDS_MAX) ?? 0;
  return spec;
}

/** A whole definition (name, spec, paused) from `define`'s input. */
export function normaliseScheduleInput(input: ScheduleInput): {
  name: string;
  spec: ScheduleSpec;
  paused: boolean;
} {
  if (typeof input !== 'object' || input === null) invalid('invalid schedule');
  assertScheduleName(input.name);
  if (input.paused !== undefined && typeof input.paused !== 'boolean')
    invalid("invalid 'paused' (true or false)");
  const { name, paused, ...rest } = input;
  return { name, spec: normaliseScheduleSpec(rest), paused: paused ?? false };
}

const REMOVABLE = new Set(['startAt', 'endAt', 'maxAttempts']);
const PATCHABLE = new Set([
  'command',
  'cron',
  'every',
  'timezone',
  'payload',
  'priority',
  'maxAttempts',
  'startAt',
  'endAt',
  'jitterSeconds',
  'overlap',
  'catchUp',
]);

/**
 * `spec` changed by `patch` (a field given sets it, `null` removes `startAt`, `endAt` or
 * `maxAttempts`, `cron` replaces `every` and the reverse), validated whole.
 */
export function patchScheduleSpec(spec: ScheduleSpec, patch: SchedulePatch): ScheduleSpec {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) invalid('invalid schedule change');
  const keys = Object.keys(patch);
  if (keys.length === 0) invalid('nothing to change');
  const merged: Record<string, unknown> = { ...spec };
  for (const key of keys) {
    const value = (patch as Record<string, unknown>)[key];
    if (!PATCHABLE.has(key)) invalid(`'${key}' cannot be changed`);
    if (value === undefined) continue;
    if (value === null) {
      if (!REMOVABLE.has(key)) invalid(`'${key}' cannot be removed`);
      delete merged[key];
      continue;
    }
    merged[key] = value;
    if (key === 'cron') delete merged.every;
    if (key === 'every') delete merged.cron;
  }
  if (patch.cron !== undefined && patch.cron !== null && patch.every !== undefined && patch.every !== null)
    invalid("a schedule has exactly one of 'cron' and 'every'");
  return normaliseScheduleSpec(merged as Omit<ScheduleInput, 'name'>);
}
