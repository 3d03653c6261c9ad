/**
 * The schedule endpoints (`/admin/schedules`) for the HTTP client: `client.schedules`, with the
 * method names of the in-process `engine.schedules` and the API's JSON shapes (RFC3339 times).
 * Every call uses the admin token.
 */
import type { ScheduleEventJsonShape, ScheduleJson } from '../contract/schedules.schema.js';
import type { TaskJson } from './http-client.types.js';
import type { HttpRequester } from './http-request.js';
import { decodeTask, FULL_VIEW } from './task-wire.js';

export type { ScheduleEventJsonShape, ScheduleJson };

/** A schedule definition as `POST /admin/schedules` takes it. */
export interface ScheduleBody {
  /** Name, `[A-Za-z0-9_-]{1,128}`. */
  name: string;
  /** The queue its tasks go to. */
  command: string;
  /** A cron expression, 5 fields or 6 (seconds first); exactly one of `cron` and `every`. */
  cron?: string;
  /** An interval: `30s`, `5m`, `1h`, `1d`, `1h30m` (at least 1 s). */
  every?: string;
  /** IANA time zone of the cron expression; default `UTC`. */
  timezone?: string;
  /** Payload of every task; default `null`. */
  payload?: unknown;
  /** 0..9; default 0. */
  priority?: number;
  /** Deliveries allowed per task; default the server's. */
  maxAttempts?: number;
  /** No tick before this time (RFC3339). */
  startAt?: string;
  /** No tick after this time (RFC3339). */
  endAt?: string;
  /** Delay each tick by a deterministic 0..jitterSeconds; default 0. */
  jitterSeconds?: number;
  /** While the previous task runs: `allow` (default), `skip`, `cancelPrevious`. */
  overlap?: 'allow' | 'skip' | 'cancelPrevious';
  /** Ticks missed while every instance was down: `none` (default), `last`, `all`. */
  catchUp?: 'none' | 'last' | 'all';
  /** Define it paused; default false. */
  paused?: boolean;
}

/** A change of definition: fields given are set; `null` removes `startAt`, `endAt`, `maxAttempts`. */
export type ScheduleChange = {
  [K in Exclude<keyof ScheduleBody, 'name' | 'paused'>]?: K extends 'startAt' | 'endAt' | 'maxAttempts'
    ? ScheduleBody[K] | null
    : ScheduleBody[K];
};

/** The schedule endpoints. */
export class ScheduleHttpClient {
  constructor(private readonly http: HttpRequester) {}

  /** `POST /admin/schedules`: defines a schedule. */
  define(body: ScheduleBody): Promise<ScheduleJson> {
    return this.http.json('admin', 'POST', '/admin/schedules', body);
  }

  /** `GET /admin/schedules`: every schedule. */
  async list(): Promise<ScheduleJson[]> {
    const answer = await this.http.json<{ schedules?: ScheduleJson[] }>('admin', 'GET', '/admin/schedules');
    return answer.schedules ?? [];
  }

  /** `GET /admin/schedules/:name`: one schedule (next and last run, last task and its status). */
  get(name: string): Promise<ScheduleJson> {
    return this.http.json('admin', 'GET', path(name));
  }

  /** `PATCH /admin/schedules/:name`: changes a schedule. */
  update(name: string, change: ScheduleChange): Promise<ScheduleJson> {
    return this.http.json('admin', 'PATCH', path(name), change);
  }

  /** `DELETE /admin/schedules/:name`. */
  async delete(name: string): Promise<void> {
    await this.http.request('admin', 'DELETE', path(name), undefined);
  }

  /** `POST /admin/schedules/:name/pause`. */
  pause(name: string, reason?: string): Promise<ScheduleJson> {
    return this.http.json('admin', 'POST', `${path(name)}/pause`, reason === undefined ? {} : { reason });
  }

  /** `POST /admin/schedules/:name/resume`. */
  resume(name: string): Promise<ScheduleJson> {
    return this.http.json('admin', 'POST', `${path(name)}/resume`, {});
  }

  /** `POST /admin/schedules/:name/run`: enqueues one task now; the schedule and the task. */
  async runNow(name: string): Promise<{ schedule: ScheduleJson; task: TaskJson }> {
    const answer = await this.http.json<{ schedule: ScheduleJson; task: TaskJson }>(
      'admin',
      'POST',
      `${path(name)}/run?${FULL_VIEW}`,
      {},
    );
    return { schedule: answer.schedule, task: decodeTask(answer.task) };
  }

  /** `GET /admin/schedules/:name/history`: its events, oldest first (definition changes and ticks). */
  async history(name: string, limit?: number): Promise<ScheduleEventJsonShape[]> {
    const query = limit === undefined ? '' : `?limit=${limit}`;
    const answer = await this.http.json<{ events?: ScheduleEventJsonShape[] }>(
      'admin',
      'GET',
      `${path(name)}/history${query}`,
    );
    return answer.events ?? [];
  }
}

function path(name: string): string {
  return `/admin/schedules/${encodeURIComponent(name)}`;
}
