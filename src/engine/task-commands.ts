/**
 * The commands a worker or an admin sends about one existing task (heartbeat, nack, abandon,
 * results, cancel), alone or in batches. Each is decided by the task machine on the projection's
 * snapshot and appended with the snapshot's version; a refusal or a version conflict may come from
 * a projection behind the log, so the task is synced from the log and decided once more.
 */
import { decide } from '../actors/task.decider.js';
import type { DecisionContext, TaskCommand } from '../actors/task.types.js';
import { CodeqError } from '../errors.js';
import type { StoredTaskEvent, TaskEvent } from '../events/task-event.schema.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import { FIELD } from '../projections/event.projection.js';
import { resultFromHash, snapshotFromHash } from '../projections/task-record.js';
import type { EngineSettings, ResultInput, ResultRecord } from './engine.types.js';
import {
  assertArtifacts,
  assertErrorText,
  assertTaskId,
  commandRefusal,
  assertWorkerId,
  leaseSeconds,
} from './input-validation.js';
import type { TaskWriter, WriteItem } from './task-writer.js';
import { TASK_ID_PATTERN } from '../events/subjects.js';
import type { TaskSnapshot } from '../actors/task.types.js';
import type { LeaseCache } from './lease-cache.js';

/** One command for one task. */
export interface TaskCommandRequest {
  /** The task. */
  taskId: string;
  /** What to do. */
  command: TaskCommand;
  /** Who asks (worker id, `admin:<sub>`, …). */
  actor: string;
  /** The task's command when the caller knows it (saves a Redis read; verified, not trusted). */
  commandHint?: string | undefined;
  /** Commands the caller may act on (`*` = all; default all); another command's task is `NOT_FOUND`. */
  allowedCommands?: readonly string[] | undefined;
}

/** Options of {@link TaskCommands.run}. */
export interface RunOptions {
  /** The task, already loaded from the projection (skips the lease cache and the read). */
  loaded?: StoredTask | undefined;
  /** Commands the caller may act on (`*` = all; default all); another command's task is `NOT_FOUND`. */
  allowedCommands?: readonly string[] | undefined;
}

/** Outcome of one request of a batch. */
export type CommandOutcome = { ok: true; event: StoredTaskEvent } | { ok: false; error: CodeqError };

/** One result of {@link TaskCommands.submitResults}. */
export type ResultSubmission = ResultInput;

/** The task a decision is about: its id, command and snapshot (from the projection or the lease cache). */
interface Target {
  id: string;
  command: string;
  snapshot: TaskSnapshot;
}

function target(task: StoredTask): Target {
  return { id: task.id, command: task.command, snapshot: snapshotFromHash(task.hash) };
}

/** Refusals of a result that may be a retry of one already recorded. */
const RESULT_REFUSALS: ReadonlySet<string> = new Set(['WRONG_STATE', 'NOT_OWNER', 'LEASE_EXPIRED']);

function asCodeqError(err: unknown): CodeqError {
  return err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err });
}

/** Runs task commands against the projection and the log. */
export class TaskCommands {
  constructor(
    private readonly deps: {
      store: ProjectionStore;
      writer: TaskWriter;
      settings: EngineSettings;
      /** Waits for (or runs) a rebuild when Redis lost the projection. */
      ensureBuilt: () => Promise<void>;
      /** Snapshots of leases this engine wrote; consulted before the projection. */
      leases?: LeaseCache | undefined;
    },
  ) {}

  private context(task: { id: string; command: string }, actor: string): DecisionContext {
    return {
      taskId: task.id,
      command: task.command,
      actor,
      now: Date.now(),
      backoff: this.deps.settings.backoff,
    };
  }

  /** Loads a task, waiting for a rebuild when Redis lost the projection. */
  async load(taskId: string): Promise<StoredTask> {
    assertTaskId(taskId);
    let task = await this.deps.store.load(taskId);
    if (!task && !(await this.deps.store.isBuilt())) {
      await this.deps.ensureBuilt();
      task = await this.deps.store.load(taskId);
    }
    if (!task) throw new CodeqError('NOT_FOUND', 'not found', { details: { taskId } });
    return task;
  }

  /**
   * Decides and writes one command, resyncing from the log on a possibly stale refusal or conflict.
   * A lease this engine wrote is decided on its cached snapshot first; if that one is refused or
   * meets a newer version, the projection decides (see {@link LeaseCache}). A task's command never
   * changes, so `allowedCommands` is checked once, before anything is decided or written.
   */
  async run(
    taskId: string,
    command: TaskCommand,
    actor: string,
    options: RunOptions = {},
  ): Promise<StoredTaskEvent> {
    const { loaded, allowedCommands } = options;
    const leases = this.deps.leases;
    const cached = loaded === undefined ? leases?.get(taskId) : undefined;
    let fromCache = cached !== undefined;
    let current: Target = cached
      ? { id: taskId, command: cached.command, snapshot: cached.snapshot }
      : target(loaded ?? (await this.load(taskId)));
    const refusal = commandRefusal(allowedCommands, current);
    if (refusal) throw refusal;
    for (let attempt = 0; ;) {
      const snapshot = current.snapshot;
      const decision = decide(snapshot, command, this.context(current, actor));
      let error: CodeqError;
      if (decision.ok) {
        const [outcome] = await this.deps.writer.write([
          { event: decision.events[0] as TaskEvent, expectedVersion: snapshot.version },
        ]);
        if (outcome?.ok) {
          leases?.afterWrite(snapshot, outcome.event);
          return outcome.event;
        }
        error = outcome?.error ?? new CodeqError('INTERNAL', 'no append outcome');
        if (error.code !== 'VERSION_CONFLICT') throw error;
      } else {
        error = new CodeqError(decision.code, decision.message, { details: { taskId } });
      }
      if (fromCache) {
        // The cached lease is out of date: decide again on the projection (not an attempt).
        leases?.forget(taskId);
        fromCache = false;
        current = target(await this.load(taskId));
        continue;
      }
      if (attempt++ >= 3) throw error;
      const fresh = await this.deps.writer.resync(current.command, current.id);
      if (!fresh) throw error;
      const next = target(fresh);
      if (next.snapshot.version === snapshot.version && !decision.ok) throw error;
      current = next;
    }
  }

  /**
   * Runs many commands with a fixed number of round trips on the common path (one read of the
   * snapshots, none for leases this engine holds cached, one pipelined append, one apply). Items
   * that are refused, conflict or are unknown take the single path, which resyncs from the log
   * before answering.
   */
  async runMany(requests: readonly TaskCommandRequest[]): Promise<CommandOutcome[]> {
    const leases = this.deps.leases;
    const outcomes: CommandOutcome[] = new Array(requests.length);
    const targets: (Target | undefined)[] = new Array(requests.length);
    const toLoad: number[] = [];
    const slow: number[] = [];
    requests.forEach((r, i) => {
      if (!TASK_ID_PATTERN.test(r.taskId)) return slow.push(i);
      const cached = leases?.get(r.taskId, r.commandHint);
      if (cached) targets[i] = { id: r.taskId, command: cached.command, snapshot: cached.snapshot };
      else toLoad.push(i);
    });
    if (toLoad.length > 0) {
      const loaded = await this.deps.store.loadAll(
        toLoad.map((i) => requests[i]!.taskId),
        toLoad.map((i) => requests[i]!.commandHint),
      );
      toLoad.forEach((i, j) => {
        const task = loaded[j];
        if (task) targets[i] = target(task);
        else slow.push(i);
      });
    }
    const items: WriteItem[] = [];
    const itemIndex: number[] = [];
    targets.forEach((current, i) => {
      if (!current) return;
      const request = requests[i]!;
      const refusal = commandRefusal(request.allowedCommands, current);
      if (refusal) {
        outcomes[i] = { ok: false, error: refusal };
        return;
      }
      const decision = decide(current.snapshot, request.command, this.context(current, request.actor));
      if (!decision.ok) {
        // Refused: the single path decides again on the projection (resynced from the log).
        leases?.forget(request.taskId);
        return slow.push(i);
      }
      items.push({ event: decision.events[0] as TaskEvent, expectedVersion: current.snapshot.version });
      itemIndex.push(i);
    });
    const written = items.length > 0 ? await this.deps.writer.write(items) : [];
    written.forEach((outcome, k) => {
      const i = itemIndex[k]!;
      if (outcome.ok) {
        leases?.afterWrite(targets[i]!.snapshot, outcome.event);
        outcomes[i] = { ok: true, event: outcome.event };
      } else if (outcome.error.code === 'VERSION_CONFLICT') {
        leases?.forget(requests[i]!.taskId);
        slow.push(i);
      } else outcomes[i] = { ok: false, error: outcome.error };
    });
    await Promise.all(
      slow.map(async (i) => {
        const r = requests[i]!;
        try {
          const options = { allowedCommands: r.allowedCommands };
          outcomes[i] = { ok: true, event: await this.run(r.taskId, r.command, r.actor, options) };
        } catch (err) {
          outcomes[i] = { ok: false, error: asCodeqError(err) };
        }
      }),
    );
    return outcomes;
  }

  /** Validates and builds the command of a result. */
  resultCommand(input: ResultSubmission): TaskCommand {
    assertWorkerId(input.workerId);
    assertArtifacts(input.artifacts);
    if (input.status === 'COMPLETED') {
      const command: TaskCommand = {
        type: 'complete',
        workerId: input.workerId,
        result: input.result ?? null,
      };
      if (input.artifacts !== undefined) command.artifacts = input.artifacts;
      return command;
    }
    if (input.status !== 'FAILED')
      throw new CodeqError('INVALID_INPUT', "invalid 'status' (COMPLETED or FAILED)");
    assertErrorText(input.error);
    const command: TaskCommand = { type: 'fail', workerId: input.workerId, error: input.error };
    if (input.artifacts !== undefined) command.artifacts = input.artifacts;
    return command;
  }

  /** The result record of a written `completed` or `failed` event. */
  static resultRecord(input: ResultSubmission, event: StoredTaskEvent): ResultRecord {
    return input.status === 'COMPLETED'
      ? {
          taskId: input.taskId,
          status: 'COMPLETED',
          result: input.result ?? null,
          artifacts: input.artifacts,
          completedAt: event.at,
        }
      : {
          taskId: input.taskId,
          status: 'FAILED',
          error: input.error,
          artifacts: input.artifacts,
          completedAt: event.at,
        };
  }

  /** Records many results at once; each answers on its own (a result record or an error). */
  async submitResults(inputs: readonly ResultSubmission[]): Promise<(ResultRecord | CodeqError)[]> {
    const answers: (ResultRecord | CodeqError)[] = new Array(inputs.length);
    const requests: TaskCommandRequest[] = [];
    const index: number[] = [];
    inputs.forEach((input, i) => {
      try {
        requests.push({
          taskId: input.taskId,
          command: this.resultCommand(input),
          actor: input.workerId,
          commandHint: input.command,
          allowedCommands: input.allowedCommands,
        });
        index.push(i);
      } catch (err) {
        answers[i] = asCodeqError(err);
      }
    });
    const outcomes = await this.runMany(requests);
    await Promise.all(
      outcomes.map(async (o, k) => {
        const i = index[k]!;
        answers[i] = o.ok
          ? TaskCommands.resultRecord(inputs[i]!, o.event)
          : ((await this.recordedResult(inputs[i]!, o.error)) ?? o.error);
      }),
    );
    return answers;
  }

  /** Records one result (see {@link TaskCommands.submitResults}). */
  async submitResult(input: ResultSubmission): Promise<ResultRecord> {
    const command = this.resultCommand(input);
    try {
      const event = await this.run(input.taskId, command, input.workerId, {
        allowedCommands: input.allowedCommands,
      });
      return TaskCommands.resultRecord(input, event);
    } catch (err) {
      const recorded = await this.recordedResult(input, err);
      if (recorded) return recorded;
      throw err;
    }
  }

  /**
   * The result a refused submission already recorded: the task ended with the same outcome (status
   * and result or error) by the same worker, so this is a retry of a call whose answer was lost (a client timeout while the
   * append went through) and it answers as the success it was, with the stored record. Undefined
   * when the refusal stands.
   */
  private async recordedResult(input: ResultSubmission, err: unknown): Promise<ResultRecord | undefined> {
    if (!(err instanceof CodeqError) || !RESULT_REFUSALS.has(err.code)) return undefined;
    const task = await this.deps.store.load(input.taskId).catch(() => undefined);
    if (!task) return undefined;
    const h = task.hash;
    // The terminal events leave the lease holder in the hash: it is the worker that recorded it.
    if (h[FIELD.worker] !== input.workerId) return undefined;
    // A retry sends the same outcome; a different one from the same worker is a real conflict.
    const same =
      input.status === 'COMPLETED'
        ? h[FIELD.state] === 'completed' && h[FIELD.result] === JSON.stringify(input.result ?? null)
        : h[FIELD.state] === 'failed' && h[FIELD.error] === input.error;
    return same ? resultFromHash(task.id, h) : undefined;
  }

  /** Validates an extension of a lease, in seconds (default `defaultLeaseSeconds`). */
  leaseMs(extendSeconds: number | undefined): number {
    return leaseSeconds(extendSeconds, 'extendSeconds', this.deps.settings.defaultLeaseSeconds) * 1000;
  }
}
