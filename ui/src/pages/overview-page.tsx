/** Overview: every queue with its counts, rates and last hour, live; pause or resume a queue. */
import { call } from '../api/client';
import type { QueueOverview } from '../api/types';
import { QueueCard } from '../components/queue-card';
import { StatusLine } from '../components/status-line';
import { ago } from '../format';
import { routeHash } from '../router';
import { useAction } from '../use-action';
import { useLiveOverview } from '../use-live-overview';

/** The overview page. */
export function OverviewPage() {
  const { overview, recent, live, setLive, error, refresh } = useLiveOverview();
  const actions = useAction();
  const togglePause = (queue: QueueOverview) =>
    actions.run(async () => {
      const verb = queue.paused ? 'resume' : 'pause';
      await call(`/v1/codeq/admin/queues/${encodeURIComponent(queue.command)}/${verb}`, { method: 'POST' });
      refresh();
      return `Queue ${queue.command} ${queue.paused ? 'resumed' : 'paused'}.`;
    });
  return (
    <main>
      <div class="page-head">
        <h1>Overview</h1>
        <span class={live ? 'badge live' : 'badge'}>{live ? 'live' : 'paused updates'}</span>
        <button type="button" onClick={() => setLive(!live)} aria-pressed={!live}>
          {live ? 'Pause live' : 'Resume live'}
        </button>
      </div>
      <StatusLine message={actions.message} error={actions.error ?? error} />
      {overview === undefined ? (
        <p>Loading…</p>
      ) : (
        <>
          <p class="summary">
            {overview.queues.length} queue{overview.queues.length === 1 ? '' : 's'} ·{' '}
            <a href="#/workers">
              {overview.workers.active} active worker{overview.workers.active === 1 ? '' : 's'}
            </a>{' '}
            · updated {new Date(overview.now).toLocaleTimeString()}
          </p>
          {overview.queues.length === 0 && <p>No queue has had a task yet.</p>}
          <div class="queues">
            {overview.queues.map((q) => (
              <QueueCard key={q.command} queue={q} onTogglePause={togglePause} busy={actions.busy} />
            ))}
          </div>
        </>
      )}
      <section aria-labelledby="recent-title" class="recent">
        <h2 id="recent-title">Recent events</h2>
        {recent.length === 0 ? (
          <p class="help">{live ? 'Waiting for events…' : 'Live updates are paused.'}</p>
        ) : (
          <ol>
            {recent.map((e) => (
              <li key={e.seq}>
                <span class={`event-type t-${e.type}`}>{e.type}</span>{' '}
                <a href={routeHash(`/tasks/${e.taskId}`)}>{e.taskId.slice(0, 8)}</a> {e.command}
                {e.workerId !== undefined && ` by ${e.workerId}`} · {ago(e.at)}
              </li>
            ))}
          </ol>
        )}
      </section>
    </main>
  );
}
