/**
 * The benchmark's samples, medians and final table (plain text for the terminal, markdown for
 * docs/benchmarks.md).
 */

/** Samples per key (`figure|peer`), one per round. */
export type Samples = Map<string, number[]>;

/** A pass condition on a row. */
export interface Target {
  /** What is compared: the codeq/BullMQ (or codeq/reference) ratio, or codeq's own value. */
  on: 'ratio' | 'value';
  /** `>=` or `<=`. */
  op: '>=' | '<=';
  /** The bound. */
  bound: number;
  /** How the target reads in the table. */
  text: string;
}

/** One row of the table. */
export interface RowSpec {
  /** Figure name, with sizes. */
  label: string;
  /** Unit of both value columns. */
  unit: string;
  /** Sample key of codeq's value. */
  a: string;
  /** Sample key of the reference value (BullMQ, or codeq's own baseline), if any. */
  b?: string;
  /** Text for the reference column when `b` is absent, or a prefix when present (e.g. "empty queue:"). */
  bNote?: string;
  /** Pass condition, if the issue sets one. */
  target?: Target;
}

/** A row with its medians and verdict. */
export interface Row extends RowSpec {
  /** Median of codeq's samples. */
  aMedian?: number | undefined;
  /** Median of the reference samples. */
  bMedian?: number | undefined;
  /** aMedian / bMedian. */
  ratio?: number | undefined;
  /** Whether the target holds; undefined without a target or without data. */
  met?: boolean | undefined;
  /** Samples (per round) of codeq and the reference. */
  aSamples: number[];
  bSamples: number[];
}

/** Median of values (mean of the middle two for an even count). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Adds a sample. */
export function record(samples: Samples, key: string, value: number): void {
  const list = samples.get(key) ?? [];
  list.push(value);
  samples.set(key, list);
}

/** Medians, ratios and verdicts of the rows whose codeq key has samples. */
export function buildRows(specs: readonly RowSpec[], samples: Samples): Row[] {
  return specs
    .filter((s) => (samples.get(s.a)?.length ?? 0) > 0)
    .map((s) => {
      const aSamples = samples.get(s.a) ?? [];
      const bSamples = s.b === undefined ? [] : (samples.get(s.b) ?? []);
      const aMedian = median(aSamples);
      const bMedian = median(bSamples);
      const ratio =
        aMedian !== undefined && bMedian !== undefined && bMedian !== 0 ? aMedian / bMedian : undefined;
      let met: boolean | undefined;
      const t = s.target;
      const subject = t?.on === 'ratio' ? ratio : aMedian;
      if (t && subject !== undefined && Number.isFinite(subject))
        met = t.op === '>=' ? subject >= t.bound : subject <= t.bound;
      return { ...s, aMedian, bMedian, ratio, met, aSamples, bSamples };
    });
}

/** A number for the table: thousands separators, 2 significant decimals under 10. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function cells(r: Row): string[] {
  const b = r.b === undefined ? (r.bNote ?? 'n/a') : `${r.bNote ? `${r.bNote} ` : ''}${fmt(r.bMedian)}`;
  const verdict = r.met === undefined ? (r.target ? '?' : '') : r.met ? 'yes' : 'NO';
  return [
    r.label,
    `${fmt(r.aMedian)} ${r.unit}`,
    b,
    r.ratio === undefined ? 'n/a' : `${r.ratio.toFixed(2)}x`,
    r.target?.text ?? '',
    verdict,
  ];
}

const HEADER = ['figure', 'codeq median', 'BullMQ median (or reference)', 'ratio', 'target', 'met?'];

/** Markdown table of the rows. */
export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i === 0 || i >= 4 ? '---' : '---:')).join('|')}|`,
  ];
  for (const r of rows) lines.push(`| ${cells(r).join(' | ')} |`);
  return lines.join('\n');
}

/** Fixed-width text table of the rows. */
export function textTable(rows: readonly Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [
    line(HEADER),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice().map((r) => line(cells(r))),
  ].join('\n');
}
