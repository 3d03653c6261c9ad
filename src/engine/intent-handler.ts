/**
 * The one write path of the engine (the command handler of Emmett and CQRS; here its input is called
 * an intent, because "command" names a queue): load → decide → append with the expected version → apply →
 * retry on conflict, for any batch of task intents. Enqueue, claims, results, lease repair,
 * snapshots, admin operations and webhook outcomes all go through {@link IntentHandler.handle};
 * nothing else calls the decider or appends task events.
 *
 * The common path of a batch costs a fixed number of round trips: one read of the snapshots (none
 * for states the caller already holds: a reserved task's hash, a lease this engine wrote, a task not
 * yet created), one pipelined append, one apply. An item refused or in conflict on a state that may
 * be stale is synced from the log and decided again, alone, up to `retries` times.
 */
import { decide } from '../actors/task.decider.js';
import type { DecisionContext, TaskIntent, TaskSnapshot } from '../actors/task.types.js';
import { CodeqError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import { TASK_ID_PATTERN } from '../events/subjects.js';
import type { StoredTaskEvent, TaskEvent } from '../events/task-event.schema.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import { snapshotFromHash } from '../projections/task-record.js';
import type { EngineSettings } from './engine.types.js';
import { assertTaskId, commandRefusal } from './input-validation.js';
import type { LeaseCache } from './lease-cache.js';
import type { TaskWriter, WriteItem } from './task-writer.js';

/** The state a decision is taken on: the task's id, its queue (command name) and snapshot. */
export interface Target {
  /** Task id. */
  id: string;
  /** The task's command (its queue). */
  command: string;
  /** Its snapshot; `version` is what the append expects. */
  snapshot: TaskSnapshot;
}

/** The target of a task read from the projection. */
export function targetOf(task: StoredTask): Target {
  return { id: task.id, command: task.command, snapshot: snapshotFromHash(task.hash) };
}

/** One intent (the decider's input) for one task. */
export interface IntentRequest {
  /** The task. */
  taskId: string;
  /** What to do. */
  intent: TaskIntent;
  /** Who asks (worker id, `admin:<sub>`, `system`, …). */
  actor: string;
  /** The task's command when the caller knows it (saves a Redis read; verified, not trusted). */
  commandHint?: string | undefined;
  /** Commands the caller may act on (`*` = all; default all); another command's task is `NOT_FOUND`. */
  allowedCommands?: readonly string[] | undefined;
  /** Decide first on this state instead of reading it (a reserved hash, a task not yet created). */
  target?: Target | undefined;
  /** `Nats-Msg-Id` of the append (enqueue: a repeat resolves to the original event). */
  msgId?: string | undefined;
  /** Append as a subject rollup (snapshots). */
  rollup?: boolean | undefined;
}

/** Outcome of one request: the stored event (and the snapshot it was decided on), or why not. */
export type IntentOutcome =
  { ok: true; event: StoredTaskEvent; decidedOn: TaskSnapshot } | { ok: false; error: CodeqError };

/** Options of {@link IntentHandler.handle}. */
export interface HandleOptions {
  /**
   * Times an item refused or in conflict is synced from the log and decided again; default 3. With
   * 0 the first outcome stands (claims, lease repair, snapshots: the work is simply left), though a
   * conflicting task's projection is still brought up to the log.
   */
  retries?: number;
  /** Answer once the log took the events, without waiting for their apply (claims). Default false. */
  applyInBackground?: boolean;
  /** The time decisions are taken at (their events' `at`), epoch ms; default the handler's clock. */
  now?: number;
}

/** What the handler needs. */
export interface IntentHandlerDeps {
  store: ProjectionStore;
  writer: TaskWriter;
  log: Pick<EventLog, 'getBySeq'>;
  settings: EngineSettings;
  /** Waits for (or runs) a rebuild when Redis lost the projection. */
  ensureBuilt: () => Promise<void>;
  /** Snapshots of leases this engine wrote; consulted before the projection. */
  leases?: LeaseCache | undefined;
  /** The clock, epoch ms; default `Date.now`. */
  now?: () => number;
}

function asCodeqError(err: unknown): CodeqError {
  return err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err });
}

/** Decides and writes task intents. */
export class IntentHandler {
  private readonly now: () => number;

  constructor(private readonly deps: IntentHandlerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The decision context of one intent, `now` shared by a batch. */
  private context(target: Target, actor: string, now: number): DecisionContext {
    return { taskId: target.id, command: target.command, actor, now, backoff: this.deps.settings.backoff };
  }

  /** Loads a task from the projection, waiting for a rebuild when Redis lost it; `NOT_FOUND` else. */
  async load(taskId: string): Promise<StoredTask> {
    assertTaskId(taskId);
    const { store } = this.deps;
    let task = await store.load(taskId);
    if (!task && !(await store.isBuilt())) {
      await this.deps.ensureBuilt();
      task = await store.load(taskId);
    }
    if (!task) throw new CodeqError('NOT_FOUND', 'not found', { details: { taskId } });
    return task;
  }

  /** Handles one request; throws its error. */
  async handleOne(request: IntentRequest, options: HandleOptions = {}): Promise<StoredTaskEvent> {
    const [outcome] = await this.handle([request], options);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.event;
  }

  /** Handles many requests; each answers on its own, in input order. Never rejects for one item. */
  async handle(requests: readonly IntentRequest[], options: HandleOptions = {}): Promise<IntentOutcome[]> {
    const retries = options.retries ?? 3;
    const leases = this.deps.leases;
    const outcomes: IntentOutcome[] = new Array(requests.length);
    const targets: (Target | undefined)[] = new Array(requests.length);
    const fromCache: boolean[] = new Array(requests.length).fill(false);
    const toLoad: number[] = [];
    const slow: number[] = [];
    requests.forEach((r, i) => {
      if (r.target) return void (targets[i] = r.target);
      if (!TASK_ID_PATTERN.test(r.taskId)) return slow.push(i);
      const cached = leases?.get(r.taskId, r.commandHint);
      if (!cached) return toLoad.push(i);
      targets[i] = { id: r.taskId, command: cached.command, snapshot: cached.snapshot };
      fromCache[i] = true;
    });
    if (toLoad.length > 0) {
      const loaded = await this.deps.store.loadAll(
        toLoad.map((i) => requests[i]!.taskId),
        toLoad.map((i) => requests[i]!.commandHint),
      );
      toLoad.forEach((i, j) => {
        const task = loaded[j];
        if (task) targets[i] = targetOf(task);
        else slow.push(i);
      });
    }
    const now = options.now ?? this.now();
    const items: WriteItem[] = [];
    const itemIndex: number[] = [];
    targets.forEach((target, i) => {
      if (!target) return;
      const r = requests[i]!;
      const refusal = commandRefusal(r.allowedCommands, target);
      if (refusal) return void (outcomes[i] = { ok: false, error: refusal });
      const decision = decide(target.snapshot, r.intent, this.context(target, r.actor, now));
      if (!decision.ok) {
        if (fromCache[i]) leases?.forget(r.taskId);
        if (retries > 0 || fromCache[i]) return slow.push(i);
        outcomes[i] = { ok: false, error: refused(decision, r.taskId) };
        return;
      }
      items.push(writeItem(decision.events[0] as TaskEvent, target.snapshot.version, r));
      itemIndex.push(i);
    });
    const written = await this.write(items, options);
    const heal: number[] = [];
    written.forEach((outcome, k) => {
      const i = itemIndex[k]!;
      const before = targets[i]!.snapshot;
      if (outcome.ok) {
        leases?.afterWrite(before, outcome.event);
        outcomes[i] = { ok: true, event: outcome.event, decidedOn: before };
        return;
      }
      if (outcome.error.code === 'VERSION_CONFLICT') {
        leases?.forget(requests[i]!.taskId);
        if (retries > 0 || fromCache[i]) return slow.push(i);
        heal.push(i);
      }
      outcomes[i] = outcome;
    });
    await Promise.all([
      ...slow.map(async (i) => {
        try {
          const r = requests[i]!;
          // A refused or conflicting cached lease is decided again on the projection, not counted.
          const start = fromCache[i] || !targets[i] ? undefined : targets[i];
          outcomes[i] = await this.decideAgain(r, start, Math.max(retries, 1), options);
        } catch (err) {
          outcomes[i] = { ok: false, error: asCodeqError(err) };
        }
      }),
      // The projection was behind the log for these: catch them up (which also ends reservations).
      ...heal.map((i) => this.resync(targets[i]!).catch(() => undefined)),
    ]);
    return outcomes;
  }

  /**
   * The single path: decides on `start` (or the projection), and after a conflict or a refusal on
   * a state the log has moved past, syncs the task from the log and decides again.
   */
  private async decideAgain(
    r: IntentRequest,
    start: Target | undefined,
    retries: number,
    options: HandleOptions,
  ): Promise<IntentOutcome> {
    let current = start ?? r.target ?? targetOf(await this.load(r.taskId));
    const refusal = commandRefusal(r.allowedCommands, current);
    if (refusal) return { ok: false, error: refusal };
    for (let attempt = 0; ; attempt++) {
      const snapshot = current.snapshot;
      const decision = decide(snapshot, r.intent, this.context(current, r.actor, options.now ?? this.now()));
      let error: CodeqError;
      if (decision.ok) {
        const [outcome] = await this.write(
          [writeItem(decision.events[0] as TaskEvent, snapshot.version, r)],
          options,
        );
        if (outcome!.ok) {
          this.deps.leases?.afterWrite(snapshot, outcome!.event);
          return { ok: true, event: outcome!.event, decidedOn: snapshot };
        }
        error = outcome!.error;
        if (error.code !== 'VERSION_CONFLICT') return outcome!;
      } else {
        error = refused(decision, r.taskId);
      }
      if (attempt >= retries) return { ok: false, error };
      const fresh = await this.resync(current);
      if (!fresh) return { ok: false, error };
      const next = targetOf(fresh);
      // Refused on the log's own state: the refusal stands.
      if (next.snapshot.version === snapshot.version && !decision.ok) return { ok: false, error };
      current = next;
    }
  }

  /** Appends and applies; a repeated msg id resolves to the original event, applied here too. */
  private async write(
    items: readonly WriteItem[],
    options: HandleOptions,
  ): Promise<({ ok: true; event: StoredTaskEvent } | { ok: false; error: CodeqError })[]> {
    if (items.length === 0) return [];
    const outcomes = await this.deps.writer.write(items, {
      applyInBackground: options.applyInBackground === true,
    });
    // Duplicates are rare (a retried publish, two writers of one bound key): no promise per item.
    if (!outcomes.some((o) => o.ok && o.duplicate)) return outcomes;
    return Promise.all(
      outcomes.map(async (outcome) => {
        if (!outcome.ok || !outcome.duplicate) return outcome;
        try {
          return { ok: true as const, event: await this.original(outcome.event) };
        } catch (err) {
          return { ok: false as const, error: asCodeqError(err) };
        }
      }),
    );
  }

  /** The event a duplicate ack points at (a publish retried after a lost ack, or a second writer). */
  private async original(duplicate: StoredTaskEvent): Promise<StoredTaskEvent> {
    const original = await this.deps.log.getBySeq(duplicate.seq);
    if (!original || original.taskId !== duplicate.taskId || original.type !== duplicate.type) {
      throw new CodeqError(
        'INTERNAL',
        `duplicate ${duplicate.type} points at seq ${duplicate.seq}, which is another event`,
      );
    }
    await this.deps.store.apply([original]);
    return original;
  }

  /** Brings one task's projection up to the log and reads it; undefined when the log has no such task. */
  syncFromLog(command: string, taskId: string): Promise<StoredTask | undefined> {
    return this.deps.writer.resync(command, taskId);
  }

  private resync(target: Target): Promise<StoredTask | undefined> {
    return this.syncFromLog(target.command, target.id);
  }
}

function refused(decision: { code: string; message: string }, taskId: string): CodeqError {
  return new CodeqError(decision.code as CodeqError['code'], decision.message, { details: { taskId } });
}

function writeItem(event: TaskEvent, expectedVersion: number, r: IntentRequest): WriteItem {
  const item: WriteItem = { event, expectedVersion };
  if (r.msgId !== undefined) item.msgId = r.msgId;
  if (r.rollup) item.rollup = true;
  return item;
}
