/**
 * Schedules over HTTP (`HttpTransport.schedules`): `client.schedules` with the SDK's shapes, times
 * turned from epoch ms (or Date) into RFC3339 on the way out and back on the way in.
 */
import type { ScheduleBody, ScheduleChange, ScheduleHttpClient } from '../client/schedules.client.js';
import type { TaskJson } from '../client/http-client.types.js';
import type { ScheduleInput, SchedulePatch } from '../contract/schedules.js';
import type { ScheduleJson } from '../contract/schedules.schema.js';
import { CodeqError } from '../errors.js';
import type { Schedule, ScheduleEventEntry, ScheduleOperations, ScheduleRun } from './schedule-admin.js';
import type { Task } from './transport.js';

/** The RFC3339 fields of a schedule's JSON. */
const TIME_FIELDS = [
  'startAt',
  'endAt',
  'createdAt',
  'updatedAt',
  'nextRunAt',
  'lastTickAt',
  'lastRunAt',
] as const;

/** Latest time a Date can hold, epoch ms. */
const DATE_MAX_MS = 8.64e15;

/** A schedule's JSON (RFC3339 times) to the SDK's {@link Schedule} (epoch ms). */
export function scheduleFromJson(json: ScheduleJson): Schedule {
  // Fields a newer server adds come through as sent, as with tasks.
  const out: Record<string, unknown> = { ...json };
  for (const key of TIME_FIELDS) {
    const value = json[key];
    if (value !== undefined) out[key] = Date.parse(value);
  }
  return out as unknown as Schedule;
}

/** Epoch ms or Date to RFC3339; `INVALID_INPUT` (nothing sent) for what is no time from 1970. */
function rfc3339(value: unknown, field: string): string {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0 || ms > DATE_MAX_MS)
    throw new CodeqError('INVALID_INPUT', `invalid '${field}' (a time: epoch ms or Date, from 1970)`);
  return new Date(ms).toISOString();
}

/** A definition or a change as the API takes it: times as RFC3339, `null` kept, `undefined` dropped. */
function wireBody(input: object): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new CodeqError('INVALID_INPUT', 'invalid schedule');
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    body[key] = (key === 'startAt' || key === 'endAt') && value !== null ? rfc3339(value, key) : value;
  }
  return body;
}

/** The schedule operations over codeq's HTTP API (admin token). */
export class HttpSchedules implements ScheduleOperations {
  /**
   * @param client the HTTP client's schedule endpoints (`client.schedules`).
   * @param taskOf the transport's task shape (RFC3339 to epoch ms).
   */
  constructor(
    private readonly client: ScheduleHttpClient,
    private readonly taskOf: (json: TaskJson) => Task,
  ) {}

  async define(input: ScheduleInput): Promise<Schedule> {
    return scheduleFromJson(await this.client.define(wireBody(input) as unknown as ScheduleBody));
  }

  async list(): Promise<Schedule[]> {
    return (await this.client.list()).map(scheduleFromJson);
  }

  async get(name: string): Promise<Schedule> {
    return scheduleFromJson(await this.client.get(name));
  }

  async update(name: string, patch: SchedulePatch): Promise<Schedule> {
    return scheduleFromJson(await this.client.update(name, wireBody(patch) as ScheduleChange));
  }

  delete(name: string): Promise<void> {
    return this.client.delete(name);
  }

  async pause(name: string, reason?: string): Promise<Schedule> {
    return scheduleFromJson(await this.client.pause(name, reason));
  }

  async resume(name: string): Promise<Schedule> {
    return scheduleFromJson(await this.client.resume(name));
  }

  async runNow(name: string): Promise<ScheduleRun> {
    const { schedule, task } = await this.client.runNow(name);
    return { schedule: scheduleFromJson(schedule), task: this.taskOf(task) };
  }

  async history(name: string, limit?: number): Promise<ScheduleEventEntry[]> {
    const events = await this.client.history(name, limit);
    return events.map(({ time, ...entry }) => ({ ...entry, at: Date.parse(time) }));
  }
}
