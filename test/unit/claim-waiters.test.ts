import { afterEach, describe, expect, it } from 'vitest';
import { ClaimWaiters, type HandedOff, type WaitOutcome } from '../../src/engine/claim-waiters.js';
import type { StoredTask } from '../../src/projections/projection.store.js';

const task = (id: string, command = 'c'): StoredTask => ({ id, command, hash: {} });
const FAR = () => Date.now() + 60_000;

describe('ClaimWaiters hand-off', () => {
  let waiters: ClaimWaiters;
  afterEach(() => waiters?.close());

  it('given no waiter for the command, takes nothing', () => {
    waiters = new ClaimWaiters();
    void waiters.wait(['other'], FAR());
    expect(waiters.handOff([task('a')])).toBeUndefined();
    expect(waiters.isWaiting('c')).toBe(false);
  });

  it('fills the longest-waiting claimer up to its capacity, then the next, in enqueue order', async () => {
    waiters = new ClaimWaiters();
    const first = waiters.wait(['c'], FAR(), undefined, 2);
    const second = waiters.wait(['c', 'd'], FAR(), undefined, 5);
    const plan = waiters.handOff([task('a'), task('b'), task('x', 'e'), task('c'), task('d', 'd')]);
    expect([...(plan?.taken ?? [])]).toEqual(['a', 'b', 'c', 'd']);
    plan?.deliver();
    expect(((await first) as HandedOff).handed.map((t) => t.id)).toEqual(['a', 'b']);
    expect(((await second) as HandedOff).handed.map((t) => t.id)).toEqual(['c', 'd']);
    expect(waiters.isWaiting('c')).toBe(false);
    expect(waiters.isWaiting('d')).toBe(false);
  });

  it('a claimer given tasks leaves the waiting sets before delivery: a wake-up goes to the next one', async () => {
    waiters = new ClaimWaiters();
    const given = waiters.wait(['c'], FAR(), undefined, 10);
    const other = waiters.wait(['c'], FAR());
    const plan = waiters.handOff([task('a')]);
    waiters.wake('c');
    expect(await other).toBe<WaitOutcome>('woken');
    plan?.deliver();
    expect(((await given) as HandedOff).handed.map((t) => t.id)).toEqual(['a']);
  });

  it('an aborted or timed-out claimer is no longer offered anything', async () => {
    waiters = new ClaimWaiters();
    const abort = new AbortController();
    const aborted = waiters.wait(['c'], FAR(), abort.signal);
    abort.abort();
    expect(await aborted).toBe('aborted');
    expect(await waiters.wait(['c'], Date.now() - 1)).toBe('timeout');
    expect(waiters.handOff([task('a')])).toBeUndefined();
  });
});
