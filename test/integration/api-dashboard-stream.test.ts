/**
 * `GET /admin/stream` over real HTTP (real NATS and Redis): the overview at once, each event the log
 * takes from then on as `event: task` (read from JetStream), only the caller's commands, and when the
 * client goes away the log's consumer is deleted (nothing left on the stream).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { createAuthenticator } from '../../src/api/auth/authenticator.js';
import { buildServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import type { EngineApi } from '../../src/engine/engine.types.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listenTestApi, startTestApi, type TestApi } from '../support/api-server.js';
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

  it('a follow aborted while its consumer is being made ends and deletes the consumer', async () => {
    const before = await consumers();
    const abort = new AbortController();
    const following = api.engine.followEvents(() => {}, abort.signal);
    // Aborted after follow's first check, before it listens for the abort.
    abort.abort();
    await following;
    expect(await consumers()).toBe(before);
  }, 5_000);

  it('a client gone while it was being authenticated leaves no consumer behind', async () => {
    const config = loadConfig({ env: { TOKENS: JSON.stringify(TOKENS), LOG_LEVEL: 'silent' } });
    const auth = createAuthenticator(config);
    let entered!: () => void;
    const authenticating = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let following: Promise<void> | undefined;
    const engine = Object.create(api.engine) as EngineApi;
    engine.followEvents = (onEvent, signal) => (following = api.engine.followEvents(onEvent, signal));
    const app = buildServer({
      engine,
      config,
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
      authenticator: {
        authorize: (p, policy, facts) => auth.authorize(p, policy, facts),
        async authenticate(header) {
          entered();
          await gate;
          return auth.authenticate(header);
        },
      },
    });
    try {
      let serverSocket: Socket | undefined;
      app.server.on('connection', (s: Socket) => (serverSocket = s));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const before = await consumers();
      const req = httpRequest({
        port: (app.server.address() as AddressInfo).port,
        host: '127.0.0.1',
        path: '/v1/codeq/admin/stream',
        headers: { authorization: 'Bearer st-viewer' },
      });
      req.on('error', () => {});
      req.end();
      await authenticating;
      const closed = new Promise((r) => serverSocket?.once('close', r));
      req.destroy();
      await closed;
      release();
      for (let i = 0; i < 100 && following === undefined; i++) await sleep(20);
      await following;
      expect(await consumers()).toBe(before);
    } finally {
      await app.close();
    }
  }, 5_000);

  it('a client that stops reading has its stream ended (bounded backlog), the consumer deleted', async () => {
    const command = uniqueName('STREAM_SLOW');
    const { app, base } = await listenTestApi(api.engine, TOKENS);
    try {
      let serverSocket: Socket | undefined;
      app.server.on('connection', (s: Socket) => (serverSocket = s));
      const before = await consumers();
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(`${base}/v1/codeq/admin/stream`, {
          headers: { authorization: 'Bearer st-viewer' },
        });
        req.on('response', resolve).on('error', reject).end();
      });
      res.on('error', () => {});
      await new Promise((r) => res.once('data', r));
      // The server keeps what it writes (a stalled client, without depending on kernel buffers).
      res.pause();
      serverSocket?.cork();
      expect(await consumers()).toBe(before + 1);
      // About 140 bytes per event: well past the backlog bound.
      for (let i = 0; i < 5; i++)
        await api.engine.enqueueMany(
          Array.from({ length: 500 }, () => ({ command, payload: {}, actor: 'test' })),
        );
      for (let i = 0; i < 100 && (await consumers()) !== before; i++) await sleep(50);
      expect(await consumers()).toBe(before);
      res.destroy();
    } finally {
      await app.close();
    }
  }, 20_000);
});
