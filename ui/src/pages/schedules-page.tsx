/** Schedules: every schedule with its calendar, next and last run; run one now. */
import type { Schedule } from '../api/types';
import { call } from '../api/client';
import { ActionButton } from '../components/action-button';
import type { Column } from '../components/simple-table';
import { SimpleTable } from '../components/simple-table';
import { StatusLine } from '../components/status-line';
import { when } from '../format';
import { routeHash } from '../router';
import { useAction } from '../use-action';
import { useApi } from '../use-api';

/** The schedules page. */
export function SchedulesPage() {
  const list = useApi<{ schedules: Schedule[] }>('/v1/codeq/admin/schedules');
  const actions = useAction();
  const runNow = (s: Schedule) =>
    actions.run(async () => {
      const out = await call<{ task: { id: string } }>(
        `/v1/codeq/admin/schedules/${encodeURIComponent(s.name)}/run`,
        {
          method: 'POST',
        },
      );
      list.reload();
      return `Schedule ${s.name} ran: task ${out.task.id} enqueued.`;
    });
  const columns: Array<Column<Schedule>> = [
    { header: 'Name', cell: (s) => s.name },
    { header: 'Command', cell: (s) => s.command },
    { header: 'When', cell: (s) => `${s.cron ?? `every ${s.every ?? '?'}`} (${s.timezone})` },
    { header: 'State', cell: (s) => (s.paused ? <span class="badge paused">paused</span> : 'active') },
    { header: 'Next run', cell: (s) => when(s.nextRunAt) },
    {
      header: 'Last run',
      cell: (s) =>
        s.lastTaskId === undefined ? (
          when(s.lastRunAt)
        ) : (
          <a href={routeHash(`/tasks/${s.lastTaskId}`)}>
            {when(s.lastRunAt)} ({s.lastTaskStatus ?? 'task'})
          </a>
        ),
    },
    {
      header: 'Actions',
      cell: (s) => (
        <ActionButton
          label={`Run schedule ${s.name} now`}
          onClick={() => void runNow(s)}
          disabled={actions.busy}
        >
          Run now
        </ActionButton>
      ),
    },
  ];
  return (
    <main>
      <h1>Schedules</h1>
      <StatusLine message={actions.message} error={actions.error ?? list.error} />
      {list.data && (
        <SimpleTable
          caption="Schedules by name"
          rows={list.data.schedules}
          columns={columns}
          rowKey={(s) => s.name}
          empty="No schedule is defined."
        />
      )}
    </main>
  );
}
