/**
 * The admin bulk cancel: every live task of one command that matches a filter is cancelled, as one
 * operation: each task's `cancelled` event names the admin (its actor) and the operation's id, so
 * the log shows who cancelled what, and which tasks one request cancelled together.
 *
 * The work is paged: a page of the command's live tasks is read (a few hash fields each), matched,
 * and its cancels go through the one write path as one batch, before the next page is read. Each
 * page is a few round trips and no long synchronous step, so the event loop keeps serving others
 * however many tasks match.
 */
import { randomUUID } from 'node:crypto';
import type { TaskIntent } from '../actors/task.types.js';
import { GROUP_KEY_PATTERN } from '../contract/queue-controls.js';
import { MESSAGES } from '../contract/messages.js';
import { CodeqError } from '../errors.js';
import { assertValidCommand } from '../events/subjects.js';
import { FIELD } from '../projections/event.projection.js';
import { liveScanStart, nextLiveTasks } from '../projections/live-scan.js';
import { SNAPSHOT_FIELDS, type ProjectionStore, type StoredTask } from '../projections/projection.store.js';
import type { TaskHash } from '../projections/task-record.js';
import { targetOf, type IntentHandler, type IntentRequest } from './intent-handler.js';
import { assertReason } from './input-validation.js';

/** Live tasks one page reads and cancels. */
const PAGE_SIZE = 500;

/** What the decision and the filter read of each task hash. */
const FIELDS = [...SNAPSHOT_FIELDS, FIELD.createdAt, FIELD.groupKey];

/** The live states a bulk cancel selects from (a finished task cannot be cancelled). */
export type CancelableState = 'pending' | 'inProgress';

/** Which tasks a bulk cancel selects. Every given condition must hold. */
export interface CancelFilter {
  /** The queue (required: one operation never spans queues). */
  command: string;
  /** Only pending (ready, delayed or reserved) or only leased tasks; default both. */
  state?: CancelableState | undefined;
  /**
   * Only tasks enqueued with this group key. Not matched yet: the key is not stored on tasks in
   * this tree, and a filter that cannot be checked is refused rather than ignored.
   */
  groupKey?: string | undefined;
  /** Only tasks created strictly before this time, epoch ms. */
  createdBefore?: number | undefined;
  /** Only tasks created at or after this time, epoch ms. */
  createdAfter?: number | undefined;
}

/** A bulk cancel request. */
export interface BulkCancelInput {
  /** Which tasks. */
  filter: CancelFilter;
  /** Who asks (`admin:<sub>`): the actor of every event. */
  actor: string;
  /** Reason recorded in every event (and as the tasks' `error`); at most 4096 characters. */
  reason?: string | undefined;
  /** Count the matching tasks and cancel nothing; default false. */
  dryRun?: boolean | undefined;
}

/** What a bulk cancel did. */
export interface BulkCancelResult {
  /** The operation's id, in every `cancelled` event it wrote (none for a dry run). */
  operationId: string;
  /** Tasks that matched the filter when the operation reached them. */
  matched: number;
  /** Of those, tasks it cancelled (the others finished or were cancelled meanwhile); 0 for a dry run. */
  cancelled: number;
  /** True when nothing was written. */
  dryRun: boolean;
}

function invalid(message: string): never {
  throw new CodeqError('INVALID_INPUT', message);
}

/** Checks a filter before anything is read; refuses what it cannot match. */
export function assertCancelFilter(filter: CancelFilter): void {
  if (typeof filter !== 'object' || filter === null) invalid("invalid 'filter' (an object)");
  assertValidCommand(filter.command);
  if (filter.state !== undefined && filter.state !== 'pending' && filter.state !== 'inProgress') {
    invalid("invalid 'state' (pending or inProgress)");
  }
  for (const name of ['createdBefore', 'createdAfter'] as const) {
    const value = filter[name];
    if (value !== undefined && !Number.isSafeInteger(value)) invalid(`invalid '${name}' (use RFC3339)`);
  }
  if (filter.groupKey !== undefined) {
    if (typeof filter.groupKey !== 'string' || !GROUP_KEY_PATTERN.test(filter.groupKey)) {
      invalid(MESSAGES.groupKey);
    }
  }
}

/** True when a task hash matches the filter (`startedAt` bounds creation: no chase of new work). */
function matches(hash: TaskHash, filter: CancelFilter, startedAt: number): boolean {
  const state = hash[FIELD.state];
  if (state !== 'pending' && state !== 'inProgress') return false;
  if (filter.state !== undefined && state !== filter.state) return false;
  const createdAt = Number(hash[FIELD.createdAt]);
  if (!(createdAt <= startedAt)) return false;
  if (filter.createdBefore !== undefined && !(createdAt < filter.createdBefore)) return false;
  if (filter.createdAfter !== undefined && !(createdAt >= filter.createdAfter)) return false;
  if (filter.groupKey !== undefined && hash[FIELD.groupKey] !== filter.groupKey) return false;
  return true;
}

/**
 * Cancels (or with `dryRun` counts) the live tasks of `filter.command` that match `filter` and were
 * created before the operation started; tasks enqueued while it runs are left alone. Each page's
 * cancels go through `handler.handle` as one batch (a task that moved meanwhile is decided again
 * on its fresh state: a finished one is not cancelled and not counted as cancelled).
 *
 * @throws CodeqError `INVALID_INPUT` for a bad filter or reason, before anything is read.
 */
export async function bulkCancel(
  input: BulkCancelInput,
  deps: { store: ProjectionStore; handler: IntentHandler; now?: () => number },
): Promise<BulkCancelResult> {
  assertCancelFilter(input.filter);
  assertReason(input.reason);
  const { filter } = input;
  const dryRun = input.dryRun === true;
  const operationId = randomUUID();
  const startedAt = (deps.now ?? Date.now)();
  const intent: TaskIntent = { type: 'cancel', operationId };
  if (input.reason !== undefined) intent.reason = input.reason;
  let matched = 0;
  let cancelled = 0;
  let cursor = liveScanStart();
  for (;;) {
    const page = await nextLiveTasks(
      deps.store.client,
      deps.store.keys,
      filter.command,
      cursor,
      PAGE_SIZE,
      FIELDS,
    );
    cursor = page.cursor;
    const selected: StoredTask[] = page.tasks.filter((t) => matches(t.hash, filter, startedAt));
    matched += selected.length;
    if (!dryRun && selected.length > 0) {
      const requests: IntentRequest[] = selected.map((task) => ({
        taskId: task.id,
        intent,
        actor: input.actor,
        target: targetOf(task),
        allowedCommands: [filter.command],
      }));
      const outcomes = await deps.handler.handle(requests);
      for (const outcome of outcomes) if (outcome.ok) cancelled++;
    }
    if (page.done) break;
  }
  return { operationId, matched, cancelled, dryRun };
}
