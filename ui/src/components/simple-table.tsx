/** A plain table of rows with a caption and column headers (the list pages share it). */
import type { ComponentChildren } from 'preact';

/** One column: its header and the cell of a row. */
export interface Column<T> {
  header: string;
  cell: (row: T) => ComponentChildren;
}

/** Props of {@link SimpleTable}. */
export interface SimpleTableProps<T> {
  caption: string;
  rows: readonly T[];
  columns: ReadonlyArray<Column<T>>;
  rowKey: (row: T) => string;
  /** Shown instead of the table when there is no row. */
  empty: string;
}

/** The table (or the empty sentence). */
export function SimpleTable<T>({ caption, rows, columns, rowKey, empty }: SimpleTableProps<T>) {
  if (rows.length === 0) return <p>{empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col">
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.header}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
