/**
 * Snapshots keep live tasks in a log that ages out (design §2): a task whose oldest event nears the
 * stream's max age gets its folded state appended as a `snapshot` event published as a subject
 * rollup (with the expected version), after which the log holds only the snapshot and what follows.
 */
import type { TaskEventData } from '../events/task-event.schema.js';
import { FIELD as F } from '../projections/event.projection.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import { targetOf, type IntentHandler, type IntentRequest } from './intent-handler.js';

/** Most snapshots one pass takes per command. */
const SNAPSHOTS_PER_PASS = 500;

/** The `snapshot` event data of a live task hash, or undefined for a task that is not live. */
export function snapshotData(task: StoredTask): TaskEventData<'snapshot'> | undefined {
  const h = task.hash;
  const status = h[F.state];
  if (status !== 'pending' && status !== 'inProgress') return undefined;
  const num = (field: string) => (h[field] === undefined ? undefined : Number(h[field]));
  const data: TaskEventData<'snapshot'> = {
    status,
    payload: JSON.parse(h[F.payload] ?? 'null') as unknown,
    priority: num(F.priority) ?? 0,
    maxAttempts: num(F.maxAttempts) ?? 1,
    attempts: num(F.attempts) ?? 0,
    readySeq: num(F.readySeq) ?? 1,
    createdAt: num(F.createdAt) ?? 0,
    updatedAt: num(F.updatedAt) ?? num(F.createdAt) ?? 0,
  };
  const runAt = num(F.runAt);
  const leaseUntil = num(F.leaseUntil);
  if (runAt !== undefined) data.runAt = runAt;
  if (h[F.worker] !== undefined) data.workerId = h[F.worker];
  if (leaseUntil !== undefined) data.leaseUntil = leaseUntil;
  if (h[F.webhook] !== undefined) data.webhook = h[F.webhook];
  if (h[F.idempotencyKey] !== undefined) data.idempotencyKey = h[F.idempotencyKey];
  if (h[F.groupKey] !== undefined) data.groupKey = h[F.groupKey];
  if (h[F.error] !== undefined) data.error = h[F.error];
  if (h[F.traceParent] !== undefined) data.traceParent = h[F.traceParent];
  if (h[F.traceState] !== undefined) data.traceState = h[F.traceState];
  const progress = h[F.progress];
  if (progress !== undefined) data.progress = JSON.parse(progress) as TaskEventData<'snapshot'>['progress'];
  return data;
}

/**
 * Snapshots the live tasks of `command` whose oldest event is older than `now - snapshotAfterMs`.
 * A task that moved meanwhile (version conflict) is simply left for the next pass. Returns how many
 * snapshots were written.
 */
export async function snapshotAgingTasks(
  command: string,
  now: number,
  deps: { store: ProjectionStore; handler: IntentHandler; snapshotAfterMs: number },
): Promise<number> {
  if (!Number.isFinite(deps.snapshotAfterMs)) return 0; // the log keeps events forever
  const ids = await deps.store.aging(command, now - deps.snapshotAfterMs, SNAPSHOTS_PER_PASS);
  if (ids.length === 0) return 0;
  const tasks = await deps.store.loadMany(command, ids);
  const requests: IntentRequest[] = [];
  for (const task of tasks) {
    const data = snapshotData(task);
    if (data) {
      requests.push({
        taskId: task.id,
        intent: { type: 'snapshot', data },
        actor: 'system',
        target: targetOf(task),
        rollup: true,
      });
    }
  }
  if (requests.length === 0) return 0;
  const outcomes = await deps.handler.handle(requests, { retries: 0, now });
  return outcomes.filter((o) => o.ok).length;
}
