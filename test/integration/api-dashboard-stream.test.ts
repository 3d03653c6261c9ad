/**
 * `GET /admin/stream` over real HTTP (real NATS and Redis): the overview at once, each event the log
 * takes from then on as `event: task` (read from JetStream), only the caller's commands, and when the
 * client goes away the log's consumer is deleted (nothing left on the stream).
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-server.js';
import { sleep } from '../support/assertions.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = [
  { token: 'st-viewer', role: 'viewer', subject: 'st-viewer' },
  { token: 'st-limited', role: 'admin', subject: 'st-limited', eventTypes: ['ST_NONE'] },
];

/** One server-sent event: its name and parsed data. */
interface Sse {
  event: string;
  data: { taskId?: string; type?: string; command?: string; workerId?: string; queues?: unknown[] };
}

/** Opens the stream; `next(pred)` reads events until one matches. */
async function openStream(root: string, token: string) {
  const abort = new AbortController();
  const res = await fetch(`${root}/v1/codeq/admin/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const seen: Sse[] = [];
  async function next(pred: (e: Sse) => boolean): Promise<Sse> {
    for (;;) {
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === undefined || data === undefined) continue;
        const e = { event, data: JSON.parse(data) as Sse['data'] };
        seen.push(e);
        if (pred(e)) return e;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
    }
  }
  return { res, next, seen, close: () => abort.abort() };
}

describe('GET /admin/stream', () => {
  let api: TestApi;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const consumers = async () => {
    let n = 0;
    for await (const _ of jsm.consumers.list(api.engine.log.stream)) n += 1;
    return n;
  };

  beforeAll(async () => {
    api = await startTestApi(TOKENS);
    nc = await connect({ servers: inject('natsUrl') });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await api?.close();
  });

  it('sends the overview, then the log events from now on; the consumer goes with the client', async () => {
    const command = uniqueName('STREAM');
    const before = await consumers();
    const stream = await openStream(api.root, 'st-viewer');
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toContain('text/event-stream');
    const first = await stream.next(() => true);
    expect(first.event).toBe('overview');
    expect(Array.isArray(first.data.queues)).toBe(true);

    const limited = await openStream(api.root, 'st-limited');
    await limited.next((e) => e.event === 'overview');

    const task = await api.engine.enqueue({ command, payload: {}, actor: 'test' });
    await api.engine.claim({ workerId: 'w-stream', commands: [command] });
    const enqueued = await stream.next((e) => e.event === 'task' && e.data.taskId === task.id);
    expect(enqueued.data).toMatchObject({ type: 'enqueued', command, taskId: task.id });
    const claimed = await stream.next((e) => e.event === 'task' && e.data.type === 'claimed');
    expect(claimed.data).toMatchObject({ taskId: task.id, workerId: 'w-stream' });
    // A caller limited to other commands gets none of it (its next overview comes after the events).
    await limited.next((e) => e.event === 'overview');
    expect(limited.seen.filter((e) => e.event === 'task')).toEqual([]);

    expect(await consumers()).toBe(before + 2);
    stream.close();
    limited.close();
    // The server notices the closed sockets and deletes the consumers (polled: no fixed wait).
    for (let i = 0; i < 100 && (await consumers()) !== before; i++) await sleep(50);
    expect(await consumers()).toBe(before);
  });
});
