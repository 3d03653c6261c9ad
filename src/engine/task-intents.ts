/**
 * The intents a worker or an admin sends about one existing task (heartbeat, nack, abandon,
 * results, cancel), alone or in batches, through the one write path (`intent-handler.ts`), and
 * what is special about results: their validation, their record, and a retried result answered as
 * the success it was.
 */
import type { Span } from '@opentelemetry/api';
import type { TaskIntent } from '../actors/task.types.js';
import { CodeqError } from '../errors.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import { FIELD } from '../projections/event.projection.js';
import { resultFromHash } from '../projections/task-record.js';
import type { IntentHandler, IntentOutcome, IntentRequest } from './intent-handler.js';
import { targetOf } from './intent-handler.js';
import { nameResultSpan } from './engine-tracing.js';
import type { EngineApi, EngineSettings, ResultInput } from './engine.types.js';
import type { Artifact, ResultRecord } from '../contract/views.js';
import type { ResultArtifacts, StagedArtifacts } from './result-artifacts.js';
import { zeroAsDefault } from '../contract/limits.js';
import {
  assertErrorText,
  assertNackDelay,
  assertProgress,
  assertProgressData,
  assertReason,
  assertWorkerId,
  leaseSeconds,
} from './input-validation.js';

/** One intent (the decider's input) for one task. */
export interface TaskIntentRequest {
  /** The task. */
  taskId: string;
  /** What to do. */
  intent: TaskIntent;
  /** Who asks (worker id, `admin:<sub>`, …). */
  actor: string;
  /** The task's command when the caller knows it (saves a Redis read; verified, not trusted). */
  commandHint?: string | undefined;
  /** Commands the caller may act on (`*` = all; default all); another command's task is `NOT_FOUND`. */
  allowedCommands?: readonly string[] | undefined;
}

/** Options of {@link TaskIntents.run}. */
export interface RunOptions {
  /** The task, already loaded from the projection (skips the lease cache and the read). */
  loaded?: StoredTask | undefined;
  /** Commands the caller may act on (`*` = all; default all); another command's task is `NOT_FOUND`. */
  allowedCommands?: readonly string[] | undefined;
}

/** Refusals of a result that may be a retry of one already recorded. */
const RESULT_REFUSALS: ReadonlySet<string> = new Set(['WRONG_STATE', 'NOT_OWNER', 'LEASE_EXPIRED']);

function asCodeqError(err: unknown): CodeqError {
  return err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err });
}

/** Runs task intents against the projection and the log. */
export class TaskIntents {
  constructor(
    private readonly deps: {
      store: ProjectionStore;
      handler: IntentHandler;
      settings: EngineSettings;
      /** Stores results' inline artifacts before their events are appended. */
      artifacts: ResultArtifacts;
    },
  ) {}

  /** Loads a task, waiting for a rebuild when Redis lost the projection; `NOT_FOUND` else. */
  load(taskId: string): Promise<StoredTask> {
    return this.deps.handler.load(taskId);
  }

  /** Decides and writes one intent (see {@link IntentHandler}); throws its refusal or failure. */
  run(taskId: string, intent: TaskIntent, actor: string, options: RunOptions = {}): Promise<StoredTaskEvent> {
    const request: IntentRequest = { taskId, intent, actor, allowedCommands: options.allowedCommands };
    if (options.loaded) request.target = targetOf(options.loaded);
    return this.deps.handler.handleOne(request);
  }

  /** Runs many intents in one batch (see {@link IntentHandler.handle}); each answers on its own. */
  runMany(requests: readonly TaskIntentRequest[]): Promise<IntentOutcome[]> {
    return this.deps.handler.handle(requests);
  }

  /**
   * A worker gives its task back: a retry after backoff (or `delaySeconds`; 0 asks for the backoff,
   * codeQ's rule), a dead-letter now (`deadLetter`), or a rate-limited give-back that spends no
   * attempt (`rateLimited`). Answers what happened and the delay.
   */
  async nack(input: Parameters<EngineApi['nack']>[0]): ReturnType<EngineApi['nack']> {
    const { workerId, reason } = input;
    assertWorkerId(workerId);
    assertNackDelay(input.delaySeconds);
    assertReason(reason);
    if (input.deadLetter && input.rateLimited) {
      throw new CodeqError('INVALID_INPUT', "a nack is either 'deadLetter' or 'rateLimited', not both");
    }
    const delay = zeroAsDefault(input.delaySeconds, undefined);
    let intent: TaskIntent;
    if (input.deadLetter) intent = { type: 'deadLetter', workerId, reason };
    else if (input.rateLimited) intent = { type: 'rateLimited', workerId, retryAfterSeconds: delay };
    else intent = { type: 'nack', workerId, delayOverrideSeconds: delay, reason };
    const event = await this.run(input.taskId, intent, workerId, { allowedCommands: input.allowedCommands });
    if (event.type === 'nacked' || event.type === 'rateLimited')
      return { status: 'requeued', delaySeconds: Math.round(event.data.delayMs / 1000) };
    return { status: 'dlq', delaySeconds: 0 };
  }

  /** Validates and builds the intent of a result; `artifacts` are the staged records. */
  private resultIntent(input: ResultInput, artifacts: Artifact[] | undefined): TaskIntent {
    assertWorkerId(input.workerId);
    if (input.status === 'COMPLETED') {
      const intent: TaskIntent = {
        type: 'complete',
        workerId: input.workerId,
        result: input.result ?? null,
      };
      if (artifacts !== undefined) intent.artifacts = artifacts;
      return intent;
    }
    if (input.status !== 'FAILED')
      throw new CodeqError('INVALID_INPUT', "invalid 'status' (COMPLETED or FAILED)");
    assertErrorText(input.error);
    const intent: TaskIntent = { type: 'fail', workerId: input.workerId, error: input.error };
    if (artifacts !== undefined) intent.artifacts = artifacts;
    return intent;
  }

  /** The result record of a written `completed` or `failed` event. */
  private static resultRecord(input: ResultInput, event: StoredTaskEvent): ResultRecord {
    const artifacts =
      event.type === 'completed' || event.type === 'failed' ? event.data.artifacts : undefined;
    return input.status === 'COMPLETED'
      ? {
          taskId: input.taskId,
          status: 'COMPLETED',
          result: input.result ?? null,
          artifacts,
          completedAt: event.at,
        }
      : { taskId: input.taskId, status: 'FAILED', error: input.error, artifacts, completedAt: event.at };
  }

  /** Records many results at once; each answers on its own (a result record or an error). */
  async submitResults(inputs: readonly ResultInput[]): Promise<(ResultRecord | CodeqError)[]> {
    const answers: (ResultRecord | CodeqError)[] = new Array(inputs.length);
    const requests: TaskIntentRequest[] = [];
    const index: number[] = [];
    // Only results with artifacts make a promise here (a batch of plain results stays as cheap).
    const staged = inputs.some((input) => input.artifacts !== undefined)
      ? await this.deps.artifacts.stageMany(inputs)
      : undefined;
    inputs.forEach((input, i) => {
      try {
        const s = staged?.[i];
        if (s instanceof CodeqError) throw s;
        requests.push({
          taskId: input.taskId,
          intent: this.resultIntent(input, s?.records),
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
    const refused: Promise<void>[] = [];
    outcomes.forEach((o, k) => {
      const i = index[k]!;
      if (o.ok) answers[i] = TaskIntents.resultRecord(inputs[i]!, o.event);
      // Only a refusal may be a retry of a recorded result: successes make no promise.
      else
        refused.push(this.recordedResult(inputs[i]!, o.error).then((r) => void (answers[i] = r ?? o.error)));
    });
    await Promise.all(refused);
    if (staged) await this.writeDeferred(inputs, staged, answers);
    return answers;
  }

  /** Writes the artifacts a staging deferred, for the results the log took; a failure is the item's. */
  private async writeDeferred(
    inputs: readonly ResultInput[],
    staged: readonly (StagedArtifacts | CodeqError)[],
    answers: (ResultRecord | CodeqError)[],
  ): Promise<void> {
    await Promise.all(
      staged.map(async (s, i) => {
        if (s instanceof CodeqError || s.deferred.length === 0 || answers[i] instanceof CodeqError) return;
        await this.deps.artifacts.afterRecorded(inputs[i]!.taskId, s).catch((err: unknown) => {
          answers[i] =
            err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err });
        });
      }),
    );
  }

  /**
   * Records one result (see {@link TaskIntents.submitResults}); `span`, the call's result span, is
   * named after the task's command once the task is loaded.
   */
  async submitResult(input: ResultInput, span?: Span): Promise<ResultRecord> {
    assertWorkerId(input.workerId);
    const staged = await this.deps.artifacts.stage(input);
    const intent = this.resultIntent(input, staged.records);
    let record: ResultRecord;
    try {
      const event = await this.run(input.taskId, intent, input.workerId, {
        allowedCommands: input.allowedCommands,
      });
      if (span !== undefined) nameResultSpan(span, event.command);
      record = TaskIntents.resultRecord(input, event);
    } catch (err) {
      const recorded = await this.recordedResult(input, err);
      if (!recorded) throw err;
      record = recorded;
    }
    await this.deps.artifacts.afterRecorded(input.taskId, staged);
    return record;
  }

  /**
   * The result a refused submission already recorded: the task ended with the same outcome (status
   * and result or error) by the same worker, so this is a retry of a call whose answer was lost (a client timeout while the
   * append went through) and it answers as the success it was, with the stored record. Undefined
   * when the refusal stands.
   */
  private async recordedResult(input: ResultInput, err: unknown): Promise<ResultRecord | undefined> {
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

  /**
   * Records the lease holder's progress report (`progress` percent, optional small JSON `data`);
   * validated before anything is written. Answers the recorded value and its time (epoch ms).
   */
  async reportProgress(input: {
    taskId: string;
    workerId: string;
    progress: number;
    data?: unknown;
    allowedCommands?: readonly string[] | undefined;
  }): Promise<{ progress: number; progressAt: number }> {
    assertWorkerId(input.workerId);
    assertProgress(input.progress);
    assertProgressData(input.data);
    const intent: TaskIntent = { type: 'progress', workerId: input.workerId, progress: input.progress };
    if (input.data !== undefined) intent.data = input.data;
    const event = await this.run(input.taskId, intent, input.workerId, {
      allowedCommands: input.allowedCommands,
    });
    return { progress: input.progress, progressAt: event.at };
  }

  /** Validates an extension of a lease, in seconds (default `defaultLeaseSeconds`). */
  leaseMs(extendSeconds: number | undefined): number {
    return leaseSeconds(extendSeconds, 'extendSeconds', this.deps.settings.defaultLeaseSeconds) * 1000;
  }
}
