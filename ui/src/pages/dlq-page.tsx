/**
 * DLQ: one command's dead-lettered tasks with checkboxes; retry or delete one, the selection, or
 * all matching a filter. Each action first counts (a dry run) and asks, then acts.
 */
import { useState } from 'preact/hooks';
import { describeError, query } from '../api/client';
import type { Overview, TaskPage } from '../api/types';
import { ActionButton } from '../components/action-button';
import type { Confirmation } from '../components/confirm-dialog';
import { ConfirmDialog } from '../components/confirm-dialog';
import type { DlqFilter } from '../components/dlq-filter-form';
import { DlqFilterForm, dlqFilterOf, filterBody } from '../components/dlq-filter-form';
import { Pager } from '../components/pager';
import { StatusLine } from '../components/status-line';
import { TaskTable } from '../components/task-table';
import type { DlqSelection, DlqVerb } from '../dlq-actions';
import { act, dryRun } from '../dlq-actions';
import { count } from '../format';
import type { Route } from '../router';
import { navigate } from '../router';
import { useAction } from '../use-action';
import { useApi } from '../use-api';
import { useCursorStack } from '../use-cursor-stack';

const WORDS: Record<DlqVerb, { verb: string; done: string; danger: boolean }> = {
  requeue: { verb: 'Retry', done: 'Requeued', danger: false },
  delete: { verb: 'Delete', done: 'Deleted', danger: true },
};

/** The DLQ page. */
export function DlqPage({ route }: { route: Route }) {
  const command = route.params.get('command') ?? '';
  const filter = dlqFilterOf(route.params);
  const cursor = route.params.get('cursor') ?? undefined;
  const go = (c: string, f: DlqFilter, at?: string) => navigate('/dlq', { command: c, ...f, cursor: at });
  const pages = useCursorStack(cursor, (at) => go(command, filter, at));
  const overview = useApi<Overview>('/v1/codeq/admin/overview');
  const list = useApi<TaskPage>(
    command === ''
      ? undefined
      : `/v1/codeq/admin/dlq/${encodeURIComponent(command)}${query({ view: 'full', limit: 50, cursor })}`,
  );
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirm, setConfirm] = useState<Confirmation>();
  const actions = useAction();

  const ask = async (verb: DlqVerb, selection: DlqSelection, what: string) => {
    const words = WORDS[verb];
    let matched: number;
    try {
      matched = await dryRun(command, verb, selection);
    } catch (e) {
      actions.say(undefined, describeError(e));
      return;
    }
    if (matched === 0) return actions.say(`No dead-lettered task matches ${what}.`);
    setConfirm({
      title: `${words.verb} ${count(matched)} task${matched === 1 ? '' : 's'}?`,
      text: `${words.verb} ${what} of ${command}: ${count(matched)} dead-lettered task${matched === 1 ? '' : 's'} match${
        matched === 1 ? 'es' : ''
      } now.${verb === 'delete' ? ' Deleted tasks leave the DLQ for good (their log keeps the deletion).' : ''}`,
      confirmLabel: `${words.verb} ${count(matched)}`,
      danger: words.danger,
      onConfirm: () =>
        void actions.run(async () => {
          const n = await act(command, verb, selection);
          setSelected(new Set());
          list.reload();
          overview.reload();
          return `${words.done} ${count(n)} task${n === 1 ? '' : 's'} of ${command}.`;
        }),
    });
  };

  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const tasks = list.data?.tasks ?? [];
  const allChecked = tasks.length > 0 && tasks.every((t) => selected.has(t.id));
  const withDlq = (overview.data?.queues ?? []).filter((q) => q.dlq > 0 || q.command === command);
  const ids = [...selected];
  const filterText = filterBody(filter) ? 'all matching the filter' : 'the whole DLQ';

  return (
    <main>
      <h1>Dead-letter queue</h1>
      <div class="field inline">
        <label for="dlq-command">Command</label>
        <select
          id="dlq-command"
          value={command}
          onChange={(e) => {
            setSelected(new Set());
            pages.reset();
            go(e.currentTarget.value, filter);
          }}
        >
          <option value="">Choose a command…</option>
          {withDlq.map((q) => (
            <option key={q.command} value={q.command}>
              {q.command} ({count(q.dlq)})
            </option>
          ))}
        </select>
      </div>
      <StatusLine message={actions.message} error={actions.error ?? list.error ?? overview.error} />
      {command !== '' && list.data && (
        <>
          <DlqFilterForm initial={filter} onApply={(f) => go(command, f)} />
          <div class="bulk" role="group" aria-label="Bulk actions">
            <ActionButton
              onClick={() => void ask('requeue', { taskIds: ids }, 'the selection')}
              disabled={ids.length === 0}
            >
              Retry selected ({ids.length})
            </ActionButton>
            <ActionButton
              danger
              onClick={() => void ask('delete', { taskIds: ids }, 'the selection')}
              disabled={ids.length === 0}
            >
              Delete selected ({ids.length})
            </ActionButton>
            <ActionButton onClick={() => void ask('requeue', selectionOf(filter), filterText)}>
              Retry {filterText}
            </ActionButton>
            <ActionButton danger onClick={() => void ask('delete', selectionOf(filter), filterText)}>
              Delete {filterText}
            </ActionButton>
          </div>
          <TaskTable
            tasks={tasks}
            caption={`Dead-lettered tasks of ${command}, oldest first (${count(list.data.total)} in all)`}
            lead={{
              header: (
                <input
                  type="checkbox"
                  aria-label="Select every task on this page"
                  checked={allChecked}
                  onChange={() => setSelected(allChecked ? new Set() : new Set(tasks.map((t) => t.id)))}
                />
              ),
              cell: (t) => (
                <input
                  type="checkbox"
                  aria-label={`Select task ${t.id}`}
                  checked={selected.has(t.id)}
                  onChange={() => toggle(t.id)}
                />
              ),
            }}
            actions={(t) => (
              <>
                <ActionButton
                  label={`Retry task ${t.id}`}
                  onClick={() => void ask('requeue', { taskIds: [t.id] }, 'this task')}
                >
                  Retry
                </ActionButton>
                <ActionButton
                  danger
                  label={`Delete task ${t.id}`}
                  onClick={() => void ask('delete', { taskIds: [t.id] }, 'this task')}
                >
                  Delete
                </ActionButton>
              </>
            )}
          />
          {tasks.length === 0 && <p>The DLQ of {command} is empty.</p>}
          <Pager
            summary={`${count(tasks.length)} shown of ${count(list.data.total)}`}
            hasPrevious={pages.hasPrevious}
            nextCursor={list.data.nextCursor}
            onPrevious={pages.previous}
            onNext={pages.next}
          />
        </>
      )}
      <ConfirmDialog confirm={confirm} onClose={() => setConfirm(undefined)} />
    </main>
  );
}

/** The selection of the "all matching" actions. */
function selectionOf(filter: DlqFilter): DlqSelection {
  const body = filterBody(filter);
  return body === undefined ? {} : { filter: body };
}
