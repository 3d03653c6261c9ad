/**
 * What each event of a task's log says, in words: who claimed it, why it was nacked and for how
 * long it backs off, and so on. Runs of heartbeats fold into one entry (a long task beats often).
 */
import type { HistoryEvent } from './api/types';
import { duration, when } from './format';

/** One entry of the timeline: the events it stands for and its sentence. */
export interface TimelineEntry {
  first: HistoryEvent;
  last: HistoryEvent;
  count: number;
  text: string;
}

/** An event's data as an object (every task event's data is one; `{}` otherwise). */
export function dataOf(e: HistoryEvent): Record<string, unknown> {
  return typeof e.data === 'object' && e.data !== null ? (e.data as Record<string, unknown>) : {};
}

function str(data: Record<string, unknown>, key: string): string {
  const value = data[key];
  return value === undefined || value === null ? '' : String(value);
}

function num(data: Record<string, unknown>, key: string): number {
  return Number(data[key] ?? 0);
}

/** ` ("reason")` when there is one. */
function because(data: Record<string, unknown>): string {
  const reason = str(data, 'reason');
  return reason === '' ? '' : `: “${reason}”`;
}

/** The sentence of one event. */
export function describeEvent(e: HistoryEvent): string {
  const d = dataOf(e);
  const worker = str(d, 'workerId');
  const retry = () => `retry in ${duration(num(d, 'delayMs'))} (at ${when(num(d, 'runAt'))})`;
  switch (e.type) {
    case 'enqueued':
      return `Enqueued by ${e.actor}, priority ${str(d, 'priority')}, up to ${str(d, 'maxAttempts')} attempts${
        d.runAt === undefined ? '' : `, delayed until ${when(num(d, 'runAt'))}`
      }`;
    case 'claimed':
      return `Claimed by ${worker} (attempt ${str(d, 'attempts')}), lease until ${when(num(d, 'leaseUntil'))}`;
    case 'heartbeat':
      return `Heartbeat from ${worker}, lease until ${when(num(d, 'leaseUntil'))}`;
    case 'progressed':
      return `Progress ${str(d, 'progress')} % reported by ${worker}`;
    case 'nacked':
      return `Nacked by ${worker}${because(d)}; ${retry()}`;
    case 'rateLimited':
      return `Rate-limited by ${worker}; ${retry()}, attempt not counted`;
    case 'abandoned':
      return `Given back untouched by ${worker}`;
    case 'leaseExpired':
      return `Lease of ${worker} expired; ${retry()}`;
    case 'completed':
      return `Completed by ${worker}`;
    case 'failed':
      return `Failed on ${worker}: ${str(d, 'error')}`;
    case 'dlq':
      return `Dead-lettered (${str(d, 'cause')}) by ${worker}${because(d)}`;
    case 'requeued':
      return `Sent back from the DLQ by ${e.actor}, attempts reset`;
    case 'cancelled':
      return `Cancelled by ${e.actor}${because(d)}`;
    case 'deleted':
      return `Deleted from the DLQ by ${e.actor}${because(d)}`;
    case 'snapshot':
      return `Snapshot of the task (earlier events were compacted), ${str(d, 'status')}`;
    case 'webhookDelivered':
      return `Result callback delivered (HTTP ${str(d, 'httpStatus')}, ${str(d, 'attempts')} attempts)`;
    case 'webhookGaveUp':
      return `Result callback given up after ${str(d, 'attempts')} attempts: ${str(d, 'error')}`;
    default:
      return `${e.type} by ${e.actor}`;
  }
}

/** The timeline of `events`, consecutive heartbeats of one worker folded into one entry. */
export function timeline(events: readonly HistoryEvent[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (
      prev &&
      e.type === 'heartbeat' &&
      prev.last.type === 'heartbeat' &&
      dataOf(prev.last).workerId === dataOf(e).workerId
    ) {
      const d = dataOf(e);
      prev.last = e;
      prev.count += 1;
      prev.text = `${prev.count} heartbeats from ${str(d, 'workerId')}, last lease until ${when(num(d, 'leaseUntil'))}`;
      continue;
    }
    out.push({ first: e, last: e, count: 1, text: describeEvent(e) });
  }
  return out;
}
