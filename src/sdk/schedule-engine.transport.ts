/**
 * Schedules in-process (`EngineTransport.schedules`): `engine.schedules` answered in the SDK's
 * shapes, every change recorded with the transport's admin actor.
 */
import type { ScheduleApi } from '../engine/schedules.js';
import type { ScheduleInput, SchedulePatch, ScheduleView } from '../contract/schedules.js';
import type { TaskView } from '../contract/views.js';
import { CodeqError } from '../errors.js';
import type { Schedule, ScheduleEventEntry, ScheduleOperations, ScheduleRun } from './schedule-admin.js';
import type { Task } from './transport.js';

/** A schedule view (state with a nested spec) to the SDK's flat {@link Schedule}. */
export function scheduleFromView(view: ScheduleView): Schedule {
  const { spec, runRequests, cursor: _cursor, deleted: _deleted, ...state } = view;
  const out: Record<string, unknown> = { ...state, ...spec, pendingRuns: runRequests.length };
  // A field the decider left undefined is absent, as in the HTTP answer.
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out as unknown as Schedule;
}

/** The schedule operations on an in-process engine. */
export class EngineSchedules implements ScheduleOperations {
  /**
   * @param schedules the engine's schedules (`engine.schedules`).
   * @param actor recorded as the actor of every change (the transport's `adminActor`).
   * @param taskOf the transport's task shape (strips the engine-only fields).
   */
  constructor(
    private readonly schedules: ScheduleApi,
    private readonly actor: string,
    private readonly taskOf: (view: TaskView) => Task,
  ) {}

  async define(input: ScheduleInput): Promise<Schedule> {
    return scheduleFromView(await this.schedules.define(input, this.actor));
  }

  async list(): Promise<Schedule[]> {
    return (await this.schedules.list()).map(scheduleFromView);
  }

  async get(name: string): Promise<Schedule> {
    return scheduleFromView(await this.schedules.get(name));
  }

  async update(name: string, patch: SchedulePatch): Promise<Schedule> {
    return scheduleFromView(await this.schedules.update(name, patch, this.actor));
  }

  delete(name: string): Promise<void> {
    return this.schedules.delete(name, this.actor);
  }

  async pause(name: string, reason?: string): Promise<Schedule> {
    return scheduleFromView(await this.schedules.pause(name, reason, this.actor));
  }

  async resume(name: string): Promise<Schedule> {
    return scheduleFromView(await this.schedules.resume(name, this.actor));
  }

  async runNow(name: string): Promise<ScheduleRun> {
    const { schedule, task } = await this.schedules.runNow(name, this.actor);
    return { schedule: scheduleFromView(schedule), task: this.taskOf(task) };
  }

  async history(name: string, limit?: number): Promise<ScheduleEventEntry[]> {
    const events = await this.schedules.history(name, limit);
    // As over HTTP: a name that never had a schedule is unknown (a deleted one keeps its history).
    if (events.length === 0) throw new CodeqError('NOT_FOUND', 'schedule not found');
    return events.map((e) => ({ seq: e.seq, type: e.type, actor: e.actor, at: e.at, data: e.data }));
  }
}
