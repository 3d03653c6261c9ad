/**
 * Schedules (`engine.schedules`): define, change, pause, resume, delete and run recurring tasks.
 * The write path of the schedule aggregate is shaped like the queue controls': load the schedule's
 * last event from the control stream → decide (`actors/schedule.decider.ts`) → append with the
 * subject's expected sequence → retry on conflict. Every instance watches the schedule subjects,
 * so the leader's runner (`schedule-runner.ts`) learns of a change made anywhere at once.
 */
import { randomUUID } from 'node:crypto';
import { nextRunAt } from '../actors/schedule-plan.js';
import { decideSchedule, type ScheduleIntent } from '../actors/schedule.decider.js';
import {
  runIdempotencyKey,
  SCHEDULE_HISTORY_LIMIT_MAX,
  type ScheduleInput,
  type SchedulePatch,
  type ScheduleState,
  type ScheduleView,
} from '../contract/schedules.js';
import type { TaskView } from '../contract/views.js';
import { CodeqError, isCodeqError } from '../errors.js';
import type { ControlLog } from '../events/control-log.js';
import {
  SCHEDULE_EVENT_SCHEMA_VERSION,
  SCHEDULE_EVENTS,
  type StoredScheduleEvent,
} from '../events/schedule-event.schema.js';
import {
  assertPauseReason,
  assertScheduleName,
  normaliseScheduleInput,
  patchScheduleSpec,
} from './schedule-input.js';
import { integerIn } from './input-validation.js';
import { ScheduleRunner, type ScheduleRunnerDeps } from './schedule-runner.js';

/** Times a change is decided again after another change of the same schedule landed first. */
const CONFLICT_RETRIES = 5;

/** The schedule operations (`engine.schedules`); every one validates its input first. */
export interface ScheduleApi {
  /** Defines a schedule (`WRONG_STATE` when the name is taken). `actor`: who, e.g. `admin:<sub>`. */
  define(input: ScheduleInput, actor?: string): Promise<ScheduleView>;
  /** Changes a schedule's definition (see {@link SchedulePatch}); `NOT_FOUND` when absent. */
  update(name: string, patch: SchedulePatch, actor?: string): Promise<ScheduleView>;
  /** Deletes a schedule (its events stay in the log). */
  delete(name: string, actor?: string): Promise<void>;
  /** Stops a schedule's ticks (run-now still works). Pausing a paused schedule writes nothing. */
  pause(name: string, reason?: string, actor?: string): Promise<ScheduleView>;
  /** Starts its ticks again, from now: ticks that fell while paused are not owed. */
  resume(name: string, actor?: string): Promise<ScheduleView>;
  /** Enqueues one task now, whatever the calendar and the overlap policy; answers it. */
  runNow(name: string, actor?: string): Promise<{ schedule: ScheduleView; task: TaskView }>;
  /** One schedule; `NOT_FOUND` when absent or deleted. */
  get(name: string): Promise<ScheduleView>;
  /** Every schedule (deleted ones left out), by name. */
  list(): Promise<ScheduleView[]>;
  /** A schedule's events, oldest first (the last `limit`, default 1000): definitions and ticks. */
  history(name: string, limit?: number): Promise<StoredScheduleEvent[]>;
}

/** Dependencies of {@link Schedules} (the runner's, the clock optional). */
export interface SchedulesDeps extends Pick<
  ScheduleRunnerDeps,
  'lookupKey' | 'lock' | 'leaseCheckMs' | 'idempotencyTtlMs' | 'logger'
> {
  /** The control stream (already provisioned). */
  log: ControlLog;
  /** The engine's task operations. */
  tasks: Pick<ScheduleRunnerDeps, 'enqueue' | 'getTask' | 'cancel'>;
  /** Clock, epoch ms; default `Date.now`. */
  now?: () => number;
}

/** The schedules of one engine. */
export class Schedules implements ScheduleApi {
  /** The tick runner (leader-elected). */
  readonly runner: ScheduleRunner;
  private readonly cache = new Map<string, StoredScheduleEvent>();
  private stopWatch?: () => void;
  private readonly now: () => number;

  constructor(private readonly deps: SchedulesDeps) {
    this.now = deps.now ?? Date.now;
    this.runner = new ScheduleRunner({
      load: (name) => this.load(name),
      record: (name, last, intent) => this.recordOnce(name, last, intent),
      known: () => [...this.cache.values()].map((e) => e.state),
      lookupKey: deps.lookupKey,
      enqueue: deps.tasks.enqueue,
      getTask: deps.tasks.getTask,
      cancel: deps.tasks.cancel,
      lock: deps.lock,
      leaseCheckMs: deps.leaseCheckMs,
      idempotencyTtlMs: deps.idempotencyTtlMs,
      logger: deps.logger,
      now: this.now,
    });
  }

  /** Watches the schedule subjects, reads every schedule, starts the runner. */
  async start(): Promise<void> {
    this.stopWatch = await this.deps.log.watchOf(
      SCHEDULE_EVENTS,
      (event) => this.absorb(event),
      (err) => this.deps.logger.warn({ err }, 'schedule event not read; the next start reads it'),
    );
    for (const event of await this.deps.log.lastOfEvery(SCHEDULE_EVENTS)) this.absorb(event);
    this.runner.start();
  }

  /** Stops the runner (giving its lease up) and the watch. */
  async stop(): Promise<void> {
    this.stopWatch?.();
    this.stopWatch = undefined;
    await this.runner.stop();
  }

  async define(input: ScheduleInput, actor = 'admin'): Promise<ScheduleView> {
    const { name, spec, paused } = normaliseScheduleInput(input);
    return this.view(await this.write(name, () => ({ type: 'define', name, spec, paused }), actor));
  }

  async update(name: string, patch: SchedulePatch, actor = 'admin'): Promise<ScheduleView> {
    assertScheduleName(name);
    const event = await this.write(
      name,
      (state) => ({ type: 'update', spec: patchScheduleSpec(activeState(state).spec, patch) }),
      actor,
    );
    return this.view(event);
  }

  async delete(name: string, actor = 'admin'): Promise<void> {
    assertScheduleName(name);
    await this.write(name, () => ({ type: 'delete' }), actor);
  }

  async pause(name: string, reason?: string, actor = 'admin'): Promise<ScheduleView> {
    assertScheduleName(name);
    assertPauseReason(reason);
    return this.view(await this.write(name, () => ({ type: 'pause', reason }), actor));
  }

  async resume(name: string, actor = 'admin'): Promise<ScheduleView> {
    assertScheduleName(name);
    return this.view(await this.write(name, () => ({ type: 'resume' }), actor));
  }

  async runNow(name: string, actor = 'admin'): Promise<{ schedule: ScheduleView; task: TaskView }> {
    assertScheduleName(name);
    const runId = randomUUID();
    await this.write(name, () => ({ type: 'requestRun', runId }), actor);
    // Run here rather than wait for the leader; if this instance dies first, the leader runs it.
    for (let attempt = 0; ; attempt++) {
      const last = await this.load(name);
      if (!last || !last.state.runRequests.includes(runId)) break;
      const fired = await this.runner.fire(last.state, this.now(), runId);
      if (await this.recordOnce(name, last, { type: 'recordTick', tick: fired.tick })) break;
      if (attempt >= CONFLICT_RETRIES) break;
    }
    const bound = await this.deps.lookupKey(runIdempotencyKey(name, runId));
    if (!bound) throw new CodeqError('UNAVAILABLE', 'run requested; its task is not enqueued yet');
    return { schedule: await this.get(name), task: await this.deps.tasks.getTask(bound.taskId) };
  }

  async get(name: string): Promise<ScheduleView> {
    assertScheduleName(name);
    const last = await this.load(name);
    if (!last || last.state.deleted) throw new CodeqError('NOT_FOUND', 'schedule not found');
    return this.view(last);
  }

  async list(): Promise<ScheduleView[]> {
    const events = await this.deps.log.lastOfEvery(SCHEDULE_EVENTS);
    const live = events.filter((e) => !e.state.deleted).sort((a, b) => a.schedule.localeCompare(b.schedule));
    return Promise.all(live.map((e) => this.view(e)));
  }

  async history(name: string, limit?: number): Promise<StoredScheduleEvent[]> {
    assertScheduleName(name);
    // The same range as the HTTP query's, so every caller is refused alike.
    const most = integerIn(limit, 'limit', 1, SCHEDULE_HISTORY_LIMIT_MAX, 1000);
    return this.deps.log.historyOf(SCHEDULE_EVENTS, name, most);
  }

  /** The schedule's last event, fresh from the log (and into the cache). */
  private async load(name: string): Promise<StoredScheduleEvent | undefined> {
    const last = await this.deps.log.lastOf(SCHEDULE_EVENTS, name);
    if (last) this.absorb(last);
    return last;
  }

  /**
   * Decides the intent built from the current state and appends it; retries on conflict. Answers
   * the schedule's last event after it (the one before when nothing changed).
   */
  private async write(
    name: string,
    intentOf: (state: ScheduleState | undefined) => ScheduleIntent,
    actor: string,
  ): Promise<StoredScheduleEvent> {
    for (let attempt = 0; ; attempt++) {
      const last = await this.load(name);
      try {
        return (await this.append(name, last, intentOf(last?.state), actor)) ?? (last as StoredScheduleEvent);
      } catch (err) {
        if (isCodeqError(err, 'VERSION_CONFLICT') && attempt < CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  /** Decides and appends once for the runner; false when another writer got there first. */
  private async recordOnce(
    name: string,
    last: StoredScheduleEvent,
    intent: ScheduleIntent,
  ): Promise<boolean> {
    try {
      await this.append(name, last, intent, 'system');
      return true;
    } catch (err) {
      if (isCodeqError(err, 'VERSION_CONFLICT')) return false;
      throw err;
    }
  }

  private async append(
    name: string,
    last: StoredScheduleEvent | undefined,
    intent: ScheduleIntent,
    actor: string,
  ): Promise<StoredScheduleEvent | undefined> {
    const at = this.now();
    const decision = decideSchedule(last?.state, intent, at);
    if (decision.kind === 'refused') throw new CodeqError(decision.code, decision.message);
    if (decision.kind === 'unchanged') return undefined;
    const event = {
      v: SCHEDULE_EVENT_SCHEMA_VERSION,
      type: decision.type,
      schedule: name,
      at,
      actor,
      data: decision.data,
      state: decision.state,
    } as StoredScheduleEvent;
    event.seq = await this.deps.log.appendOf(SCHEDULE_EVENTS, event, last?.seq ?? 0);
    this.absorb(event);
    return event;
  }

  /** Takes an event into the cache (an older one than held is ignored) and wakes the runner. */
  private absorb(event: StoredScheduleEvent): void {
    const held = this.cache.get(event.schedule);
    if (held !== undefined && held.seq >= event.seq) return;
    // A deleted schedule stays (idle) so that an older event read late cannot bring it back.
    this.cache.set(event.schedule, event);
    this.runner.wake();
  }

  private async view(event: StoredScheduleEvent): Promise<ScheduleView> {
    const view: ScheduleView = { ...event.state, version: event.seq };
    const next = nextRunAt(event.state);
    if (next !== undefined) view.nextRunAt = next;
    if (event.state.lastTaskId !== undefined) {
      const task = await this.deps.tasks.getTask(event.state.lastTaskId).catch(() => undefined);
      if (task) view.lastTaskStatus = task.status;
    }
    return view;
  }
}

function activeState(state: ScheduleState | undefined): ScheduleState {
  if (!state || state.deleted) throw new CodeqError('NOT_FOUND', 'schedule not found');
  return state;
}
