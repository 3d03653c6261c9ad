/**
 * Per-task helpers of the SDK's hot path: the typed emitter (no copy per emit, yet listeners changed
 * during an emit only count from the next one), the completion batcher's waiter API, and the HTTP
 * transport's task / result decoding (times to epoch ms, engine-only fields dropped, the rest kept).
 */
import { describe, expect, it } from 'vitest';
import type { ResultJson, TaskJson } from '../../src/client/http-client.types.js';
import { Batcher } from '../../src/sdk/batcher.js';
import type { BatchWaiter } from '../../src/sdk/batcher.js';
import { resultFromJson, taskFromJson } from '../../src/sdk/http.transport.js';
import { TypedEmitter } from '../../src/sdk/typed-emitter.js';

class Emitter extends TypedEmitter<{ ping: [n: number] }> {
  fire(n: number): boolean {
    return this.emit('ping', n);
  }
}

describe('TypedEmitter', () => {
  it('calls the listeners of the emit in order; changes made during it apply from the next emit', () => {
    const e = new Emitter();
    const seen: string[] = [];
    const late = (n: number) => seen.push(`late${n}`);
    const first = (n: number) => {
      seen.push(`first${n}`);
      e.on('ping', late);
      e.off('ping', second);
    };
    const second = (n: number) => seen.push(`second${n}`);
    e.on('ping', first).on('ping', second);
    expect(e.fire(1)).toBe(true);
    expect(seen).toEqual(['first1', 'second1']);
    e.off('ping', first);
    e.fire(2);
    expect(seen).toEqual(['first1', 'second1', 'late2']);
  });

  it('adds a listener once, runs once() listeners once, and counts listeners', () => {
    const e = new Emitter();
    const seen: number[] = [];
    const l = (n: number) => seen.push(n);
    e.on('ping', l).on('ping', l);
    e.once('ping', (n) => seen.push(n * 100));
    expect(e.listenerCount('ping')).toBe(2);
    e.fire(1);
    e.fire(2);
    expect(seen).toEqual([1, 100, 2]);
    e.off('ping', l);
    expect(e.listenerCount('ping')).toBe(0);
    expect(e.fire(3)).toBe(false);
  });
});

describe('Batcher.push', () => {
  it('answers each waiter with its own item outcome, after the batch, and rejects all when it throws', async () => {
    let down = false;
    const b = new Batcher<number, number>({
      maxSize: 3,
      maxDelayMs: 60_000,
      send: async (items) => {
        if (down) throw new Error('down');
        return items.map((i) =>
          i > 0 ? { ok: true as const, value: i * 2 } : { ok: false as const, error: i },
        );
      },
    });
    const outcomes: unknown[] = [];
    const waiter = (tag: string): BatchWaiter<number> => ({
      resolve: (value) => outcomes.push([tag, 'ok', value]),
      reject: (error) => outcomes.push([tag, 'err', error instanceof Error ? error.message : error]),
    });
    b.push(1, waiter('a'));
    b.push(-1, waiter('b'));
    expect(b.pending).toBe(2);
    b.push(3, waiter('c')); // full: goes out now, answered after the send
    expect(outcomes).toEqual([]);
    await b.flush();
    expect(outcomes).toEqual([
      ['a', 'ok', 2],
      ['b', 'err', -1],
      ['c', 'ok', 6],
    ]);
    down = true;
    b.push(4, waiter('d'));
    await b.flush();
    expect(outcomes.at(-1)).toEqual(['d', 'err', 'down']);
  });
});

describe('HTTP transport decoding', () => {
  it('taskFromJson: times to epoch ms, state and version dropped, every other field kept', () => {
    const json = {
      id: 't1',
      command: 'C',
      payload: { a: 1 },
      priority: 3,
      status: 'IN_PROGRESS',
      state: 'inProgress',
      version: 9,
      workerId: 'w',
      leaseUntil: '2024-02-29T12:00:30.000Z',
      attempts: 2,
      maxAttempts: 5,
      runAt: '2024-02-29T11:59:00.000Z',
      webhook: 'https://example.com/hook',
      idempotencyKey: 'k',
      error: 'earlier failure',
      createdAt: '2024-02-29T11:00:00.000Z',
      updatedAt: '2024-02-29T12:00:00.500Z',
      futureField: ['kept'],
    } as unknown as TaskJson;
    const task = taskFromJson(json);
    expect(task).toStrictEqual({
      id: 't1',
      command: 'C',
      payload: { a: 1 },
      priority: 3,
      status: 'IN_PROGRESS',
      workerId: 'w',
      leaseUntil: Date.UTC(2024, 1, 29, 12, 0, 30),
      attempts: 2,
      maxAttempts: 5,
      runAt: Date.UTC(2024, 1, 29, 11, 59),
      webhook: 'https://example.com/hook',
      idempotencyKey: 'k',
      error: 'earlier failure',
      createdAt: Date.UTC(2024, 1, 29, 11),
      updatedAt: Date.UTC(2024, 1, 29, 12, 0, 0, 500),
      futureField: ['kept'],
    });
    const minimal = taskFromJson({ ...json, leaseUntil: undefined, runAt: undefined } as TaskJson);
    expect('leaseUntil' in minimal || 'runAt' in minimal).toBe(false);
    const hostile = JSON.parse(
      '{"id":"x","createdAt":"2024-01-01T00:00:00.000Z","__proto__":{"polluted":1}}',
    );
    expect((taskFromJson(hostile) as unknown as { polluted?: number }).polluted).toBeUndefined();
  });

  it('resultFromJson: completedAt to epoch ms, the rest as sent', () => {
    const json: ResultJson = {
      taskId: 't1',
      status: 'COMPLETED',
      result: { ok: 1 },
      completedAt: '2024-02-29T12:00:00.000Z',
    };
    expect(resultFromJson(json)).toStrictEqual({
      taskId: 't1',
      status: 'COMPLETED',
      result: { ok: 1 },
      completedAt: Date.UTC(2024, 1, 29, 12),
    });
  });
});
