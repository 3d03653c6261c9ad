/** Tasks: search every task by command, state, ids, keys, time and a payload field; paged by the server. */
import { query } from '../api/client';
import type { SearchPage } from '../api/types';
import { Pager } from '../components/pager';
import { StatusLine } from '../components/status-line';
import type { Filters } from '../components/task-search-form';
import { filtersOf, TaskSearchForm } from '../components/task-search-form';
import { TaskTable } from '../components/task-table';
import { count } from '../format';
import type { Route } from '../router';
import { navigate } from '../router';
import { useApi } from '../use-api';
import { useCursorStack } from '../use-cursor-stack';

/** Page size of the search. */
const LIMIT = 50;

/** A datetime-local value as epoch ms for the API (empty stays empty). */
function epoch(local: string): string {
  if (local === '') return '';
  const ms = new Date(local).getTime();
  return Number.isNaN(ms) ? local : String(ms);
}

/** The search request of these filters. */
export function searchPath(filters: Filters, cursor: string | undefined): string {
  const { createdFrom, createdTo, state, ...rest } = filters;
  return `/v1/codeq/admin/tasks/search${query({
    ...rest,
    state: state === 'all' ? '' : state,
    createdFrom: epoch(createdFrom),
    createdTo: epoch(createdTo),
    cursor,
    limit: LIMIT,
  })}`;
}

/** The tasks page. */
export function TasksPage({ route }: { route: Route }) {
  const filters = filtersOf(route.params);
  const cursor = route.params.get('cursor') ?? undefined;
  const go = (next: Filters, at?: string) => navigate('/tasks', { ...next, cursor: at });
  const pages = useCursorStack(cursor, (at) => go(filters, at));
  const { data, error, loading } = useApi<SearchPage>(searchPath(filters, cursor));
  const summary = data
    ? `${count(data.items.length)} shown of ${data.totalExact ? '' : 'at least '}${count(data.total)}`
    : '';
  return (
    <main>
      <h1>Tasks</h1>
      <TaskSearchForm
        initial={filters}
        onSearch={(f) => {
          pages.reset();
          go(f);
        }}
      />
      <StatusLine message={loading ? 'Searching…' : data ? `${summary} tasks.` : undefined} error={error} />
      {data && (
        <>
          <TaskTable tasks={data.items} caption="Matching tasks, newest first" />
          {data.items.length === 0 && <p>No task matches.</p>}
          <Pager
            summary={summary}
            hasPrevious={pages.hasPrevious}
            nextCursor={data.nextCursor}
            onPrevious={pages.previous}
            onNext={pages.next}
          />
        </>
      )}
    </main>
  );
}
