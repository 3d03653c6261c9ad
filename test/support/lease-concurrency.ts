/**
 * Leases at once, read off the log: walking every event in stream order, how many tasks of a queue
 * (and of each group key) were leased at the same time at most. The log is the one order every
 * instance agrees on, so this is what a concurrency limit must hold to, across instances.
 */
import type { StoredTaskEvent, TaskEventType } from '../../src/events/task-event.schema.js';
import type { StreamContents } from './invariants.js';

/** Events that end a lease. */
const ENDS_LEASE: ReadonlySet<TaskEventType> = new Set([
  'nacked',
  'abandoned',
  'leaseExpired',
  'completed',
  'failed',
  'dlq',
  'cancelled',
]);

/** The most leases held at once, in the whole queue and per group key. */
export interface LeasePeaks {
  /** Most tasks leased at once. */
  queue: number;
  /** Most tasks of each group key leased at once. */
  byGroup: Map<string, number>;
  /** Claims in log order (task ids), to judge fairness. */
  claimOrder: { taskId: string; groupKey?: string | undefined }[];
}

/** Walks `stream` in sequence order (only tasks of `command`). */
export function leasePeaks(stream: StreamContents, command: string): LeasePeaks {
  const events: StoredTaskEvent[] = [];
  for (const list of stream.byTask.values()) for (const e of list) if (e.command === command) events.push(e);
  events.sort((a, b) => a.seq - b.seq);
  const groupOf = new Map<string, string | undefined>();
  const leased = new Set<string>();
  const leasedBy = new Map<string, number>();
  const peaks: LeasePeaks = { queue: 0, byGroup: new Map(), claimOrder: [] };
  for (const e of events) {
    if (e.type === 'enqueued') groupOf.set(e.taskId, e.data.groupKey);
    const g = groupOf.get(e.taskId);
    if (e.type === 'claimed' && !leased.has(e.taskId)) {
      leased.add(e.taskId);
      peaks.queue = Math.max(peaks.queue, leased.size);
      peaks.claimOrder.push({ taskId: e.taskId, groupKey: g });
      if (g !== undefined) {
        const n = (leasedBy.get(g) ?? 0) + 1;
        leasedBy.set(g, n);
        peaks.byGroup.set(g, Math.max(peaks.byGroup.get(g) ?? 0, n));
      }
    } else if (ENDS_LEASE.has(e.type) && leased.delete(e.taskId) && g !== undefined) {
      leasedBy.set(g, (leasedBy.get(g) ?? 1) - 1);
    }
  }
  return peaks;
}
