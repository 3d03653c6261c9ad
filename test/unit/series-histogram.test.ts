import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesHistogram } from '../../src/metrics/series-histogram.js';

const config = {
  name: 'test_run_seconds',
  help: 'A run, in seconds.',
  labelNames: ['command', 'outcome'] as const,
  buckets: [0.01, 0.5, 1, 60],
};

describe('SeriesHistogram', () => {
  it('given the same observations, exposes exactly what prom-client’s Histogram exposes', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ ...config, labelNames: [...config.labelNames], registers: [theirs] });
    const mine = new SeriesHistogram({ ...config, registers: [ours] });
    const observations: Array<[string, string, number]> = [
      ['a', 'completed', 0],
      ['a', 'completed', 0.01], // on a bound: counted in it
      ['a', 'completed', 0.0100001],
      ['b', 'nacked', 4],
      ['a', 'completed', 59.9],
      ['b', 'nacked', 3600], // above every bound: +Inf only
      ['a', 'failed', 0.5],
      ['a "quoted"\\n', 'completed', 1],
    ];
    for (const [command, outcome, value] of observations) {
      reference.observe({ command, outcome }, value);
      mine.series({ command, outcome }).observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses what prom-client refuses: a missing label, a value that is not a number, unordered buckets', () => {
    const h = new SeriesHistogram(config);
    expect(() => h.series({ command: 'a' } as never)).toThrow(TypeError);
    expect(() => h.series({ command: 'a', outcome: 'x' }).observe(Number.NaN)).toThrow(TypeError);
    expect(() => h.series({ command: 'a', outcome: 'x' }).observe(Number.POSITIVE_INFINITY)).toThrow(
      TypeError,
    );
    expect(() => new SeriesHistogram({ ...config, buckets: [1, 0.5] })).toThrow(TypeError);
  });
});
