/**
 * Admin operations: listings, DLQ requeue, cleanup of terminal tasks, and reading the log.
 */
import type { ArtifactFiles } from './artifact-files.js';
import {
  CLEANUP_LIMIT_DEFAULT,
  CLEANUP_LIMIT_MAX,
  EVENTS_LIMIT_DEFAULT,
  EVENTS_LIMIT_MAX,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  WAIT_SECONDS_MAX,
  zeroAsDefault,
} from '../contract/limits.js';
import { CodeqError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { IdempotencyRegistry } from '../events/idempotency-registry.js';
import { assertValidCommand } from '../events/subjects.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import { viewFromHash } from '../projections/task-record.js';
import type { EngineSettings } from './engine.types.js';
import type { Page, TaskView } from '../contract/views.js';
import { assertTaskId, integerIn } from './input-validation.js';
import type { TaskIntents } from './task-intents.js';

/** Listing names of the API, mapped to projection indexes. */
const LISTABLE = {
  ready: 'ready',
  delayed: 'delayed',
  inProgress: 'inflight',
  dlq: 'dlq',
  done: 'done',
} as const;

/** Tasks one requeue round sends back. */
const REQUEUE_CHUNK = 500;

/** The admin side of the engine. */
export class AdminOps {
  constructor(
    private readonly deps: {
      store: ProjectionStore;
      log: EventLog;
      commands: TaskIntents;
      settings: EngineSettings;
      /** Idempotency bindings, released with the tasks `cleanup` deletes. */
      registry: IdempotencyRegistry;
      /** Files of results' inline artifacts, removed with the tasks `cleanup` deletes. */
      files: Pick<ArtifactFiles, 'removeTask'>;
    },
  ) {}

  /** A page of one command's tasks in one state, in index order; the cursor is an offset. */
  async listTasks(
    command: string,
    state: keyof typeof LISTABLE,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<Page<TaskView>> {
    assertValidCommand(command);
    const index = LISTABLE[state];
    if (!index)
      throw new CodeqError('INVALID_INPUT', `invalid status (one of ${Object.keys(LISTABLE).join(', ')})`);
    const offset = options.cursor === undefined ? 0 : Number(options.cursor);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new CodeqError('INVALID_INPUT', 'invalid cursor');
    const limit = integerIn(options.limit, 'limit', 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT);
    const { ids, total } = await this.deps.store.listIds(command, index, offset, limit);
    const tasks = await this.deps.store.loadMany(command, ids);
    const items = tasks.map((t) => viewFromHash(t.id, t.command, t.hash));
    const next = offset + ids.length;
    return next < total ? { items, total, nextCursor: String(next) } : { items, total };
  }

  /** Sends dead-lettered tasks back to the queue with fresh attempts (all of the command's when no ids). */
  async requeueDlq(input: {
    command: string;
    taskIds?: string[];
    actor: string;
  }): Promise<{ requeued: number }> {
    assertValidCommand(input.command);
    const ids = input.taskIds ?? (await this.deps.store.listIds(input.command, 'dlq', 0, 100_000)).ids;
    ids.forEach((id) => assertTaskId(id));
    let requeued = 0;
    for (let i = 0; i < ids.length; i += REQUEUE_CHUNK) {
      const requests = ids
        .slice(i, i + REQUEUE_CHUNK)
        // Given ids must belong to the command named: another command's task is refused (not found).
        .map((taskId) => ({
          taskId,
          intent: { type: 'requeue' } as const,
          actor: input.actor,
          allowedCommands: [input.command],
        }));
      const outcomes = await this.deps.commands.runMany(requests);
      requeued += outcomes.filter((o) => o.ok).length;
    }
    return { requeued };
  }

  /** Deletes terminal tasks last changed before `before` from the projection and from the log. */
  async cleanup(input: { before: number; limit: number }): Promise<{ deleted: number }> {
    if (!Number.isSafeInteger(input.before))
      throw new CodeqError('INVALID_INPUT', "invalid 'before' (use RFC3339)");
    const limit = zeroAsDefault(input.limit, CLEANUP_LIMIT_DEFAULT);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > CLEANUP_LIMIT_MAX) {
      throw new CodeqError(
        'INVALID_INPUT',
        `invalid 'limit' (0..${CLEANUP_LIMIT_MAX}, 0 = ${CLEANUP_LIMIT_DEFAULT})`,
      );
    }
    let deleted = 0;
    for (const command of await this.deps.store.commands()) {
      if (deleted >= limit) break;
      const purged = await this.deps.store.purge(command, input.before, input.before, limit - deleted);
      for (const { id, idempotencyKey } of purged) {
        // The log forgets them too, so a rebuild does not bring them back.
        await this.deps.log.purgeTask(command, id);
        // And their keys are free again, as the index's were: a repeat makes a new task.
        if (idempotencyKey !== undefined) await this.deps.registry.releaseIfBoundTo(idempotencyKey, id);
        // And their artifacts' files go with them.
        await this.deps.files.removeTask(id);
      }
      deleted += purged.length;
    }
    return { deleted };
  }

  /**
   * A page of the log from a sequence or a time. With `waitSeconds`, an empty page is asked again
   * every 250 ms until the wait ends (`events tail`): a tool, never a hot path.
   */
  async readEvents(
    input: {
      fromSeq?: number;
      fromTime?: number;
      limit?: number;
      waitSeconds?: number;
      signal?: AbortSignal;
      command?: string;
    },
    isClosed: () => boolean,
  ): Promise<{ events: StoredTaskEvent[]; nextSeq: number }> {
    const limit = integerIn(input.limit, 'limit', 1, EVENTS_LIMIT_MAX, EVENTS_LIMIT_DEFAULT);
    const wait = integerIn(input.waitSeconds, 'waitSeconds', 0, WAIT_SECONDS_MAX, 0);
    const deadline = Date.now() + Math.min(wait, this.deps.settings.maxWaitSeconds) * 1000;
    if (input.fromTime !== undefined && !Number.isSafeInteger(input.fromTime)) {
      throw new CodeqError('INVALID_INPUT', "invalid 'fromTime' (use RFC3339)");
    }
    const command = input.command === undefined ? {} : { command: input.command };
    let page = await this.deps.log.readPage(
      input.fromTime !== undefined && input.fromSeq === undefined
        ? { fromTime: new Date(input.fromTime), limit, ...command }
        : { fromSeq: input.fromSeq ?? 1, limit, ...command },
    );
    while (page.events.length === 0 && Date.now() < deadline && !isClosed() && !input.signal?.aborted) {
      await new Promise((r) => setTimeout(r, 250));
      page = await this.deps.log.readPage({ fromSeq: page.nextSeq, limit, ...command });
    }
    return page;
  }
}
