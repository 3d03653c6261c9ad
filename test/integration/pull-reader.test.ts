/**
 * The stream reader's failure paths against a real nats-server: the consumer deleted under it, the
 * connection closed under it, a server that goes silent, events deleted while it reads; and that
 * no consumer outlives a read, however it ended.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EventPublisher } from '../../src/events/event-publisher.js';
import { pullRead } from '../../src/events/pull-reader.js';
import { deleteStream, provisionStream } from '../../src/events/stream.js';
import { taskSubject } from '../../src/events/subjects.js';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';
import { LocalServer } from '../../src/local/local-servers.js';
import { uniqueName } from '../support/servers.js';
import { rejection } from '../support/assertions.js';

let nc: NatsConnection;
let jsm: JetStreamManager;
let pub: EventPublisher;

beforeAll(async () => {
  nc = await connect({ servers: inject('natsUrl') });
  jsm = await jetstreamManager(nc);
  pub = new EventPublisher(nc);
});
afterAll(async () => {
  pub.close();
  await nc.close();
});

/** A stream holding `count` enqueued events (seq 1..count) on its own connection's publisher. */
async function filledStream(
  count: number,
  on: { nc: NatsConnection; pub: EventPublisher } = { nc, pub },
): Promise<{ stream: string; prefix: string }> {
  const stream = uniqueName('PULL');
  const prefix = `t.${stream.toLowerCase()}`;
  await provisionStream(on.nc, { name: stream, subjectPrefix: prefix });
  const results = await on.pub.appendMany(
    Array.from({ length: count }, (_, i) => ({
      subject: taskSubject(prefix, 'cmd', `t${i}`),
      event: {
        v: 1,
        type: 'enqueued' as const,
        taskId: `t${i}`,
        command: 'cmd',
        at: Date.now(),
        actor: 'test',
        data: { payload: { i }, priority: 1, maxAttempts: 3 },
      },
      expectedVersion: 0,
    })),
  );
  expect(results.every((r) => r.ok)).toBe(true);
  return { stream, prefix };
}

async function consumerNames(m: JetStreamManager, stream: string): Promise<string[]> {
  const names: string[] = [];
  for await (const ci of m.consumers.list(stream)) names.push(ci.name);
  return names;
}

/** A private nats-server the test may stop, freeze or restart, with a connection that reconnects. */
async function withPrivateNats(
  run: (own: { server: LocalServer; nc: NatsConnection; pub: EventPublisher }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'codeq-pull-'));
  const server = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
  const own = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const ownPub = new EventPublisher(own);
  try {
    await run({ server, nc: own, pub: ownPub });
  } finally {
    process.kill(server.pid!, 'SIGCONT'); // a frozen server must hear the stop
    ownPub.close();
    await own.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('pullRead', () => {
  it('reads in exact batches and leaves no consumer behind, also when the handler fails', async () => {
    const { stream, prefix } = await filledStream(250);
    const sizes: number[] = [];
    const base = { nc, jsm, stream, prefix, fromSeq: 1, batchSize: 100, fetchTimeoutMs: 2000 };
    expect(await pullRead({ ...base, onBatch: async (b) => void sizes.push(b.length) })).toEqual({
      events: 250,
      lastSeq: 250,
    });
    expect(sizes).toEqual([100, 100, 50]);
    const boom = new Error('boom');
    await expect(
      pullRead({
        ...base,
        onBatch: async () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    // The consumer's delete is not awaited by the read: give it a moment.
    await expect.poll(() => consumerNames(jsm, stream)).toEqual([]);
    await deleteStream(nc, stream);
  });

  it('re-creates its consumer after the last event read when it is deleted under it', async () => {
    const { stream, prefix } = await filledStream(300);
    const seqs: number[] = [];
    let deleted = 0;
    const summary = await pullRead({
      nc,
      jsm,
      stream,
      prefix,
      fromSeq: 1,
      batchSize: 100,
      fetchTimeoutMs: 500,
      onBatch: async (batch) => {
        seqs.push(...batch.map((e) => e.seq));
        if (deleted > 0) return;
        for (const name of await consumerNames(jsm, stream)) {
          await jsm.consumers.delete(stream, name);
          deleted++;
        }
      },
    });
    expect(deleted).toBe(1);
    expect(summary).toEqual({ events: 300, lastSeq: 300 });
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    await expect.poll(() => consumerNames(jsm, stream)).toEqual([]);
    await deleteStream(nc, stream);
  });

  it('ends when the events it was to read are deleted while it reads', async () => {
    const { stream, prefix } = await filledStream(300);
    const seen: StoredTaskEvent[] = [];
    const started = Date.now();
    const summary = await pullRead({
      nc,
      jsm,
      stream,
      prefix,
      fromSeq: 1,
      batchSize: 100,
      fetchTimeoutMs: 1000,
      onBatch: async (batch) => {
        if (seen.length === 0) await jsm.streams.purge(stream);
        seen.push(...batch);
      },
    });
    // The first batch (and possibly the one requested while it was handled) came; then the next
    // request expired empty, which ends the read.
    expect(summary.events).toBeLessThan(300);
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(Date.now() - started).toBeLessThan(4000);
    await deleteStream(nc, stream);
  });

  it('fails with UNAVAILABLE when the connection closes under it', async () => {
    const own = await connect({ servers: inject('natsUrl') });
    const ownPub = new EventPublisher(own);
    const { stream, prefix } = await filledStream(300, { nc: own, pub: ownPub });
    const err = await rejection(
      pullRead({
        nc: own,
        jsm: await jetstreamManager(own),
        stream,
        prefix,
        fromSeq: 1,
        batchSize: 100,
        fetchTimeoutMs: 2000,
        onBatch: async () => {
          await own.close();
        },
      }),
    );
    expect(err.code).toBe('UNAVAILABLE');
    // Its delete could not be sent: the server drops the consumer after its inactive threshold.
    const left = [];
    for await (const ci of jsm.consumers.list(stream)) left.push(ci.config.inactive_threshold);
    expect(left).toEqual([120_000 * 1_000_000]);
    await deleteStream(nc, stream);
  });

  it('reads on across a restart of nats-server, every event once and in order', async () => {
    await withPrivateNats(async (own) => {
      const { stream, prefix } = await filledStream(3000, own);
      const seqs: number[] = [];
      let restarts = 0;
      const summary = await pullRead({
        nc: own.nc,
        jsm: await jetstreamManager(own.nc, { timeout: 5000 }),
        stream,
        prefix,
        fromSeq: 1,
        batchSize: 500,
        fetchTimeoutMs: 1000,
        onBatch: async (batch) => {
          seqs.push(...batch.map((e) => e.seq));
          // Its in-memory consumer is gone when the server comes back.
          if (restarts++ === 0) await own.server.restart();
        },
      });
      expect(summary).toEqual({ events: 3000, lastSeq: 3000 });
      expect(seqs).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    });
  });

  it('takes a pull request that a stopping server refuses (409 Server Shutdown) for a lost consumer', async () => {
    await withPrivateNats(async (own) => {
      const { stream, prefix } = await filledStream(600, own);
      const ownJsm = await jetstreamManager(own.nc, { timeout: 5000 });
      const seqs: number[] = [];
      const summary = await pullRead({
        nc: own.nc,
        jsm: ownJsm,
        stream,
        prefix,
        fromSeq: 1,
        batchSize: 300,
        fetchTimeoutMs: 2000,
        onBatch: async (batch) => {
          seqs.push(...batch.map((e) => e.seq));
          if (seqs.length > 300) return;
          // The request for the next 300 finds nothing left and waits; the server stops under it.
          await ownJsm.streams.purge(stream);
          await own.server.restart();
        },
      });
      expect(summary).toEqual({ events: 300, lastSeq: 300 });
      expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    });
  });

  it('fails with TIMEOUT when nats-server goes silent, instead of hanging', async () => {
    await withPrivateNats(async (own) => {
      const { stream, prefix } = await filledStream(300, own);
      const started = Date.now();
      const err = await rejection(
        pullRead({
          nc: own.nc,
          // Its requests (the consumer's re-creation after the silence) time out after 1 s.
          jsm: await jetstreamManager(own.nc, { timeout: 1000 }),
          stream,
          prefix,
          fromSeq: 1,
          batchSize: 100,
          fetchTimeoutMs: 300,
          onBatch: async () => {
            // Frozen, not gone: the connection stays up and nothing answers.
            process.kill(own.server.pid!, 'SIGSTOP');
          },
        }),
      );
      expect(err.code).toBe('TIMEOUT');
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});
