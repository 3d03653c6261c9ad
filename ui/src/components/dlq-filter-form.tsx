/** The filter of the DLQ's "all matching" actions: a creation window and a text in the error. */
import { useEffect, useState } from 'preact/hooks';

/** The DLQ filter as the URL keeps it (datetime-local values, `''` when unset). */
export interface DlqFilter {
  createdFrom: string;
  createdTo: string;
  errorContains: string;
}

/** The filter in URL parameters. */
export function dlqFilterOf(params: URLSearchParams): DlqFilter {
  return {
    createdFrom: params.get('createdFrom') ?? '',
    createdTo: params.get('createdTo') ?? '',
    errorContains: params.get('errorContains') ?? '',
  };
}

/** The request body's `filter` (undefined: no filter, the whole DLQ). */
export function filterBody(filter: DlqFilter): Record<string, string | number> | undefined {
  const out: Record<string, string | number> = {};
  if (filter.createdFrom !== '') out.createdFrom = new Date(filter.createdFrom).getTime();
  if (filter.createdTo !== '') out.createdTo = new Date(filter.createdTo).getTime();
  if (filter.errorContains !== '') out.errorContains = filter.errorContains;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The form; `onApply` puts the filter in the URL. */
export function DlqFilterForm(props: { initial: DlqFilter; onApply: (filter: DlqFilter) => void }) {
  const [filter, setFilter] = useState(props.initial);
  useEffect(() => setFilter(props.initial), [JSON.stringify(props.initial)]);
  const field = (name: keyof DlqFilter, label: string, type = 'text') => (
    <div class="field">
      <label for={`dlq-${name}`}>{label}</label>
      <input
        id={`dlq-${name}`}
        type={type}
        value={filter[name]}
        onInput={(e) => {
          const value = e.currentTarget.value;
          setFilter((f) => ({ ...f, [name]: value }));
        }}
      />
    </div>
  );
  return (
    <form
      class="search"
      aria-label="Filter for the all-matching actions"
      onSubmit={(e) => {
        e.preventDefault();
        props.onApply(filter);
      }}
    >
      {field('createdFrom', 'Created from', 'datetime-local')}
      {field('createdTo', 'Created to', 'datetime-local')}
      {field('errorContains', 'Error contains')}
      <div class="buttons">
        <button type="submit">Apply filter</button>
      </div>
    </form>
  );
}
