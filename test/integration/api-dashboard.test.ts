/**
 * The dashboard's reads over real HTTP (real NATS and Redis): the overview's counts and per-minute
 * series derived from the events, the task search with each filter (indexed ones exact, scanned ones
 * saying so) and its cursor, the workers seen, and bad parameters answered 400 naming the parameter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { startTestApi, type TestApi } from '../support/api-server.js';
import { callApi } from '../support/http.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [
  { token: 'db-admin', role: 'admin', subject: 'db-admin' },
  { token: 'db-viewer', role: 'viewer', subject: 'db-viewer' },
  { token: 'db-limited', role: 'admin', subject: 'db-limited', eventTypes: ['NOPE'] },
];

describe('dashboard reads', () => {
  let api: TestApi;
  let engine: Engine;
  const command = uniqueName('DASH');
  const other = uniqueName('DASH_OTHER');
  const ids: string[] = [];
  const get = (path: string, token = 'db-viewer') => callApi(api.base, path, token);

  beforeAll(async () => {
    api = await startTestApi(TOKENS);
    engine = api.engine;
    // 6 tasks of `command` (ids[0] oldest), 1 of `other`; then w1 completes one, fails one, holds one.
    for (let i = 0; i < 6; i++) {
      const t = await engine.enqueue({
        command,
        payload: { customer: { id: `c${i % 2}` }, n: i },
        actor: 'test',
        ...(i === 2 ? { idempotencyKey: `${command}-k2` } : {}),
        ...(i >= 4 ? { groupKey: 'g1' } : {}),
      });
      ids.push(t.id);
    }
    await engine.enqueue({ command: other, payload: {}, actor: 'test' });
    const claimed = await engine.claim({ workerId: 'w1', commands: [command], count: 3 });
    expect(claimed).toHaveLength(3);
    await engine.complete({ taskId: claimed[0]!.id, workerId: 'w1', result: { ok: true } });
    await engine.fail({ taskId: claimed[1]!.id, workerId: 'w1', error: 'boom' });
  });
  afterAll(() => api?.close());

  it('GET /admin/overview: counts, rates and the last hour per minute, from the events', async () => {
    const res = await get('/admin/overview');
    expect(res.status).toBe(200);
    const q = res.body.queues.find((x: { command: string }) => x.command === command);
    expect(q).toMatchObject({ ready: 3, delayed: 0, inProgress: 1, dlq: 0, paused: false, failureRate: 0.5 });
    expect(q.series.bucketMs).toBe(60_000);
    for (const name of ['enqueued', 'completed', 'failed']) expect(q.series[name]).toHaveLength(60);
    const total = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    expect([total(q.series.enqueued), total(q.series.completed), total(q.series.failed)]).toEqual([6, 1, 1]);
    expect(q.series.start).toBe((Math.floor(res.body.now / 60_000) - 59) * 60_000);
    expect(q.enqueuedPerSec).toBeGreaterThan(0);
    expect(q.oldestReadyAgeMs).toBeGreaterThanOrEqual(0);
    expect(res.body.workers).toEqual({ active: 1 });
    // A limited admin sees only its commands.
    expect((await get('/admin/overview', 'db-limited')).body.queues).toEqual([]);
  });

  it('GET /admin/workers: who worked lately, what it holds', async () => {
    const res = await get('/admin/workers');
    expect(res.body.workers).toEqual([
      { workerId: 'w1', tasksHeld: 1, lastSeenAt: expect.any(Number), commands: [command] },
    ]);
  });

  it('GET /admin/tasks/search: indexed filters exact, newest first, paged by cursor', async () => {
    const all = await get(`/admin/tasks/search?command=${command}&limit=4`);
    expect(all.body).toMatchObject({ total: 6, totalExact: true });
    expect(all.body.items.map((t: { id: string }) => t.id)).toEqual(ids.slice(2).reverse());
    expect(all.body.items[0]).toMatchObject({ state: 'pending', payload: { customer: { id: 'c1' }, n: 5 } });
    const next = await get(`/admin/tasks/search?command=${command}&limit=4&cursor=${all.body.nextCursor}`);
    expect(next.body.items.map((t: { id: string }) => t.id)).toEqual(ids.slice(0, 2).reverse());
    expect(next.body.nextCursor).toBeUndefined();
    // A cursor holds positions in the indexes of its own search: with other filters it is refused.
    const mixed = await get(
      `/admin/tasks/search?command=${command}&state=ready&cursor=${all.body.nextCursor}`,
    );
    expect(mixed.status).toBe(400);
    expect(mixed.body.error).toContain('cursor');
    // Every command the caller may see, merged newest first.
    const both = await get('/admin/tasks/search?limit=200');
    expect(both.body.total).toBeGreaterThanOrEqual(7);
    expect(both.body.items[0].command).toBe(other);
    expect((await get('/admin/tasks/search', 'db-limited')).body).toMatchObject({ items: [], total: 0 });

    const state = async (s: string) => (await get(`/admin/tasks/search?command=${command}&state=${s}`)).body;
    expect(await state('ready')).toMatchObject({ total: 2, totalExact: true }); // the grouped ones wait in their group's set
    expect((await state('inProgress')).items).toHaveLength(1);
    expect((await state('done')).items.map((t: { state: string }) => t.state)).toEqual(['completed']);
    expect(await state('failed')).toMatchObject({ total: 1, totalExact: true });
    expect((await state('dlq')).items).toEqual([]);
  });

  it('search by id, idempotency key, group key, creation time and payload field', async () => {
    const one = async (q: string) => (await get(`/admin/tasks/search?${q}`)).body;
    expect((await one(`id=${ids[3]}`)).items.map((t: { id: string }) => t.id)).toEqual([ids[3]]);
    expect((await one(`id=${ids[3]}&command=${other}`)).items).toEqual([]);
    expect((await one(`idempotencyKey=${command}-k2`)).items[0].id).toBe(ids[2]);
    const grouped = await one(`command=${command}&groupKey=g1`);
    expect(grouped).toMatchObject({ total: 2, totalExact: true });
    const byPayload = await one(`command=${command}&payloadPath=customer.id&payloadValue=c0`);
    expect(byPayload.items.map((t: { id: string }) => t.id)).toEqual([ids[4], ids[2], ids[0]]);
    const created = (await engine.getTask(ids[3] as string)).createdAt;
    const range = await one(`command=${command}&createdTo=${new Date(created).toISOString()}`);
    expect(range.items.map((t: { id: string }) => t.id)).toContain(ids[3]);
    expect(range.items.map((t: { id: string }) => t.id)).not.toContain(ids[5]);
  });

  it('bad parameters: 400 naming the parameter', async () => {
    for (const [q, word] of [
      ['state=nope', 'state'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['createdFrom=yesterday', 'createdFrom'],
      ['cursor=%21%21', 'cursor'],
      ['payloadPath=a', 'payloadPath'],
      ['command=bad.name', 'command'],
      ['colour=red', 'colour'],
    ]) {
      const res = await get(`/admin/tasks/search?${q}`);
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expect(res.body.error).toContain(word);
    }
  });
});
