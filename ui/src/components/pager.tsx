/** Previous/next of a cursor-paged list (the server pages; the page keeps the cursors it passed). */

/** Props of {@link Pager}. */
export interface PagerProps {
  /** What the list shows: `Showing 50 of 1,234`. */
  summary: string;
  hasPrevious: boolean;
  nextCursor: string | undefined;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
}

/** The paging bar under a list. */
export function Pager(props: PagerProps) {
  const { nextCursor } = props;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" onClick={props.onPrevious} disabled={!props.hasPrevious}>
        ← Previous
      </button>
      <span>{props.summary}</span>
      <button
        type="button"
        onClick={() => nextCursor !== undefined && props.onNext(nextCursor)}
        disabled={nextCursor === undefined}
      >
        Next →
      </button>
    </nav>
  );
}
