/** One task: its fields, progress, payload and result, the timeline of its log, and cancel. */
import { useState } from 'preact/hooks';
import { call } from '../api/client';
import type { History, Task } from '../api/types';
import type { Confirmation } from '../components/confirm-dialog';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ActionButton } from '../components/action-button';
import { JsonView } from '../components/json-view';
import { StatusLine } from '../components/status-line';
import { TaskTimeline } from '../components/task-timeline';
import { stateOf } from '../components/task-table';
import { when } from '../format';
import { dataOf } from '../timeline-text';
import { useAction } from '../use-action';
import { useApi } from '../use-api';

/** States a task can still be cancelled in. */
const LIVE_STATES = new Set(['pending', 'inProgress', 'PENDING', 'IN_PROGRESS']);

/** One row of the field list. */
function Row(props: { label: string; value: string | number | undefined }) {
  if (props.value === undefined || props.value === '') return null;
  return (
    <div>
      <dt>{props.label}</dt>
      <dd>{props.value}</dd>
    </div>
  );
}

/** The detail page of task `id`. */
export function TaskDetailPage({ id }: { id: string }) {
  const task = useApi<Task>(`/v1/codeq/tasks/${encodeURIComponent(id)}?view=full`);
  const history = useApi<History>(`/v1/codeq/tasks/${encodeURIComponent(id)}/history`);
  const actions = useAction();
  const [confirm, setConfirm] = useState<Confirmation>();
  const t = task.data;
  const events = history.data?.events ?? [];
  const completed = events.findLast((e) => e.type === 'completed');
  const cancel = () =>
    setConfirm({
      title: 'Cancel this task?',
      text: `Task ${id} will not run again; a worker holding it learns at its next call.`,
      confirmLabel: 'Cancel task',
      danger: true,
      onConfirm: () =>
        void actions.run(async () => {
          await call(`/v1/codeq/tasks/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
          task.reload();
          history.reload();
          return 'Task cancelled.';
        }),
    });
  return (
    <main>
      <div class="page-head">
        <h1>
          Task <span class="mono">{id}</span>
        </h1>
        {t && LIVE_STATES.has(stateOf(t)) && (
          <ActionButton onClick={cancel} danger disabled={actions.busy}>
            Cancel task
          </ActionButton>
        )}
      </div>
      <StatusLine message={actions.message} error={actions.error ?? task.error ?? history.error} />
      {t && (
        <section aria-label="Fields" class="detail">
          <dl class="fields">
            <Row label="Command" value={t.command} />
            <Row label="State" value={stateOf(t)} />
            <Row label="Attempts" value={`${t.attempts} of ${t.maxAttempts}`} />
            <Row label="Priority" value={t.priority} />
            <Row label="Lease holder" value={t.workerId} />
            <Row label="Lease until" value={t.leaseUntil && when(t.leaseUntil)} />
            <Row label="Created" value={when(t.createdAt)} />
            <Row label="Updated" value={when(t.updatedAt)} />
            <Row label="Run at" value={t.runAt && when(t.runAt)} />
            <Row label="Idempotency key" value={t.idempotencyKey} />
            <Row label="Group key" value={t.groupKey} />
            <Row label="Error" value={t.error} />
          </dl>
          {t.progress !== undefined && (
            <div class="progress">
              <label for="task-progress">Progress {t.progress} %</label>
              <progress id="task-progress" max={100} value={t.progress} />
            </div>
          )}
          <JsonView label="Payload" value={t.payload} open />
          {completed && <JsonView label="Result" value={dataOf(completed).result} />}
          {t.progressData !== undefined && <JsonView label="Progress data" value={t.progressData} />}
        </section>
      )}
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        {history.data ? <TaskTimeline events={events} /> : <p>Loading…</p>}
      </section>
      <ConfirmDialog confirm={confirm} onClose={() => setConfirm(undefined)} />
    </main>
  );
}
