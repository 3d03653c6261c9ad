import { describe, expect, it } from 'vitest';
import type { TaskSnapshot } from '../../src/actors/task.types.js';
import { LeaseCache } from '../../src/engine/lease-cache.js';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';

const leased = (version: number, leaseUntil = 10_000): TaskSnapshot => ({
  status: 'inProgress',
  attempts: 1,
  maxAttempts: 3,
  workerId: 'w',
  leaseUntil,
  runAt: undefined,
  version,
});

const base = { taskId: 't1', command: 'c', actor: 'w', at: 1000, v: 1 } as const;

describe('LeaseCache', () => {
  it('given a remembered lease, answers it only for its own command', () => {
    const cache = new LeaseCache();
    cache.remember('t1', 'c', leased(2));
    expect(cache.get('t1')?.snapshot.version).toBe(2);
    expect(cache.get('t1', 'c')?.command).toBe('c');
    expect(cache.get('t1', 'other')).toBeUndefined();
  });

  it('keeps only leases (a snapshot in any other state is dropped)', () => {
    const cache = new LeaseCache();
    cache.remember('t1', 'c', leased(2));
    cache.remember('t1', 'c', { ...leased(3), status: 'pending' });
    expect(cache.get('t1')).toBeUndefined();
  });

  it('when a heartbeat was written, then moves the version and the lease deadline', () => {
    const cache = new LeaseCache();
    cache.remember('t1', 'c', leased(2));
    const heartbeat = { ...base, type: 'heartbeat', seq: 7, data: { workerId: 'w', leaseUntil: 50_000 } };
    cache.afterWrite(leased(2), heartbeat as StoredTaskEvent);
    expect(cache.get('t1')?.snapshot).toMatchObject({ version: 7, leaseUntil: 50_000, status: 'inProgress' });
  });

  it('when a result was written, then forgets the task', () => {
    const cache = new LeaseCache();
    cache.remember('t1', 'c', leased(2));
    const completed = { ...base, type: 'completed', seq: 8, data: { workerId: 'w', result: null } };
    cache.afterWrite(leased(2), completed as StoredTaskEvent);
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops the least recently written lease beyond its bound', () => {
    const cache = new LeaseCache(2);
    cache.remember('a', 'c', leased(1));
    cache.remember('b', 'c', leased(2));
    cache.remember('a', 'c', leased(3)); // rewritten: now the newest
    cache.remember('c', 'c', leased(4));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.snapshot.version).toBe(3);
    expect(cache.get('c')?.snapshot.version).toBe(4);
  });
});
