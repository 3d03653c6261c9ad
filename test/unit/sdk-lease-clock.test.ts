/**
 * The worker's shared lease timer (one timer for every lease): heartbeats go out on schedule (and
 * those due close together share a timer run), a successful heartbeat moves the local deadline, the
 * lease is declared lost at the deadline or on a refused heartbeat, and stop()/close() cancel
 * everything. Fake timers: the clock reads Date.now() and arms setTimeout.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import { JobAbortedError } from '../../src/sdk/errors.js';
import { Lease, LeaseClock } from '../../src/sdk/job-lease.js';
import type { Transport } from '../../src/sdk/transport.js';

/** A transport whose heartbeat answers as `answer` says; records each beat as [taskId, time]. */
function beats(answer: (taskId: string) => Promise<{ leaseUntil: number }> = ok) {
  const sent: Array<[string, number]> = [];
  const transport = {
    heartbeat: (taskId: string) => {
      sent.push([taskId, Date.now()]);
      return answer(taskId);
    },
  } as unknown as Transport;
  return { transport, sent };
}

async function ok(): Promise<{ leaseUntil: number }> {
  return { leaseUntil: Date.now() + 99_000 };
}

function setup(options: { leaseSeconds: number; intervalMs: number | undefined; transport: Transport }) {
  const lost: Array<[string, CodeqError]> = [];
  const errors: CodeqError[] = [];
  const clock = new LeaseClock<Lease>({
    ...options,
    onLost: (lease, error) => lost.push([lease.taskId, error]),
    onError: (_lease, error) => errors.push(error),
  });
  const lease = (taskId: string) => {
    const l = new Lease(clock, taskId, Date.now());
    clock.add(l);
    return l;
  };
  return { clock, lease, lost, errors };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('LeaseClock', () => {
  it('sends each heartbeat one period after the previous one', async () => {
    const { transport, sent } = beats();
    const { lease } = setup({ leaseSeconds: 30, intervalMs: 1000, transport });
    lease('a');
    await vi.advanceTimersByTimeAsync(999);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([['a', 1_001_000]]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(sent.map(([, at]) => at)).toEqual([1_001_000, 1_002_000, 1_003_000]);
  });

  it('sends heartbeats due within a tenth of the period together, never later than due', async () => {
    const { transport, sent } = beats();
    const { lease } = setup({ leaseSeconds: 30, intervalMs: 1000, transport });
    lease('a');
    await vi.advanceTimersByTimeAsync(50);
    lease('b'); // due at +1050: within the 100 ms slack of a's run at +1000
    await vi.advanceTimersByTimeAsync(300);
    lease('c'); // due at +1350: its own run
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual([
      ['a', 1_001_000],
      ['b', 1_001_000],
      ['c', 1_001_350],
    ]);
  });

  it('declares the lease lost at the local deadline when no heartbeat runs', async () => {
    const { transport } = beats();
    const { lease, lost, clock } = setup({ leaseSeconds: 2, intervalMs: undefined, transport });
    const l = lease('a');
    await vi.advanceTimersByTimeAsync(1999);
    expect(lost).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(lost.map(([id]) => id)).toEqual(['a']);
    expect(lost[0]![1]).toBeInstanceOf(JobAbortedError);
    expect((lost[0]![1] as JobAbortedError).reason).toBe('leaseLost');
    expect(l.lost).toBe(lost[0]![1]);
    expect(clock.size).toBe(0);
    await expect(l.extend()).rejects.toBe(lost[0]![1]);
  });

  it('moves the deadline with each successful heartbeat; failing ones report errors until it passes', async () => {
    let down = false;
    const { transport, sent } = beats(async () => {
      if (down) throw new CodeqError('UNAVAILABLE', 'connection refused');
      return ok();
    });
    const { lease, lost, errors } = setup({ leaseSeconds: 3, intervalMs: 1000, transport });
    const l = lease('a');
    await vi.advanceTimersByTimeAsync(10_000); // ten successful beats: far past the first lease
    expect(lost).toEqual([]);
    expect(l.localDeadline).toBe(1_010_000 + 3000);
    expect(l.serverLeaseUntil).toBe(1_010_000 + 99_000);
    down = true;
    await vi.advanceTimersByTimeAsync(2999); // beats at +11 s and +12 s fail
    expect(errors.map((e) => e.code)).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    expect(lost).toEqual([]);
    await vi.advanceTimersByTimeAsync(1); // last successful beat (+10 s) + 3 s
    expect(lost.map(([id]) => id)).toEqual(['a']);
    const beatsBefore = sent.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.length).toBe(beatsBefore);
  });

  it('loses the lease at once when a heartbeat is refused', async () => {
    const { transport } = beats(async () => {
      throw new CodeqError('NOT_OWNER', 'not-owner');
    });
    const { lease, lost } = setup({ leaseSeconds: 30, intervalMs: 1000, transport });
    const l = lease('a');
    await expect(l.extend()).rejects.toMatchObject({ reason: 'leaseLost' });
    expect(lost.map(([id]) => id)).toEqual(['a']);
    expect((lost[0]![1].cause as CodeqError).code).toBe('NOT_OWNER');
  });

  it('joins an extension already on its way, and schedules the next beat a period after it', async () => {
    const { transport, sent } = beats();
    const { lease } = setup({ leaseSeconds: 30, intervalMs: 1000, transport });
    const l = lease('a');
    await vi.advanceTimersByTimeAsync(400);
    await Promise.all([l.extend(), l.extend()]);
    expect(sent).toEqual([['a', 1_000_400]]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent.map(([, at]) => at)).toEqual([1_000_400, 1_001_400]);
  });

  it('stop() cancels the lease: no heartbeat, no loss, and no timer left once none is kept', async () => {
    const { transport, sent } = beats();
    const { lease, lost, clock } = setup({ leaseSeconds: 1, intervalMs: 300, transport });
    const a = lease('a');
    const b = lease('b');
    a.stop();
    await vi.advanceTimersByTimeAsync(310);
    expect(sent.map(([id]) => id)).toEqual(['b']);
    b.stop();
    expect(clock.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.length).toBe(1);
    expect(lost).toEqual([]);
    await expect(a.extend()).resolves.toBeUndefined();
  });

  it('close() stops every lease', async () => {
    const { transport, sent } = beats();
    const { lease, lost, clock } = setup({ leaseSeconds: 1, intervalMs: 300, transport });
    lease('a');
    lease('b');
    clock.close();
    expect(clock.size).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual([]);
    expect(lost).toEqual([]);
  });
});
