/**
 * Hand-off: a task this engine just enqueued, for which one of its own claimers is long-polling,
 * goes straight to that claimer instead of through ready, a wake-up and a reserve round. Its apply
 * puts it into `reserved` (as a reserve round would), the claimer appends `claimed` with the
 * enqueue's sequence as expected version, exactly as after a reserve: the log's fence still decides,
 * and a claimer that never appends leaves a reservation that lapses back to ready. Enqueue → handler
 * start loses two Redis round trips (the enqueue's apply is no longer waited for, nor the reserve).
 */
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import type { StoredTask } from '../projections/projection.store.js';
import { hashOfEnqueued } from '../projections/task-record.js';
import type { ClaimWaiters } from './claim-waiters.js';
import { RESERVATION_MS } from './claimer.js';
import type { HandOffPlan } from './task-writer.js';

/**
 * Offers the new, due tasks among `stored` to `waiters`. Delayed tasks (due later), grouped tasks,
 * tasks of controlled queues and every other event type are never handed off. Undefined when no waiter took any.
 *
 * @param now - epoch ms: decides which tasks are due, and starts the reservation
 */
export function planHandOff(
  waiters: ClaimWaiters,
  stored: readonly StoredTaskEvent[],
  now: number,
  /** True for a queue whose controls (pause, limits) the claim script must check. */
  isControlled: (command: string) => boolean = () => false,
): HandOffPlan | undefined {
  let tasks: StoredTask[] | undefined;
  for (const event of stored) {
    if (event.type !== 'enqueued' || !waiters.isWaiting(event.command)) continue;
    if (event.data.runAt !== undefined && event.data.runAt > now) continue;
    // Only a reserve round applies a queue's controls and its groups' turns and limits.
    if (event.data.groupKey !== undefined || isControlled(event.command)) continue;
    (tasks ??= []).push({ id: event.taskId, command: event.command, hash: hashOfEnqueued(event) });
  }
  if (!tasks) return undefined;
  const handOff = waiters.handOff(tasks);
  if (!handOff) return undefined;
  return { taken: handOff.taken, reserveUntil: now + RESERVATION_MS, deliver: handOff.deliver };
}
