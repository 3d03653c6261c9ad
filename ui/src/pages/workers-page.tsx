/** Workers: ids seen in the last minutes (claims, heartbeats, results), tasks held, last heartbeat. */
import type { Worker } from '../api/types';
import type { Column } from '../components/simple-table';
import { SimpleTable } from '../components/simple-table';
import { StatusLine } from '../components/status-line';
import { ago, when } from '../format';
import { useApi } from '../use-api';

const COLUMNS: Array<Column<Worker>> = [
  { header: 'Worker', cell: (w) => <span class="mono">{w.workerId}</span> },
  { header: 'Tasks held', cell: (w) => w.tasksHeld },
  { header: 'Commands', cell: (w) => w.commands.join(', ') },
  {
    header: 'Last seen',
    cell: (w) => (
      <time dateTime={new Date(w.lastSeenAt).toISOString()} title={when(w.lastSeenAt)}>
        {ago(w.lastSeenAt)}
      </time>
    ),
  },
];

/** The workers page. */
export function WorkersPage() {
  const list = useApi<{ workers: Worker[] }>('/v1/codeq/admin/workers');
  return (
    <main>
      <div class="page-head">
        <h1>Workers</h1>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <StatusLine error={list.error} />
      {list.data && (
        <SimpleTable
          caption="Workers seen in the last 10 minutes"
          rows={list.data.workers}
          columns={COLUMNS}
          rowKey={(w) => w.workerId}
          empty="No worker was seen in the last 10 minutes."
        />
      )}
    </main>
  );
}
