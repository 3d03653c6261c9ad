/**
 * The dashboard's DLQ actions (issue 17): requeue or delete dead-lettered tasks named by id, chosen
 * by a filter (creation time, text in the error), or the whole DLQ of a command; with `dryRun`, only
 * how many match. Each change is one intent per task through the one write path, so each is an
 * event in the task's log with the operator as actor (`requeued`, `deleted`); a deleted task then
 * leaves the projection, its id index, its idempotency key and its artifact files.
 */
import { assertValidCommand } from '../events/subjects.js';
import type { IdempotencyRegistry } from '../events/idempotency-registry.js';
import { FIELD } from '../projections/event.projection.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import { execOrThrow } from '../projections/redis-exec.js';
import { pipelineOf } from '../projections/redis-slots.js';
import type { ArtifactFiles } from './artifact-files.js';
import { assertTaskId } from './input-validation.js';
import type { TaskIntents } from './task-intents.js';

/** Most dead-lettered tasks one action reads when no ids are given. */
export const DLQ_ACTION_MAX = 100_000;
/** Tasks per round of intents. */
const CHUNK = 500;

/** Which dead-lettered tasks of a command an action takes. */
export interface DlqSelection {
  command: string;
  /** These tasks (those not dead-lettered in `command` are skipped); absent: the whole DLQ. */
  taskIds?: readonly string[] | undefined;
  /** Narrows the selection: created within the range (epoch ms, inclusive), error containing the text. */
  filter?:
    | { createdFrom?: number | undefined; createdTo?: number | undefined; errorContains?: string | undefined }
    | undefined;
  /** Count the matches, change nothing. */
  dryRun?: boolean | undefined;
  /** Who acts (`admin:<sub>`): the events' actor. */
  actor: string;
}

/** What {@link DlqOps} needs. */
export interface DlqDeps {
  store: ProjectionStore;
  commands: TaskIntents;
  registry: Pick<IdempotencyRegistry, 'releaseIfBoundTo'>;
  files: Pick<ArtifactFiles, 'removeTask'>;
}

/** A selected task and its idempotency key (released when it is deleted). */
interface Selected {
  id: string;
  idempotencyKey: string | undefined;
}

/** DLQ requeue and delete by selection. */
export class DlqOps {
  constructor(private readonly deps: DlqDeps) {}

  /** Requeues the selection (attempts reset); `{requeued}`, or `{matched}` for a dry run. */
  async requeue(sel: DlqSelection): Promise<{ requeued: number } | { matched: number }> {
    const chosen = await this.select(sel);
    if (sel.dryRun) return { matched: chosen.length };
    const ok = await this.run(sel, chosen, { type: 'requeue' });
    return { requeued: ok.length };
  }

  /** Deletes the selection (a `deleted` event each, then gone); `{deleted}`, or `{matched}` for a dry run. */
  async delete(sel: DlqSelection): Promise<{ deleted: number } | { matched: number }> {
    const chosen = await this.select(sel);
    if (sel.dryRun) return { matched: chosen.length };
    const done = await this.run(sel, chosen, { type: 'delete' });
    const { store, registry, files } = this.deps;
    const pipeline = pipelineOf(store.client);
    for (const t of done) {
      pipeline.del(store.keys.taskIndex(t.id));
      // The key's Redis entry too: left, it answered the next enqueue with that key with the deleted task.
      if (t.idempotencyKey !== undefined) pipeline.del(store.keys.idempotency(t.idempotencyKey));
    }
    if (done.length > 0) await execOrThrow(pipeline);
    for (const t of done) {
      if (t.idempotencyKey !== undefined) await registry.releaseIfBoundTo(t.idempotencyKey, t.id);
      await files.removeTask(t.id);
    }
    return { deleted: done.length };
  }

  /** Runs `intent` on each chosen task; answers those it changed. */
  private async run(sel: DlqSelection, chosen: Selected[], intent: { type: 'requeue' } | { type: 'delete' }) {
    const done: Selected[] = [];
    for (let i = 0; i < chosen.length; i += CHUNK) {
      const part = chosen.slice(i, i + CHUNK);
      const outcomes = await this.deps.commands.runMany(
        part.map((t) => ({
          taskId: t.id,
          intent,
          actor: sel.actor,
          // Only the command named: another command's task is refused (not found).
          allowedCommands: [sel.command],
          commandHint: sel.command,
        })),
      );
      outcomes.forEach((o, j) => o.ok && done.push(part[j] as Selected));
    }
    return done;
  }

  /** The dead-lettered tasks of the selection, oldest dead-letter first. */
  private async select(sel: DlqSelection): Promise<Selected[]> {
    assertValidCommand(sel.command);
    const { store } = this.deps;
    sel.taskIds?.forEach((id) => assertTaskId(id));
    // An id named twice is one task: counted once by a dry run, as the action then does it once.
    const ids = sel.taskIds
      ? [...new Set(sel.taskIds)]
      : (await store.listIds(sel.command, 'dlq', 0, DLQ_ACTION_MAX)).ids;
    if (ids.length === 0) return [];
    const pipeline = pipelineOf(store.client);
    for (const id of ids)
      pipeline.hmget(
        store.keys.task(sel.command, id),
        FIELD.state,
        FIELD.createdAt,
        FIELD.error,
        FIELD.idempotencyKey,
      );
    const rows = (await execOrThrow(pipeline)) as (string | null)[][];
    const f = sel.filter ?? {};
    const out: Selected[] = [];
    ids.forEach((id, i) => {
      const [state, created, error, key] = rows[i] ?? [];
      if (state !== 'deadLettered') return;
      const at = Number(created);
      if (f.createdFrom !== undefined && at < f.createdFrom) return;
      if (f.createdTo !== undefined && at > f.createdTo) return;
      if (f.errorContains !== undefined && !(error ?? '').includes(f.errorContains)) return;
      out.push({ id, idempotencyKey: key ?? undefined });
    });
    return out;
  }
}
