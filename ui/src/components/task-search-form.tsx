/** The task search form. Its fields are the URL's filters: submitting navigates, the page searches. */
import { useEffect, useState } from 'preact/hooks';

/** The filter names, in the URL and the form alike. */
export const FILTERS = [
  'command',
  'state',
  'id',
  'idempotencyKey',
  'groupKey',
  'createdFrom',
  'createdTo',
  'payloadPath',
  'payloadValue',
] as const;

/** One value per filter (`''` when unset). */
export type Filters = Record<(typeof FILTERS)[number], string>;

/** The states the search can select. */
const STATES = ['all', 'ready', 'delayed', 'inProgress', 'dlq', 'done', 'failed', 'cancelled'];

/** The filters in URL parameters. */
export function filtersOf(params: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Filters;
}

/** One labelled text field. */
function Field(props: {
  name: keyof Filters;
  label: string;
  filters: Filters;
  set: (name: keyof Filters, value: string) => void;
  type?: string;
  placeholder?: string;
}) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.filters[props.name]}
        placeholder={props.placeholder}
        onInput={(e) => props.set(props.name, e.currentTarget.value)}
      />
    </div>
  );
}

/** The form; `onSearch` gets the filters to put in the URL. */
export function TaskSearchForm(props: { initial: Filters; onSearch: (filters: Filters) => void }) {
  const [filters, setFilters] = useState(props.initial);
  // Back/forward (or a link) changes the URL: the form shows what is searched.
  useEffect(() => setFilters(props.initial), [JSON.stringify(props.initial)]);
  const set = (name: keyof Filters, value: string) => setFilters((f) => ({ ...f, [name]: value }));
  const common = { filters, set };
  return (
    <form
      class="search"
      role="search"
      aria-label="Search tasks"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSearch(filters);
      }}
    >
      <Field name="command" label="Command" placeholder="e.g. GEN" {...common} />
      <div class="field">
        <label for="f-state">State</label>
        <select
          id="f-state"
          name="state"
          value={filters.state || 'all'}
          onChange={(e) => set('state', e.currentTarget.value)}
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <Field name="id" label="Task id" {...common} />
      <Field name="idempotencyKey" label="Idempotency key" {...common} />
      <Field name="groupKey" label="Group key" {...common} />
      <Field name="createdFrom" label="Created from" type="datetime-local" {...common} />
      <Field name="createdTo" label="Created to" type="datetime-local" {...common} />
      <Field name="payloadPath" label="Payload path" placeholder="customer.id" {...common} />
      <Field name="payloadValue" label="Payload value" {...common} />
      <div class="buttons">
        <button type="submit" class="action">
          Search
        </button>
        <button type="button" onClick={() => props.onSearch(filtersOf(new URLSearchParams()))}>
          Clear
        </button>
      </div>
    </form>
  );
}
