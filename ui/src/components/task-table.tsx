/** A table of tasks, each linking to its detail page. */
import type { ComponentChildren } from 'preact';
import type { Task } from '../api/types';
import { when } from '../format';
import { routeHash } from '../router';

/** The state to show: the machine state of the full view, else the codeQ status. */
export function stateOf(task: Task): string {
  return task.state ?? task.status;
}

/** Props of {@link TaskTable}. */
export interface TaskTableProps {
  tasks: readonly Task[];
  caption: string;
  /** Extra leading cell per row (a checkbox on the DLQ page). */
  lead?: { header: ComponentChildren; cell: (task: Task) => ComponentChildren };
  /** Extra trailing cell per row (row actions). */
  actions?: (task: Task) => ComponentChildren;
}

/** The table. */
export function TaskTable({ tasks, caption, lead, actions }: TaskTableProps) {
  return (
    <div class="table-wrap">
      <table class="tasks">
        <caption>{caption}</caption>
        <thead>
          <tr>
            {lead && <th scope="col">{lead.header}</th>}
            <th scope="col">Task</th>
            <th scope="col">Command</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Created</th>
            <th scope="col">Worker / error</th>
            {actions && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.id}>
              {lead && <td>{lead.cell(t)}</td>}
              <td>
                <a class="mono" href={routeHash(`/tasks/${t.id}`)} title={t.id}>
                  {t.id.slice(0, 8)}
                </a>
              </td>
              <td>{t.command}</td>
              <td>
                <span class={`state s-${stateOf(t)}`}>{stateOf(t)}</span>
              </td>
              <td>
                {t.attempts}/{t.maxAttempts}
              </td>
              <td>{when(t.createdAt)}</td>
              <td class="clip">{t.error ?? t.workerId ?? ''}</td>
              {actions && <td class="row-actions">{actions(t)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
