/**
 * A Prometheus histogram for hot paths. prom-client's `Histogram` converts, validates and hashes
 * the labels on every observation, even through a `labels()` child: a busy engine pays that once
 * per delivery (figures: docs/benchmarks.md, "Run-duration histogram"). Here a labelled series is
 * resolved once and an observation is a bucket search and three additions. It registers in a
 * prom-client registry like any metric, and its exposition and JSON are exactly those of
 * prom-client's histogram for the same observations (tested).
 */
import type { Metric, Registry } from 'prom-client';

/** Settings of a {@link SeriesHistogram}. */
export interface SeriesHistogramConfig<L extends string> {
  /** Metric name (without `_bucket` / `_sum` / `_count`). */
  name: string;
  /** Help text. */
  help: string;
  /** Label names every series sets. */
  labelNames: readonly L[];
  /** Upper bounds of the buckets, ascending (`+Inf` is implicit). */
  buckets: readonly number[];
  /** Registries to register in. Default none. */
  registers?: Registry[];
}

/** One labelled series: what a hot path keeps and observes. */
export interface HistogramSeries {
  /** Adds one observation (a finite number, in the metric's unit). */
  observe(value: number): void;
}

class Series implements HistogramSeries {
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count += 1;
  }
}

/** One exported sample, in prom-client's shape. */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  /** prom-client's buckets carry `null` (no exemplar), its sum and count `undefined`. */
  exemplar: null | undefined;
}

/** A histogram whose series are resolved once (see the module comment). */
export class SeriesHistogram<L extends string> {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Prometheus type, as prom-client reads it. */
  readonly type = 'histogram';
  /** How prom-client aggregates it across workers (cluster mode). */
  readonly aggregator = 'sum';
  readonly #labelNames: readonly L[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(config: SeriesHistogramConfig<L>) {
    const bounds = [...config.buckets];
    if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
      throw new TypeError(`${config.name}: buckets must be finite and ascending`);
    }
    this.name = config.name;
    this.help = config.help;
    this.#labelNames = [...config.labelNames];
    this.#bounds = bounds;
    for (const registry of config.registers ?? []) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of these label values (created on first use; keep it for the hot path). */
  series(labels: Readonly<Record<L, string>>): HistogramSeries {
    const values = this.#labelNames.map((name) => {
      const value = labels[name];
      if (typeof value !== 'string') throw new TypeError(`${this.name}: label ${name} must be a string`);
      return value;
    });
    const key = values.join('\u0000');
    let series = this.#series.get(key);
    if (!series) {
      const own: Record<string, string> = {};
      this.#labelNames.forEach((name, i) => (own[name] = values[i]!));
      series = new Series(own, this.#bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  /** Drops every series. */
  reset(): void {
    this.#series.clear();
  }

  /** The samples as prom-client's registry formats them (`le` first, then the series' labels). */
  async getForPromString(): Promise<{
    name: string;
    help: string;
    type: string;
    values: Sample[];
    aggregator: string;
  }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({
          labels: { le },
          sharedLabels: { ...s.labels },
          value: cumulative,
          metricName: bucket,
          exemplar: null,
        });
      });
      values.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: { ...s.labels },
          value: s.count,
          metricName: bucket,
          exemplar: null,
        },
        {
          labels: {},
          sharedLabels: { ...s.labels },
          value: s.sum,
          metricName: `${this.name}_sum`,
          exemplar: undefined,
        },
        {
          labels: {},
          sharedLabels: { ...s.labels },
          value: s.count,
          metricName: `${this.name}_count`,
          exemplar: undefined,
        },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The samples as prom-client's `getMetricsAsJSON` gives them (labels merged). */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    values: Array<{
      labels: Record<string, string | number>;
      value: number;
      metricName: string;
      exemplar: null | undefined;
    }>;
    aggregator: string;
  }> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ labels, sharedLabels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }
}
