/** A task's events from the log, oldest first, each with its time and sentence. */
import type { HistoryEvent } from '../api/types';
import { when } from '../format';
import { timeline } from '../timeline-text';

/** The timeline list. */
export function TaskTimeline({ events }: { events: readonly HistoryEvent[] }) {
  return (
    <ol class="timeline" aria-label="Timeline">
      {timeline(events).map((entry) => (
        <li key={entry.first.seq} class={`t-${entry.first.type}`}>
          <span class={`event-type t-${entry.first.type}`}>{entry.first.type}</span>
          <time dateTime={entry.last.time}>{when(entry.last.time)}</time>
          <p>{entry.text}</p>
        </li>
      ))}
    </ol>
  );
}
