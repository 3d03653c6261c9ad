/** A small hand-drawn SVG line chart of per-minute counts (no chart library). */

/** Props of {@link Sparkline}. */
export interface SparklineProps {
  values: readonly number[];
  /** What it counts, for the accessible name (`enqueued per minute`). */
  label: string;
  /** CSS class setting the stroke colour. */
  tone: 'enqueued' | 'completed' | 'failed';
  width?: number;
  height?: number;
}

/** The points of `values` scaled into a `width` × `height` box (y grows downward). */
export function sparkPoints(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`)
    .join(' ');
}

/** A sparkline with its total and peak in its title. */
export function Sparkline({ values, label, tone, width = 120, height = 28 }: SparklineProps) {
  const total = values.reduce((a, b) => a + b, 0);
  const peak = Math.max(0, ...values);
  const name = `${label}: ${total} in the last hour, peak ${peak} a minute`;
  return (
    <svg
      class={`spark spark-${tone}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={name}
    >
      <title>{name}</title>
      <line class="spark-base" x1="0" y1={height - 1} x2={width} y2={height - 1} />
      <polyline points={sparkPoints(values, width, height)} fill="none" />
    </svg>
  );
}
