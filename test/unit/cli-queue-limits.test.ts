import { describe, expect, it } from 'vitest';
import { formatInspect } from '../../src/cli/queue.command.js';
import { formatAnswer } from '../../src/cli/queue-controls.command.js';
import {
  formatInterval,
  formatLimits,
  parseConcurrencyFlag,
  parseLimitFlags,
  parseRateFlag,
} from '../../src/cli/queue-limits-args.js';
import { parseCreateArgs } from '../../src/cli/task.command.js';
import { usageMessage } from '../support/assertions.js';

describe('queue limit flags', () => {
  it('parses N/INTERVAL rates in ms, s, m, h and bare seconds, and none', () => {
    expect(parseRateFlag('100/1s', '--rate')).toEqual({ limit: 100, intervalMs: 1000 });
    expect(parseRateFlag('5/500ms', '--rate')).toEqual({ limit: 5, intervalMs: 500 });
    expect(parseRateFlag('1000/1m', '--rate')).toEqual({ limit: 1000, intervalMs: 60_000 });
    expect(parseRateFlag('2/1h', '--rate')).toEqual({ limit: 2, intervalMs: 3_600_000 });
    expect(parseRateFlag('3/10', '--rate')).toEqual({ limit: 3, intervalMs: 10_000 });
    expect(parseRateFlag(' 7 / 2s ', '--rate')).toEqual({ limit: 7, intervalMs: 2000 });
    expect(parseRateFlag('none', '--rate')).toBeNull();
    expect(parseRateFlag('NONE', '--group-rate')).toBeNull();
  });

  it.each([
    ['100', "--rate: '100' is not N/INTERVAL (e.g. 100/1s, 5/500ms, 1000/1m) or none"],
    ['100/', "--rate: '100/' is not N/INTERVAL (e.g. 100/1s, 5/500ms, 1000/1m) or none"],
    ['/1s', "--rate: '/1s' is not N/INTERVAL (e.g. 100/1s, 5/500ms, 1000/1m) or none"],
    ['1/2/3', "--rate: '1/2/3' is not N/INTERVAL (e.g. 100/1s, 5/500ms, 1000/1m) or none"],
    ['0/1s', '--rate: must be >= 1'],
    ['1.5/1s', "--rate: '1.5' is not a whole number"],
    ['1000001/1s', '--rate: must be <= 1000000'],
    ['5/1x', "--rate: invalid duration '1x' (use e.g. 500ms, 1s, 2m, 1h)"],
    ['5/5ms', '--rate: the interval must be 10ms..24h'],
    ['5/25h', '--rate: the interval must be 10ms..24h'],
  ])('refuses rate %j naming the flag', (text, message) => {
    expect(usageMessage(() => parseRateFlag(text, '--rate'))).toBe(message);
  });

  it('parses concurrency N or none, and refuses out of range', () => {
    expect(parseConcurrencyFlag('3', '--concurrency')).toBe(3);
    expect(parseConcurrencyFlag('none', '--concurrency')).toBeNull();
    expect(usageMessage(() => parseConcurrencyFlag('0', '--group-concurrency'))).toBe(
      '--group-concurrency: must be >= 1',
    );
    expect(usageMessage(() => parseConcurrencyFlag('lots', '--concurrency'))).toBe(
      "--concurrency: 'lots' is not a whole number",
    );
    expect(usageMessage(() => parseConcurrencyFlag('1000001', '--concurrency'))).toBe(
      '--concurrency: must be <= 1000000',
    );
  });

  it('builds a merge patch from the flags given; none given is a usage error', () => {
    expect(parseLimitFlags({ concurrency: '4', 'group-concurrency': 'none', 'group-rate': '10/1s' })).toEqual(
      { concurrency: 4, groupConcurrency: null, groupRate: { limit: 10, intervalMs: 1000 } },
    );
    expect(parseLimitFlags({ rate: 'none' })).toEqual({ rate: null });
    expect(usageMessage(() => parseLimitFlags({}))).toBe(
      'give at least one of --concurrency, --group-concurrency, --rate, --group-rate',
    );
  });

  it('writes limits back in the flags syntax', () => {
    expect(formatInterval(500)).toBe('500ms');
    expect(formatInterval(1500)).toBe('1500ms');
    expect(formatInterval(2000)).toBe('2s');
    expect(formatInterval(120_000)).toBe('2m');
    expect(formatInterval(86_400_000)).toBe('24h');
    expect(formatLimits({})).toBe('none');
    expect(
      formatLimits({
        concurrency: 3,
        groupConcurrency: 2,
        rate: { limit: 100, intervalMs: 1000 },
        groupRate: { limit: 5, intervalMs: 500 },
      }),
    ).toBe('concurrency 3, group-concurrency 2, rate 100/1s, group-rate 5/500ms');
  });
});

describe('queue output', () => {
  const detail = {
    command: 'Q',
    ready: 3,
    delayed: 0,
    inProgress: 1,
    dlq: 0,
    paused: false,
    limits: {},
    oldestReadyAgeMs: 12_300,
    groupedReady: 2,
    groups: 1,
    topGroups: [{ groupKey: 'tenant-a', ready: 2, leased: 1 }],
  };

  it("inspect prints codeQ's line alone for a queue without limits, the limits when set, all with --detail", () => {
    expect(formatInspect(detail, false)).toBe('READY: 3 | DELAYED: 0 | IN_PROGRESS: 1 | DLQ: 0');
    expect(formatInspect({ ...detail, paused: true, limits: { concurrency: 2 } }, false)).toBe(
      'READY: 3 | DELAYED: 0 | IN_PROGRESS: 1 | DLQ: 0 | PAUSED\nlimits: concurrency 2',
    );
    const full = formatInspect(detail, true).split('\n');
    expect(full[0]).toBe('READY: 3 | DELAYED: 0 | IN_PROGRESS: 1 | DLQ: 0');
    expect(full.slice(1, 5)).toEqual([
      'paused:       no',
      'limits:       none',
      'oldest ready: 12.3s',
      'group keys:   1 (grouped ready 2)',
    ]);
    expect(full.slice(5)).toEqual(['GROUP     READY  LEASED', 'tenant-a  2      1']);
  });

  it('says what a control did, or that nothing changed', () => {
    const answer = { command: 'Q', paused: true, limits: {}, changed: true };
    expect(formatAnswer('pause', answer)).toBe('paused Q');
    expect(formatAnswer('pause', { ...answer, changed: false })).toBe('Q was already paused');
    expect(formatAnswer('resume', { ...answer, paused: false })).toBe('resumed Q');
    expect(formatAnswer('resume', { ...answer, paused: false, changed: false })).toBe('Q was not paused');
    expect(formatAnswer('limits', { ...answer, limits: { concurrency: 1 } })).toBe(
      'limits of Q: concurrency 1',
    );
  });
});

describe('task create --group-key', () => {
  it('sends the group key, and refuses a malformed one', () => {
    expect(parseCreateArgs(['--command', 'X', '--group-key', 'tenant:42']).body).toEqual({
      command: 'X',
      payload: {},
      groupKey: 'tenant:42',
    });
    expect(usageMessage(() => parseCreateArgs(['--command', 'X', '--group-key', 'a b']))).toBe(
      "--group-key: invalid 'groupKey' (1..128 characters of letters, digits and _ . : @ -)",
    );
  });
});
