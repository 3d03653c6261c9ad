import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { CodeqError, VersionConflictError } from '../../src/errors.js';
import { EventPublisher, type AppendRequest } from '../../src/events/event-publisher.js';
import { deleteStream, provisionStream } from '../../src/events/stream.js';
import { taskSubject } from '../../src/events/subjects.js';
import type { TaskEvent } from '../../src/events/task-event.schema.js';
import { uniqueName } from '../support/servers.js';
import { rejection } from '../support/assertions.js';

let nc: NatsConnection;
const streams: string[] = [];
const publishers: EventPublisher[] = [];
const subs: Subscription[] = [];

beforeAll(async () => {
  nc = await connect({ servers: inject('natsUrl') });
});
afterEach(async () => {
  for (const p of publishers.splice(0)) p.close();
  for (const s of subs.splice(0)) s.unsubscribe();
  for (const s of streams.splice(0)) await deleteStream(nc, s);
});
afterAll(async () => {
  await nc.close();
});

/** A fresh stream with its own subject prefix (streams may not overlap subjects). */
async function freshStream(): Promise<string> {
  const name = uniqueName('PUB');
  const prefix = `t.${name.toLowerCase()}`;
  await provisionStream(nc, { name, subjectPrefix: prefix });
  streams.push(name);
  return prefix;
}

function publisher(options?: ConstructorParameters<typeof EventPublisher>[1]): EventPublisher {
  const p = new EventPublisher(nc, options);
  publishers.push(p);
  return p;
}

function enqueued(command: string, taskId: string): TaskEvent {
  return {
    v: 1,
    type: 'enqueued',
    taskId,
    command,
    at: Date.now(),
    actor: 'producer:test',
    data: { payload: { hello: 'world' }, priority: 5, maxAttempts: 3 },
  };
}

function claimed(command: string, taskId: string): TaskEvent {
  return {
    v: 1,
    type: 'claimed',
    taskId,
    command,
    at: Date.now(),
    actor: 'w1',
    data: { workerId: 'w1', leaseUntil: Date.now() + 30_000, attempts: 1 },
  };
}

function req(
  prefix: string,
  taskId: string,
  expectedVersion: number,
  event = enqueued('cmd', taskId),
): AppendRequest {
  return { subject: taskSubject(prefix, event.command, taskId), event, expectedVersion };
}

describe('EventPublisher', () => {
  it('appends a new task with expected 0, then the next event with its version', async () => {
    const prefix = await freshStream();
    const pub = publisher();
    const first = await pub.append(req(prefix, 't1', 0));
    expect(first).toEqual({ seq: 1, duplicate: false });
    const second = await pub.append(req(prefix, 't1', first.seq, claimed('cmd', 't1')));
    expect(second).toEqual({ seq: 2, duplicate: false });
    // Another task's first event: its own subject, expected 0 again.
    expect(await pub.append(req(prefix, 't2', 0))).toEqual({ seq: 3, duplicate: false });
  });

  it('refuses a stale version with VersionConflictError (also expected 0 on an existing task)', async () => {
    const prefix = await freshStream();
    const pub = publisher();
    await pub.append(req(prefix, 't1', 0));
    await pub.append(req(prefix, 't1', 1, claimed('cmd', 't1')));
    const stale = await rejection(pub.append(req(prefix, 't1', 1, claimed('cmd', 't1'))));
    expect(stale).toBeInstanceOf(VersionConflictError);
    expect(stale.code).toBe('VERSION_CONFLICT');
    expect((stale as VersionConflictError).expectedVersion).toBe(1);
    expect(stale.details).toMatchObject({ actualVersion: 2 });
    const again = await rejection(pub.append(req(prefix, 't1', 0)));
    expect(again).toBeInstanceOf(VersionConflictError);
  });

  it('returns the original sequence for a duplicate msgId within the window', async () => {
    const prefix = await freshStream();
    const pub = publisher();
    const a = await pub.append({ ...req(prefix, 't1', 0), msgId: 'idem-1' });
    // Same id, even with the same expected version that would now conflict: dedup wins.
    const b = await pub.append({ ...req(prefix, 't1', 0), msgId: 'idem-1' });
    expect(a).toEqual({ seq: 1, duplicate: false });
    expect(b).toEqual({ seq: 1, duplicate: true });
  });

  it('fails with UNAVAILABLE when no stream captures the subject', async () => {
    const pub = publisher();
    const err = await rejection(pub.append(req(`nostream.${uniqueName('x').toLowerCase()}`, 't1', 0)));
    expect(err.code).toBe('UNAVAILABLE');
    expect(pub.inFlight).toBe(0);
  });

  it('fails with TIMEOUT when nothing acks, and later appends still work', async () => {
    const prefix = `silent.${uniqueName('x').toLowerCase()}`;
    subs.push(nc.subscribe(`${prefix}.>`)); // interest, but never a reply: no 503 either
    await nc.flush();
    const pub = publisher({ timeoutMs: 200 });
    const started = performance.now();
    const err = await rejection(pub.append(req(prefix, 't1', 0)));
    expect(err.code).toBe('TIMEOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(pub.inFlight).toBe(0);
    const good = await freshStream();
    expect((await pub.append(req(good, 't1', 0))).seq).toBe(1);
  });

  it("a call's own timeoutMs bounds it, time queued for the window included", async () => {
    const prefix = `silent.${uniqueName('x').toLowerCase()}`;
    subs.push(nc.subscribe(`${prefix}.>`));
    await nc.flush();
    const pub = publisher({ window: 1, timeoutMs: 60_000 });
    const started = performance.now();
    const [sent, queued] = await pub.appendMany([req(prefix, 't1', 0), req(prefix, 't2', 0)], {
      timeoutMs: 150,
    });
    expect(performance.now() - started).toBeLessThan(2000); // not the publisher's 60 s
    expect(sent?.ok === false && sent.error.code).toBe('TIMEOUT');
    expect(sent?.ok === false && sent.error.details?.sent).toBe(true);
    // Never sent, so its outcome is known: it did not land.
    expect(queued?.ok === false && queued.error.details?.sent).toBe(false);
    expect(pub.pending).toBe(0);
  });

  it('appendMany keeps input order with mixed success and conflict', async () => {
    const prefix = await freshStream();
    const pub = publisher();
    await pub.append(req(prefix, 'b', 0)); // seq 1: b exists, so "b at 0" conflicts below
    const results = await pub.appendMany([
      req(prefix, 'a', 0),
      req(prefix, 'b', 0),
      req(prefix, 'c', 0),
      { ...req(prefix, 'd', 0), subject: taskSubject(prefix, 'cmd', 'not-d') }, // refused locally
      req(prefix, 'b', 1, claimed('cmd', 'b')),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    const [a, b, c, d, b2] = results;
    expect(a).toEqual({ ok: true, seq: 2, duplicate: false });
    expect(b?.ok === false && b.error).toBeInstanceOf(VersionConflictError);
    expect(c).toEqual({ ok: true, seq: 3, duplicate: false });
    expect(d?.ok === false && d.error.code).toBe('INVALID_INPUT');
    expect(b2).toEqual({ ok: true, seq: 4, duplicate: false });
    expect(await pub.appendMany([])).toEqual([]);
  });

  it('respects the window: 10 000 appends through a window of 64 all succeed', async () => {
    const prefix = await freshStream();
    const pub = publisher({ window: 64 });
    const items = Array.from({ length: 10_000 }, (_, i) => req(prefix, `t${i}`, 0));
    const half = pub.appendMany(items.slice(0, 5000));
    const singles = items.slice(5000).map((r) => pub.append(r));
    expect(pub.inFlight).toBe(64);
    expect(pub.pending).toBe(10_000);
    let maxInFlight = 0;
    const probe = setInterval(() => (maxInFlight = Math.max(maxInFlight, pub.inFlight)), 1);
    const results = [...(await half), ...(await Promise.all(singles)).map((a) => ({ ok: true, ...a }))];
    clearInterval(probe);
    expect(maxInFlight).toBeLessThanOrEqual(64);
    expect(results.every((r) => r.ok)).toBe(true);
    const seqs = results.map((r) => (r.ok ? r.seq : 0));
    expect(new Set(seqs).size).toBe(10_000);
    expect(Math.max(...seqs)).toBe(10_000);
    expect(pub.pending).toBe(0);
  });

  it('close() rejects everything in flight or queued with UNAVAILABLE, and later appends', async () => {
    const prefix = `silent.${uniqueName('x').toLowerCase()}`;
    subs.push(nc.subscribe(`${prefix}.>`));
    await nc.flush();
    const pub = new EventPublisher(nc, { window: 2, timeoutMs: 60_000 });
    const inflight = [pub.append(req(prefix, 't1', 0)), pub.append(req(prefix, 't2', 0))];
    const queued = pub.appendMany([req(prefix, 't3', 0)]);
    expect(pub.inFlight).toBe(2);
    expect(pub.pending).toBe(3);
    pub.close();
    for (const p of inflight) expect((await rejection(p)).code).toBe('UNAVAILABLE');
    const [q] = await queued;
    expect(q?.ok === false && q.error.code).toBe('UNAVAILABLE');
    expect((await rejection(pub.append(req(prefix, 't4', 0)))).code).toBe('UNAVAILABLE');
    expect(pub.pending).toBe(0);
  });

  it('a closed connection rejects in-flight appends with UNAVAILABLE', async () => {
    const own = await connect({ servers: inject('natsUrl') });
    const prefix = `silent.${uniqueName('x').toLowerCase()}`;
    subs.push(nc.subscribe(`${prefix}.>`));
    await nc.flush();
    const pub = new EventPublisher(own, { timeoutMs: 60_000 });
    const pending = pub.append(req(prefix, 't1', 0));
    await own.close();
    expect((await rejection(pending)).code).toBe('UNAVAILABLE');
    expect((await rejection(pub.append(req(prefix, 't2', 0)))).code).toBe('UNAVAILABLE');
  });

  it('refuses bad input locally', async () => {
    const prefix = await freshStream();
    const pub = publisher();
    expect((await rejection(pub.append(req(prefix, 't1', -1)))).code).toBe('INVALID_INPUT');
    expect((await rejection(pub.append(req(prefix, 't1', 1.5)))).code).toBe('INVALID_INPUT');
    expect((await rejection(pub.append({ ...req(prefix, 't1', 0), msgId: 'a\r\nb' }))).code).toBe(
      'INVALID_INPUT',
    );
    const wrongSubject = { ...req(prefix, 't1', 0), subject: taskSubject(prefix, 'other', 't1') };
    expect((await rejection(pub.append(wrongSubject))).code).toBe('INVALID_INPUT');
    expect(pub.inFlight).toBe(0);
  });

  it('runs one sweeper timer only while appends are in flight, and none after close', async () => {
    const prefix = await freshStream();
    const pub = new EventPublisher(nc, { timeoutMs: 100 });
    expect(pub.sweeping).toBe(false);
    const acks = Promise.all(Array.from({ length: 50 }, (_, i) => pub.append(req(prefix, `t${i}`, 0))));
    expect(pub.sweeping).toBe(true);
    await acks;
    await new Promise((r) => setTimeout(r, 60)); // a sweep that finds nothing in flight stops it
    expect(pub.sweeping).toBe(false);
    const late = pub.append(req(prefix, 'late', 0)).catch((err: unknown) => err);
    expect(pub.sweeping).toBe(true);
    pub.close();
    expect(pub.sweeping).toBe(false);
    expect(await late).toBeInstanceOf(CodeqError);
  });
});
