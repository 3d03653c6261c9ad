/**
 * DLQ retry and delete, each in two steps: a dry run answers how many tasks match (shown in the
 * confirmation), then the action itself.
 */
import { call } from './api/client';

/** Retry (requeue) or delete. */
export type DlqVerb = 'requeue' | 'delete';

/** Which dead-lettered tasks: these ids, or all matching a filter (neither: the whole DLQ, sent as `all: true`). */
export interface DlqSelection {
  taskIds?: string[];
  filter?: Record<string, string | number>;
}

/** The request body: the selection, or `all: true` for the whole DLQ (a delete refuses an empty body). */
function bodyOf(selection: DlqSelection): Record<string, unknown> {
  return selection.taskIds === undefined && selection.filter === undefined ? { all: true } : { ...selection };
}

function path(command: string, verb: DlqVerb): string {
  return `/v1/codeq/admin/dlq/${encodeURIComponent(command)}/${verb}`;
}

/** How many tasks the action would touch. */
export async function dryRun(command: string, verb: DlqVerb, selection: DlqSelection): Promise<number> {
  const out = await call<{ matched: number }>(path(command, verb), {
    body: { ...bodyOf(selection), dryRun: true },
  });
  return out.matched;
}

/** Runs the action; answers how many tasks it touched. */
export async function act(command: string, verb: DlqVerb, selection: DlqSelection): Promise<number> {
  const out = await call<{ requeued?: number; deleted?: number }>(path(command, verb), {
    body: bodyOf(selection),
  });
  return (verb === 'requeue' ? out.requeued : out.deleted) ?? 0;
}
