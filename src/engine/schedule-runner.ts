/**
 * Runs schedules' ticks: one instance at a time (the holder of the `schedules` leader lease) wakes
 * at each schedule's next fire time, and for each due schedule loads its last event, plans the next
 * step (`actors/schedule-plan.ts`), acts (enqueue, skip, cancel the previous task) and records the
 * step as an event with the subject's expected sequence.
 *
 * Exactly once per tick does not rest on the lease: a tick's enqueue carries the idempotency key
 * `sched:<name>:<tick time>`, bound durably in the KV bucket before the task's event is appended,
 * and a tick is recorded with the expected last sequence. Two leaders at once (Redis flushed or
 * failed over, a paused process waking up) enqueue one task per tick and record it once; a leader
 * killed between the enqueue and the record leaves a bound key that the next leader finds and
 * records. The lease only keeps instances from doing the same work twice.
 */
import type { Logger } from 'pino';
import { overlapAction, planTick } from '../actors/schedule-plan.js';
import type { ScheduleIntent, TickRecord } from '../actors/schedule.decider.js';
import { runIdempotencyKey, tickIdempotencyKey, type ScheduleState } from '../contract/schedules.js';
import type { TaskView } from '../contract/views.js';
import { isCodeqError } from '../errors.js';
import type { StoredScheduleEvent } from '../events/schedule-event.schema.js';
import type { EnqueueInput } from './engine.types.js';
import type { LeaderLock } from './leader-lock.js';

/** Steps one schedule takes in one pass at most (a catch-up runs over several passes beyond it). */
const STEPS_PER_PASS = 200;

/** Shortest sleep between passes, ms. */
const MIN_SLEEP_MS = 20;

/** What the runner needs from the engine and the schedules' write path. */
export interface ScheduleRunnerDeps {
  /** The schedule's last event (fresh from the log). */
  load: (name: string) => Promise<StoredScheduleEvent | undefined>;
  /** Decides and appends `intent` on `last` once; false when another writer got there first. */
  record: (name: string, last: StoredScheduleEvent, intent: ScheduleIntent) => Promise<boolean>;
  /** Every schedule's state as this instance last saw it. */
  known: () => Iterable<ScheduleState>;
  /** The task bound to an idempotency key, if any. */
  lookupKey: (key: string) => Promise<{ taskId: string } | undefined>;
  /** The engine's enqueue (keyed: a repeat answers the same task). */
  enqueue: (input: EnqueueInput) => Promise<TaskView>;
  /** A task, or `NOT_FOUND`. */
  getTask: (taskId: string) => Promise<TaskView>;
  /** Cancels a task. */
  cancel: (input: { taskId: string; actor: string; reason?: string }) => Promise<TaskView>;
  /** The leader lease; undefined: this instance never runs ticks (run-now still works). */
  lock: LeaderLock | undefined;
  /** How often the lease is renewed or tried, ms. */
  leaseCheckMs: number;
  /** Idempotency keys' lifetime, ms. */
  idempotencyTtlMs: number;
  /** Logger. */
  logger: Logger;
  /** Clock, epoch ms. */
  now: () => number;
}

/** The outcome of firing one tick or run. */
export interface Fired {
  /** What to record. */
  tick: TickRecord;
  /** The task enqueued (absent: skipped, or enqueued by an earlier try). */
  task?: TaskView | undefined;
}

/** The leader loop of schedules. */
export class ScheduleRunner {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  /** A change arrived during a pass: run the next one at once. */
  private woken = false;
  private current: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ScheduleRunnerDeps) {}

  /** Starts the loop (no-op without a lease). */
  start(): void {
    if (!this.deps.lock) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the loop, waits for a running pass and gives the lease up. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
    await this.deps.lock?.release();
  }

  /** Runs a pass soon (a schedule changed: its next fire time may be sooner). */
  wake(): void {
    if (this.stopped) return;
    if (!this.timer) {
      this.woken = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.woken = false;
      let next = this.deps.leaseCheckMs;
      this.current = this.runOnce()
        .then((due) => {
          if (due !== undefined) next = Math.min(next, Math.max(MIN_SLEEP_MS, due - this.deps.now()));
        })
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'schedule pass failed'))
        .finally(() => {
          if (!this.timer) this.schedule(this.woken ? 0 : next);
        });
    }, delayMs);
  }

  /**
   * One pass, if this instance leads: advances every due schedule. Resolves the next fire time
   * among all schedules (undefined: none, or not the leader).
   */
  async runOnce(now: number = this.deps.now()): Promise<number | undefined> {
    if (!this.deps.lock || !(await this.deps.lock.tryLead())) return undefined;
    let soonest: number | undefined;
    for (const state of [...this.deps.known()]) {
      const step = planTick(state, now, { idempotencyTtlMs: this.deps.idempotencyTtlMs });
      let next = step.type === 'idle' ? step.nextFireAt : now;
      if (step.type !== 'idle' || state.runRequests.length > 0) {
        try {
          next = await this.advance(state.name, now);
        } catch (err) {
          // One schedule's failure (its command refused, NATS slow) does not hold the others.
          this.deps.logger.warn({ err, schedule: state.name }, 'schedule tick failed; retried next pass');
          next = now + this.deps.leaseCheckMs;
        }
      }
      if (next !== undefined && (soonest === undefined || next < soonest)) soonest = next;
    }
    return soonest;
  }

  /** Runs `name`'s due steps (run-now requests first); resolves its next fire time. */
  async advance(name: string, now: number): Promise<number | undefined> {
    for (let i = 0; i < STEPS_PER_PASS; i++) {
      const last = await this.deps.load(name);
      if (!last || last.state.deleted) return undefined;
      const state = last.state;
      const runId = state.runRequests[0];
      if (runId !== undefined) {
        const fired = await this.fire(state, now, runId);
        await this.deps.record(name, last, { type: 'recordTick', tick: fired.tick });
        continue;
      }
      const step = planTick(state, now, { idempotencyTtlMs: this.deps.idempotencyTtlMs });
      if (step.type === 'idle') return step.nextFireAt;
      if (step.type === 'miss') {
        const { from, to, count } = step;
        this.deps.logger.info({ schedule: name, from, to, count }, 'schedule ticks missed (catchUp)');
        await this.deps.record(name, last, { type: 'recordMissed', from, to, count });
        continue;
      }
      const fired = await this.fire(state, step.tickAt);
      // A conflict: another writer moved the schedule on; the next round plans again from it.
      await this.deps.record(name, last, { type: 'recordTick', tick: fired.tick });
    }
    return now;
  }

  /**
   * Fires one tick (`tickAt`) or run-now (`runId`): the task its key is bound to when an earlier
   * try enqueued it, else the overlap rule, then the keyed enqueue.
   */
  async fire(state: ScheduleState, tickAt: number, runId?: string): Promise<Fired> {
    const { name, spec } = state;
    const key = runId === undefined ? tickIdempotencyKey(name, tickAt) : runIdempotencyKey(name, runId);
    const base: TickRecord = runId === undefined ? { tickAt } : { tickAt, runId };
    const bound = await this.deps.lookupKey(key);
    if (bound) return { tick: { ...base, taskId: bound.taskId } };
    const actor = `schedule:${name}`;
    const tick: TickRecord = { ...base };
    // A run-now always enqueues; a tick follows the overlap policy.
    if (runId === undefined && state.lastTaskId !== undefined && spec.overlap !== 'allow') {
      const previous = await this.deps.getTask(state.lastTaskId).catch((err: unknown) => {
        if (isCodeqError(err, 'NOT_FOUND')) return undefined;
        throw err;
      });
      const active = previous?.status === 'PENDING' || previous?.status === 'IN_PROGRESS';
      const action = overlapAction(spec.overlap, active);
      if (action === 'skip')
        return { tick: { ...tick, skipped: 'overlap', previousTaskId: state.lastTaskId } };
      if (action === 'cancelPreviousThenEnqueue') {
        tick.previousTaskId = state.lastTaskId;
        try {
          await this.deps.cancel({
            taskId: state.lastTaskId,
            actor,
            reason: `schedule ${name}: the tick of ${new Date(tickAt).toISOString()} replaces it`,
          });
          tick.cancelledTaskId = state.lastTaskId;
        } catch (err) {
          // It finished between the read and the cancel: nothing to cancel.
          if (!isCodeqError(err, 'WRONG_STATE')) throw err;
          this.deps.logger.info({ schedule: name, taskId: state.lastTaskId }, 'previous task not cancelled');
        }
      }
    }
    const input: EnqueueInput = {
      command: spec.command,
      payload: spec.payload,
      priority: spec.priority,
      idempotencyKey: key,
      actor,
    };
    if (spec.maxAttempts !== undefined) input.maxAttempts = spec.maxAttempts;
    const task = await this.deps.enqueue(input);
    return { tick: { ...tick, taskId: task.id }, task };
  }
}
