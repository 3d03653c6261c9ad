/**
 * A result's artifacts on their way to the log: inline contents are checked, decoded and stored as
 * files (see `artifact-files.ts`) before the result event is appended, and the event records each
 * artifact's name, URL, size and SHA-256 instead of its content.
 *
 * Files are written first for a task that may still take the result (it exists, the caller may see
 * its command, it is not finished). For a finished task the submission is a retry of a recorded
 * result or a refusal, so nothing is written; should the log take it after all (the projection
 * was behind: a dead-lettered task requeued and claimed elsewhere), the files are written as soon
 * as the engine answers, before the caller hears of it.
 */
import type { Artifact } from '../contract/views.js';
import { CodeqError } from '../errors.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import { FIELD } from '../projections/event.projection.js';
import type { ArtifactFiles, DecodedArtifacts } from './artifact-files.js';
import type { ResultInput } from './engine.types.js';
import { assertArtifacts, commandRefusal } from './input-validation.js';

const FINISHED: ReadonlySet<string | undefined> = new Set([
  'completed',
  'failed',
  'cancelled',
  'deadLettered',
]);

/** One result's artifacts, staged. */
export interface StagedArtifacts {
  /** What the result event records (undefined: the result has no artifacts). */
  records: Artifact[] | undefined;
  /** Files not written yet (the task looked finished); write them once the log took the result. */
  deferred: DecodedArtifacts['files'];
}

/** Stages results' artifacts against one artifacts directory. */
export class ResultArtifacts {
  constructor(private readonly deps: { files: ArtifactFiles; store: ProjectionStore }) {}

  /**
   * Checks, decodes and (when the task may take the result) stores one result's artifacts. Throws
   * `INVALID_INPUT` for bad artifacts, with nothing written.
   */
  async stage(input: ResultInput): Promise<StagedArtifacts> {
    const raw = input.artifacts;
    if (raw === undefined) return { records: undefined, deferred: [] };
    assertArtifacts(raw);
    const decoded = this.deps.files.decode(input.taskId, raw);
    if (decoded.files.length === 0) return { records: decoded.records, deferred: [] };
    const task = await this.deps.store.load(input.taskId, input.command);
    // An unknown or hidden task is refused by the engine: no directory is made for it.
    if (!task || commandRefusal(input.allowedCommands, task) !== undefined) {
      return { records: decoded.records, deferred: [] };
    }
    if (FINISHED.has(task.hash[FIELD.state])) return { records: decoded.records, deferred: decoded.files };
    await this.deps.files.write(input.taskId, decoded.files);
    return { records: decoded.records, deferred: [] };
  }

  /** Stages many results' artifacts; each answers on its own (staged, or the error refusing it). */
  stageMany(inputs: readonly ResultInput[]): Promise<(StagedArtifacts | CodeqError)[]> {
    return Promise.all(
      inputs.map((input) =>
        this.stage(input).catch((err: unknown) =>
          err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err }),
        ),
      ),
    );
  }

  /** Writes the files a staging deferred, once the log took the result. */
  async afterRecorded(taskId: string, staged: StagedArtifacts): Promise<void> {
    if (staged.deferred.length > 0) await this.deps.files.write(taskId, staged.deferred);
  }
}
