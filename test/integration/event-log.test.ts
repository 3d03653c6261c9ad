import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import { EventLog } from '../../src/events/event-log.js';
import { EventPublisher, type AppendRequest } from '../../src/events/event-publisher.js';
import { deleteStream, provisionStream } from '../../src/events/stream.js';
import { taskSubject } from '../../src/events/subjects.js';
import type { StoredTaskEvent, TaskEvent } from '../../src/events/task-event.schema.js';
import { uniqueName } from '../support/servers.js';

let nc: NatsConnection;
let pub: EventPublisher;
const streams: string[] = [];

beforeAll(async () => {
  nc = await connect({ servers: inject('natsUrl') });
  pub = new EventPublisher(nc);
});
afterEach(async () => {
  for (const s of streams.splice(0)) await deleteStream(nc, s);
});
afterAll(async () => {
  pub.close();
  await nc.close();
});

async function freshLog(): Promise<{ log: EventLog; prefix: string; name: string }> {
  const name = uniqueName('LOG');
  const prefix = `t.${name.toLowerCase()}`;
  await provisionStream(nc, { name, subjectPrefix: prefix });
  streams.push(name);
  return { log: new EventLog({ nc, stream: name, subjectPrefix: prefix }), prefix, name };
}

function event(type: 'enqueued' | 'claimed' | 'completed', command: string, taskId: string): TaskEvent {
  const base = { v: 1, taskId, command, at: Date.now(), actor: 'w1' };
  if (type === 'enqueued') {
    return { ...base, type, data: { payload: { n: taskId }, priority: 1, maxAttempts: 3 } };
  }
  if (type === 'claimed')
    return { ...base, type, data: { workerId: 'w1', leaseUntil: Date.now(), attempts: 1 } };
  return { ...base, type, data: { workerId: 'w1', result: { ok: true } } };
}

/** Appends enqueued → claimed → completed for one task and returns the three sequences. */
async function lifecycle(prefix: string, command: string, taskId: string): Promise<number[]> {
  const subject = taskSubject(prefix, command, taskId);
  const seqs: number[] = [];
  let version = 0;
  for (const type of ['enqueued', 'claimed', 'completed'] as const) {
    version = (await pub.append({ subject, event: event(type, command, taskId), expectedVersion: version }))
      .seq;
    seqs.push(version);
  }
  return seqs;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof CodeqError ? err.code : `not a CodeqError: ${String(err)}`;
  }
  return 'no error';
}

describe('provisionStream', () => {
  it('is idempotent and converges an existing stream to the wanted config', async () => {
    const name = uniqueName('PROV');
    const prefix = `t.${name.toLowerCase()}`;
    streams.push(name);
    const a = await provisionStream(nc, { name, subjectPrefix: prefix });
    const b = await provisionStream(nc, { name, subjectPrefix: prefix });
    expect(b.created).toEqual(a.created); // the same stream, not re-created
    expect(b.config).toMatchObject({
      subjects: [`${prefix}.>`],
      storage: 'file',
      num_replicas: 1,
      max_age: 7 * 24 * 3600 * 1e9,
      duplicate_window: 120e9,
      allow_rollup_hdrs: true,
      allow_direct: true,
      discard: 'old',
    });
    const c = await provisionStream(nc, { name, subjectPrefix: prefix, maxAgeMs: 3_600_000 });
    expect(c.config.max_age).toBe(3600e9);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(name)).config.max_age).toBe(3600e9);
  });

  it('concurrent provisioning of one stream all succeed', async () => {
    const name = uniqueName('RACE');
    streams.push(name);
    const opts = { name, subjectPrefix: `t.${name.toLowerCase()}` };
    const infos = await Promise.all([1, 2, 3].map(() => provisionStream(nc, opts)));
    expect(new Set(infos.map((i) => i.config.name))).toEqual(new Set([name]));
  });
});

describe('EventLog', () => {
  it('round-trips lastEvent, getBySeq, history and lastSeq', async () => {
    const { log, prefix } = await freshLog();
    expect(await log.lastSeq()).toBe(0);
    expect(await log.lastEvent('cmd', 'nope')).toBeUndefined();
    expect(await log.history('cmd', 'nope')).toEqual([]);
    const a = await lifecycle(prefix, 'cmd', 'a');
    const b = await lifecycle(prefix, 'other', 'b');
    expect(await log.lastSeq()).toBe(6);

    const last = await log.lastEvent('cmd', 'a');
    expect(last).toMatchObject({ type: 'completed', taskId: 'a', command: 'cmd', seq: a[2] });
    const history = await log.history('other', 'b');
    expect(history.map((e) => [e.type, e.seq])).toEqual([
      ['enqueued', b[0]],
      ['claimed', b[1]],
      ['completed', b[2]],
    ]);
    expect(history[0]).toMatchObject({ v: 1, actor: 'w1', data: { payload: { n: 'b' }, priority: 1 } });
    expect(await log.getBySeq(a[1]!)).toMatchObject({ type: 'claimed', taskId: 'a', seq: a[1] });
    expect(await log.getBySeq(999)).toBeUndefined();
    expect(await codeOf(log.getBySeq(0))).toBe('INVALID_INPUT');
    expect(await codeOf(log.lastEvent('bad.cmd', 'a'))).toBe('INVALID_INPUT');
  });

  it('a rollup append (still fenced by the expected version) replaces the task history', async () => {
    const { log, prefix } = await freshLog();
    const seqs = await lifecycle(prefix, 'cmd', 'a');
    const subject = taskSubject(prefix, 'cmd', 'a');
    const stale = await pub
      .append({ subject, event: event('completed', 'cmd', 'a'), expectedVersion: 1, rollup: true })
      .catch((e: unknown) => e);
    expect((stale as CodeqError).code).toBe('VERSION_CONFLICT');
    const ack = await pub.append({
      subject,
      event: event('completed', 'cmd', 'a'),
      expectedVersion: seqs[2]!,
      rollup: true,
    });
    expect((await log.history('cmd', 'a')).map((e) => e.seq)).toEqual([ack.seq]);
  });

  it('purgeTask removes one task and nothing else', async () => {
    const { log, prefix } = await freshLog();
    await lifecycle(prefix, 'cmd', 'a');
    await lifecycle(prefix, 'cmd', 'b');
    expect(await log.purgeTask('cmd', 'a')).toBe(3);
    expect(await log.lastEvent('cmd', 'a')).toBeUndefined();
    expect(await log.history('cmd', 'a')).toEqual([]);
    expect((await log.history('cmd', 'b')).length).toBe(3);
    const seen: number[] = [];
    await log.replay({ onBatch: async (events) => void seen.push(...events.map((e) => e.seq)) });
    expect(seen).toEqual([4, 5, 6]);
  });

  it('replays the stream in ordered batches up to its end as of the start', async () => {
    const { log, prefix } = await freshLog();
    const items: AppendRequest[] = Array.from({ length: 2500 }, (_, i) => ({
      subject: taskSubject(prefix, 'cmd', `t${i}`),
      event: event('enqueued', 'cmd', `t${i}`),
      expectedVersion: 0,
    }));
    expect((await pub.appendMany(items)).every((r) => r.ok)).toBe(true);

    const sizes: number[] = [];
    const seqs: number[] = [];
    const summary = await log.replay({
      batchSize: 1000,
      onBatch: async (events) => {
        if (sizes.length === 0) {
          // Appended during the replay: after its end, so not included.
          await pub.append({
            subject: taskSubject(prefix, 'cmd', 'late'),
            event: event('enqueued', 'cmd', 'late'),
            expectedVersion: 0,
          });
        }
        sizes.push(events.length);
        for (const e of events) seqs.push(e.seq);
      },
    });
    expect(sizes).toEqual([1000, 1000, 500]);
    expect(seqs).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect(summary).toEqual({ events: 2500, lastSeq: 2500 });

    const tail: StoredTaskEvent[] = [];
    const fromMiddle = await log.replay({
      fromSeq: 2001,
      onBatch: async (events) => void tail.push(...events),
    });
    expect(fromMiddle).toEqual({ events: 501, lastSeq: 2501 });
    expect(tail[0]).toMatchObject({ seq: 2001, taskId: 't2000' });
    expect(tail.at(-1)).toMatchObject({ seq: 2501, taskId: 'late' });

    expect(await log.replay({ fromSeq: 9999, onBatch: async () => {} })).toEqual({ events: 0, lastSeq: 0 });
  });

  it('replay stops on abort and rethrows the handler error untouched', async () => {
    const { log, prefix } = await freshLog();
    const items = Array.from({ length: 30 }, (_, i) => ({
      subject: taskSubject(prefix, 'cmd', `t${i}`),
      event: event('enqueued', 'cmd', `t${i}`),
      expectedVersion: 0,
    }));
    await pub.appendMany(items);
    const ac = new AbortController();
    let batches = 0;
    const aborted = log.replay({
      batchSize: 10,
      signal: ac.signal,
      onBatch: async () => {
        batches++;
        ac.abort();
      },
    });
    expect(await codeOf(aborted)).toBe('ABORTED');
    expect(batches).toBeLessThan(3);

    const boom = new Error('projection down');
    await expect(
      log.replay({
        batchSize: 10,
        onBatch: async () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });

  it('raises CORRUPT_EVENT naming the sequence for a corrupt message on a task subject', async () => {
    const { log, prefix } = await freshLog();
    await lifecycle(prefix, 'cmd', 'a');
    const js = jetstream(nc);
    const bad = await js.publish(taskSubject(prefix, 'cmd', 'a'), 'not json {');
    expect(bad.seq).toBe(4);
    for (const read of [
      () => log.history('cmd', 'a'),
      () => log.lastEvent('cmd', 'a'),
      () => log.getBySeq(4),
      () => log.replay({ onBatch: async () => {} }),
    ]) {
      const err = await read().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CodeqError);
      expect((err as CodeqError).code).toBe('CORRUPT_EVENT');
      expect((err as CodeqError).message).toMatch(/sequence 4\b/);
    }
    // Valid JSON of a valid event, but stored on another task's subject.
    await js.publish(taskSubject(prefix, 'cmd', 'b'), JSON.stringify(event('enqueued', 'cmd', 'c')));
    expect(await codeOf(log.lastEvent('cmd', 'b'))).toBe('CORRUPT_EVENT');
    // Schema violations too (unknown type).
    await js.publish(
      taskSubject(prefix, 'cmd', 'd'),
      JSON.stringify({ ...event('enqueued', 'cmd', 'd'), type: 'exploded' }),
    );
    expect(await codeOf(log.history('cmd', 'd'))).toBe('CORRUPT_EVENT');
  });

  it('reports a missing stream as UNAVAILABLE', async () => {
    const log = new EventLog({ nc, stream: uniqueName('MISSING'), subjectPrefix: 'nowhere.x' });
    expect(await codeOf(log.lastSeq())).toBe('UNAVAILABLE');
    expect(await codeOf(log.history('cmd', 'a'))).toBe('UNAVAILABLE');
  });
});
