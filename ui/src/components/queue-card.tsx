/** One queue on the overview: counts, rates, charts of the last hour, pause/resume. */
import type { QueueOverview } from '../api/types';
import { count, duration, percent, rate } from '../format';
import { routeHash } from '../router';
import { ActionButton } from './action-button';
import { Sparkline } from './sparkline';

/** Props of {@link QueueCard}. */
export interface QueueCardProps {
  queue: QueueOverview;
  onTogglePause: (queue: QueueOverview) => void;
  busy: boolean;
}

/** A count that links to the tasks in that state. */
function Count(props: { label: string; value: number; href: string; warn?: boolean }) {
  return (
    <div class={props.warn && props.value > 0 ? 'count warn' : 'count'}>
      <dt>{props.label}</dt>
      <dd>
        <a href={props.href}>{count(props.value)}</a>
      </dd>
    </div>
  );
}

/** The card of one queue. */
export function QueueCard({ queue, onTogglePause, busy }: QueueCardProps) {
  const tasks = (state: string) => routeHash('/tasks', { command: queue.command, state });
  const series = queue.series;
  return (
    <article class="queue" aria-labelledby={`queue-${queue.command}`}>
      <header>
        <h2 id={`queue-${queue.command}`}>
          <a href={tasks('all')}>{queue.command}</a>
        </h2>
        {queue.paused && <span class="badge paused">paused</span>}
        <ActionButton
          plain
          onClick={() => onTogglePause(queue)}
          disabled={busy}
          label={`${queue.paused ? 'Resume' : 'Pause'} queue ${queue.command}`}
        >
          {queue.paused ? 'Resume' : 'Pause'}
        </ActionButton>
      </header>
      <dl class="counts">
        <Count label="Ready" value={queue.ready} href={tasks('ready')} />
        <Count label="Delayed" value={queue.delayed} href={tasks('delayed')} />
        <Count label="In progress" value={queue.inProgress} href={tasks('inProgress')} />
        <Count label="DLQ" value={queue.dlq} href={routeHash('/dlq', { command: queue.command })} warn />
      </dl>
      <dl class="rates">
        <div>
          <dt>Enqueued</dt>
          <dd>{rate(queue.enqueuedPerSec)}</dd>
        </div>
        <div>
          <dt>Completed</dt>
          <dd>{rate(queue.completedPerSec)}</dd>
        </div>
        <div>
          <dt>Failure rate</dt>
          <dd>{percent(queue.failureRate)}</dd>
        </div>
        <div>
          <dt>Oldest ready</dt>
          <dd>{queue.ready > 0 ? duration(queue.oldestReadyAgeMs) : '—'}</dd>
        </div>
      </dl>
      {series && (
        <div class="charts">
          <figure>
            <Sparkline values={series.enqueued} label="enqueued per minute" tone="enqueued" />
            <figcaption>enqueued</figcaption>
          </figure>
          <figure>
            <Sparkline values={series.completed} label="completed per minute" tone="completed" />
            <figcaption>completed</figcaption>
          </figure>
          <figure>
            <Sparkline values={series.failed} label="failed per minute" tone="failed" />
            <figcaption>failed</figcaption>
          </figure>
        </div>
      )}
    </article>
  );
}
